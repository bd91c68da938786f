"""Poll DNP3 outstations (integrity or event scans) into the ingest service."""

from iot.bridges.command import PollCommand
from iot.bridges.dnp3 import Dnp3Poller


class Command(PollCommand):
    help = (
        "Poll the active devices with protocol 'dnp3' as a DNP3 master (class scans over TCP) "
        "and ingest the mapped analog, counter and binary points (source 'dnp3')."
    )

    def make_poller(self, options):
        return Dnp3Poller()
