"""Start-up registrations of the templates capability: the demo templates."""

from channels_app.tmpl.demo import demo_templates_seed
from console.demo import demo_seeder_register

demo_seeder_register("channels_app.templates", demo_templates_seed)
