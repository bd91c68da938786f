"""Import France's simple / full dynamic allocation keys (CSV interval_start,consumer,producer,share)."""

from allocations.management.commands._import_base import ImportCommand
from allocations.services import allocation_keys_import


class Command(ImportCommand):
    help = ("Import a French ACC's allocation keys: CSV interval_start,consumer,producer,share (producer "
            "empty: simple dynamic share; given: full dynamic coefficient). Idempotent, all-or-nothing.")
    service = staticmethod(allocation_keys_import)
