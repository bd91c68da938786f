"""Simulated field devices for the demo, one per polled protocol, on loopback.

    python -m iot.testing.demo [--base-port 15020] [--certs var/opcua-demo]

serves, until Ctrl-C:
  base+0  Modbus TCP  SunSpec three-phase inverter (model 103): PV power following the sun
  base+1  OPC UA      meter (Basic256Sha256 Sign&Encrypt): power and import register
  base+2  DNP3        battery outstation: analog 0 power (W), analog 1 SoC (%)
  base+3  IEC 61850   meter, MMXU1.TotW / MMXU1.Hz and MMTR1.TotWh

and prints, for each, the `connection` settings a registry device needs (protocol modbus,
opcua, dnp3, iec61850), also available as `demo_connections()` for the demo data.
Values change every few seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from iot.testing.dnp3 import Dnp3LoopbackOutstation
from iot.testing.iec61850 import PREFIX, Iec61850LoopbackServer
from iot.testing.modbus import SUNSPEC_BASE, ModbusLoopbackServer, sunspec_inverter_image
from iot.testing.opcua import OpcUaLoopbackServer, make_certificates


def pv_power_w(now: datetime, peak_w: float = 6000.0) -> float:
    """A clear-sky-like bell between 06:00 and 20:00 UTC, with a little flicker of clouds."""
    hour = now.hour + now.minute / 60 + now.second / 3600
    if not 6 <= hour <= 20:
        return 0.0
    clouds = 0.85 + 0.15 * math.sin(now.timestamp() / 37)
    return peak_w * math.sin(math.pi * (hour - 6) / 14) ** 2 * clouds


def inverter_values(power_w: float, energy_wh: float) -> dict:
    return {"W": round(power_w), "W_SF": 0, "WH": int(energy_wh), "WH_SF": 0,
            "PhVphA": 2300 + round(20 * math.sin(time.time() / 11)), "V_SF": -1,
            "A": round(power_w / 3 / 230 * 100), "A_SF": -2, "Hz": 5000, "Hz_SF": -2}


def demo_connections(base_port: int = 15020, certs_dir: Path = Path("var/opcua-demo")) -> dict[str, dict]:
    """The registry `connection` of each demo device, by protocol (what `main` serves)."""
    certs = Path(certs_dir).resolve()
    return {
        "modbus": {"host": "127.0.0.1", "port": base_port, "unit_id": 1, "sunspec": True},
        "opcua": {
            "endpoint": f"opc.tcp://127.0.0.1:{base_port + 1}/commonwatt/",
            "node_ids": {"ns=2;s=Meter.Power": "power_w", "ns=2;s=Meter.ImportRegister": "energy_import_kwh"},
            "security_policy": "Basic256Sha256", "security_mode": "SignAndEncrypt",
            "certificate": str(certs / "client.der"), "private_key": str(certs / "client-key.pem"),
            "server_certificate": str(certs / "server.der"),
        },
        "dnp3": {"host": "127.0.0.1", "port": base_port + 2, "outstation_address": 10, "master_address": 1,
                 "points": [{"type": "analog", "index": 0, "metric": "power_w"},
                            {"type": "analog", "index": 1, "metric": "soc_pct"}]},
        "iec61850": {"host": "127.0.0.1", "port": base_port + 3, "points": [
            {"ref": PREFIX + "MMXU1.TotW.mag.f", "fc": "MX", "metric": "power_w",
             "quality_ref": PREFIX + "MMXU1.TotW.q", "time_ref": PREFIX + "MMXU1.TotW.t"},
            {"ref": PREFIX + "MMXU1.Hz.mag.f", "fc": "MX", "metric": "frequency_hz"}]},
    }


class DemoDevices:
    """The four simulated devices; `step(period_s)` moves their values on."""

    def __init__(self, base_port: int = 15020, certs_dir: Path = Path("var/opcua-demo")):
        certs = make_certificates(Path(certs_dir))
        self.energy_wh, self.import_kwh, self.soc = 1_250_000.0, 4_200.0, 55.0
        image = sunspec_inverter_image(inverter_values(0, self.energy_wh))
        self.servers = []
        try:
            self.modbus = self._start(ModbusLoopbackServer(holding={SUNSPEC_BASE: image}, port=base_port))
            self.opcua = self._start(OpcUaLoopbackServer(
                {"Power": 0.0, "ImportRegister": self.import_kwh}, secure=True, certs=certs,
                port=base_port + 1,
            ))
            self.dnp3 = self._start(Dnp3LoopbackOutstation({("analog", 0): 0, ("analog", 1): self.soc},
                                                           port=base_port + 2))
            self.iec = self._start(Iec61850LoopbackServer(port=base_port + 3))
            self.step(0.0)
        except BaseException:
            self.stop()
            raise

    def _start(self, server):
        server.start()
        self.servers.append(server)
        return server

    def step(self, period_s: float) -> None:
        now = datetime.now(UTC)
        pv = pv_power_w(now)
        self.energy_wh += pv * period_s / 3600
        self.modbus.set_registers(SUNSPEC_BASE, sunspec_inverter_image(inverter_values(pv, self.energy_wh)))
        load_w = 400 + 300 * (1 + math.sin(now.timestamp() / 300))
        self.import_kwh += max(0.0, load_w - pv) * period_s / 3_600_000
        self.opcua.write("Power", round(load_w - pv, 1))
        self.opcua.write("ImportRegister", round(self.import_kwh, 4))
        battery_w = max(-3000.0, min(3000.0, load_w - pv))  # + discharge / - charge
        self.soc = max(5.0, min(100.0, self.soc - battery_w * period_s / 3600 / 100))
        self.dnp3.update("analog", 0, round(battery_w))
        self.dnp3.update("analog", 1, round(self.soc))
        self.iec.set_float("MMXU1.TotW.mag.f", round(load_w, 1))
        self.iec.set_float("MMXU1.Hz.mag.f", 50 + 0.02 * math.sin(now.timestamp() / 7))

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()
        self.servers = []


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-port", type=int, default=15020)
    parser.add_argument("--certs", default="var/opcua-demo", help="Where the OPC UA certificates go.")
    parser.add_argument("--period", type=float, default=5.0, help="Seconds between value changes.")
    args = parser.parse_args(argv)
    devices = DemoDevices(args.base_port, Path(args.certs))
    print(json.dumps(demo_connections(args.base_port, Path(args.certs)), indent=2), flush=True)
    stop = threading.Event()
    try:
        while not stop.wait(args.period):
            devices.step(args.period)
    except KeyboardInterrupt:
        pass
    finally:
        devices.stop()


if __name__ == "__main__":
    main()
