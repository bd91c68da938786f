"""Import the Austrian grid operator's EDA allocation (CSV metering_point,interval_start,G.01..P.01)."""

from allocations.management.commands._import_base import ImportCommand
from allocations.services import eda_import


class Command(ImportCommand):
    help = ("Import an Austrian EEG's EDA values: CSV metering_point,interval_start,G.01,G.02,G.03,P.01 "
            "(kWh per quarter hour). Idempotent, all-or-nothing.")
    service = staticmethod(eda_import)
