"""Start-up registrations of the IVR: its demo data (menus, the payment-link SMS, simulator
settings), seeded after the templates capability's."""

from channels_app.ivr.demo import demo_ivr_seed
from console.demo import demo_seeder_register

demo_seeder_register("channels_app.ivr", demo_ivr_seed)
