"""`manage.py notifications_sweep`: what the beat task does every minute, for operators:
send the due deliveries the queue did not, close those a dead worker left as `unknown`."""

import json

from django.core.management.base import BaseCommand

from notifications.outbox import deliveries_sweep


class Command(BaseCommand):
    help = "Send due notification deliveries the queue did not; mark those a dead worker left."

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(deliveries_sweep()))
