"""A project Mosquitto for tests and benchmarks: our config template, auth from the registry.

    broker = Broker(port=18831, directory=tmp_path); broker.start(); ...; broker.stop()

With `tls=True` it also has the devices' TLS listeners (`tls_port`: passwords,
`tls_cert_port`: client certificates) on free ports, with development certificates
generated into `<directory>/tls` (`tls_files.ca_file` is the CA to trust).
"""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from iot.bridges.mqtt_auth import auth_files_write, config_write
from iot.bridges.mqtt_tls import dev_certificates_ensure

MOSQUITTO = "/usr/sbin/mosquitto"


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(first: int, last: int) -> int:
    """The first free port of the range, starting from a different point in each parallel
    test worker (pytest-xdist), so that two workers rarely race for the same one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    span = last - first + 1
    offset = (int(worker[2:]) if worker[2:].isdigit() else 0) * (span // 2) % span
    for i in range(span):
        port = first + (offset + i) % span
        if port_free(port):
            return port
    raise RuntimeError(f"no free port in {first}-{last}")


class Broker:
    def __init__(self, *, port: int, directory: Path, device_port: int | None = None, tls: bool = False):
        self.port = port  # the platform's listener (bridge, simulator, web)
        self.device_port = device_port or free_port(18860, 18879)  # devices' (client id = username)
        self.directory = Path(directory)
        self.process: subprocess.Popen | None = None
        # without tls, none of the settings' TLS ports (8883 may be `make run`'s broker)
        self.tls_port = free_port(18880, 18899) if tls else 0
        self.tls_cert_port = free_port(18900, 18919) if tls else 0
        self.tls_files = dev_certificates_ensure(directory=self.directory / "tls") if tls else None
        self.config = config_write(port=port, directory=self.directory, device_port=self.device_port,
                                   tls_port=self.tls_port, tls_cert_port=self.tls_cert_port,
                                   tls_files=self.tls_files)
        self.log = self.directory / "mosquitto.log"

    def sync_auth(self) -> None:
        """Regenerate password/ACL from the registry and make a running broker reload them."""
        auth_files_write(directory=self.directory)
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGHUP)
            time.sleep(0.3)

    def start(self) -> "Broker":
        if not (self.directory / "passwd").exists():
            auth_files_write(directory=self.directory)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=log, stderr=log)
        for _ in range(100):
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text()[-2000:]}")
            try:
                # every listener: the platform's one listens before the others are opened
                for port in filter(None, (self.port, self.device_port, self.tls_port, self.tls_cert_port)):
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        pass
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not listen")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def restart(self, sig: int = signal.SIGTERM, down_s: float = 0.5) -> None:
        self.stop(sig)
        time.sleep(down_s)
        self.start()
