import json

from django.core.management.base import BaseCommand

from accounts.retention import auth_retention_run


class Command(BaseCommand):
    help = ("Delete refresh tokens and sessions expired more than AUTH_RETENTION_DAYS ago and "
            "account emails older than ACCOUNT_EMAIL_RETENTION_DAYS (also a beat task).")

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(auth_retention_run()))
