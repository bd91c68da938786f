"""Loads the demo data set: each app contributes through its own `<app>/demo.py`.

Apps are seeded in dependency order; each `seed(ctx, out)` receives what the previous
ones created in `ctx` (a dict) and adds its own objects. Running it twice changes nothing
(every app seeds idempotently, keyed on natural identifiers).
"""

import importlib

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

APPS = ["accounts", "communities", "plants", "iot", "simulation", "billing", "pricing", "settlement"]


def demo_refuse_in_production() -> None:
    """The demo accounts share one published password: never in production."""
    if not (settings.DEBUG or settings.TESTING):
        raise CommandError("seed_demo creates accounts with the published demo password; it runs "
                           "only in development (DEBUG=1).")


class Command(BaseCommand):
    help = "Load the demo organization, community, members, plants and devices (idempotent)."

    def handle(self, *args, **options):
        demo_refuse_in_production()
        ctx: dict = {"logins": []}
        with transaction.atomic():
            for app in APPS:
                try:
                    module = importlib.import_module(f"{app}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{app}.demo":
                        raise
                    continue
                module.seed(ctx, self.stdout)
        if ctx["logins"]:
            self.stdout.write(self.style.SUCCESS("\nDemo logins (password for all: see below):"))
            for role, email in ctx["logins"]:
                self.stdout.write(f"  {role:<10} {email}")
            self.stdout.write(f"  password   {ctx.get('password', '')}")
