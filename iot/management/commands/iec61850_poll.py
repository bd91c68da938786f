"""Poll IEC 61850 devices over MMS into the ingest service."""

from iot.bridges.command import PollCommand
from iot.bridges.iec61850 import Iec61850Poller


class Command(PollCommand):
    help = (
        "Poll the active devices with protocol 'iec61850' as an MMS client: read the mapped data "
        "attributes (e.g. MMXU TotW.mag.f) and ingest them (source 'iec61850')."
    )

    def make_poller(self, options):
        return Iec61850Poller()
