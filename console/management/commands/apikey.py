"""`manage.py apikey create --workspace demo --name "Order service"`: prints the key on its last line."""

from django.core.management.base import BaseCommand, CommandError

from console.models import ApiKey, Workspace
from console.services import apikey_create, apikey_revoke


class Command(BaseCommand):
    help = "Create, list or revoke API keys of a workspace."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser(
            "create", help="Create a key; prints only the key on the last line."
        )
        create.add_argument("--workspace", required=True, help="Workspace slug, e.g. demo")
        create.add_argument("--name", required=True, help="What uses the key")
        listing = sub.add_parser("list", help="List keys (prefixes only).")
        listing.add_argument("--workspace", required=True)
        revoke = sub.add_parser("revoke", help="Revoke a key by its prefix.")
        revoke.add_argument("--workspace", required=True)
        revoke.add_argument("--prefix", required=True)

    def handle(self, *args, **opts):
        workspace = Workspace.objects.filter(slug=opts["workspace"]).first()
        if workspace is None:
            slugs = ", ".join(Workspace.objects.values_list("slug", flat=True)) or "none yet"
            raise CommandError(f"No workspace '{opts['workspace']}'. Known workspaces: {slugs}.")
        if opts["action"] == "create":
            _key, secret = apikey_create(workspace=workspace, name=opts["name"])
            self.stdout.write(secret)
        elif opts["action"] == "list":
            for key in ApiKey.objects.filter(workspace=workspace).order_by("id"):
                state = "revoked" if key.revoked_at else "active"
                self.stdout.write(f"{key.prefix}…  {state:8} {key.name}")
        else:
            key = ApiKey.objects.filter(workspace=workspace, prefix=opts["prefix"]).first()
            if key is None:
                raise CommandError(f"No key with prefix '{opts['prefix']}' in '{workspace.slug}'.")
            apikey_revoke(key=key)
            self.stdout.write(f"revoked {key.prefix}…")
