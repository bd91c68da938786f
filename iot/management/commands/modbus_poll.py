"""Poll Modbus TCP devices (register maps and SunSpec inverters) into the ingest service."""

from iot.bridges.command import PollCommand
from iot.bridges.modbus import ModbusPoller


class Command(PollCommand):
    help = (
        "Poll the active devices with protocol 'modbus': read their register map or SunSpec "
        "inverter model and ingest the readings (source 'modbus')."
    )

    def make_poller(self, options):
        return ModbusPoller()
