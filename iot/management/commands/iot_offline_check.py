"""`manage.py iot_offline_check`: open/close device offline alerts now (the beat task's service)."""

from django.core.management.base import BaseCommand

from iot.alerts import device_offline_check


class Command(BaseCommand):
    help = "Raise an alert (and email referents) for each device that stopped reporting."

    def handle(self, *args, **opts):
        counts = device_offline_check()
        self.stdout.write(f"opened {counts['opened']} offline alerts, closed {counts['closed']}")
