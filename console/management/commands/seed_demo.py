from django.conf import settings
from django.core.management.base import BaseCommand

from console.demo import demo_seed
from console.models import Customer


class Command(BaseCommand):
    help = "Create or complete the demo workspace 'Muzz Retail & Finance' (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=2000)
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, **opts):
        workspace = demo_seed(customers=opts["customers"])
        if opts["quiet"]:
            return
        count = Customer.objects.filter(workspace=workspace).count()
        self.stdout.write(
            f"Demo workspace '{workspace.name}' (slug {workspace.slug}): {count} customers."
        )
        self.stdout.write(
            "Sign in as admin, marketing, operations, support or viewer "
            f"with password {settings.DEMO_PASSWORD}"
        )
        self.stdout.write(f"Demo API key: {settings.DEMO_API_KEY}")
