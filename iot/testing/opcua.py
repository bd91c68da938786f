"""An asyncua OPC UA server on loopback, in a background thread, and certificates for it.

    certs = make_certificates(tmp_path)           # server + client, self-signed
    with OpcUaLoopbackServer({"Power": 0.0}, secure=True, certs=certs) as server:
        server.node_ids["Power"]                    # "ns=2;s=Meter.Power"
        server.write("Power", 1500.0)               # a data change the collector receives
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from asyncua import Server, ua
from asyncua.crypto.cert_gen import (
    dump_private_key_as_pem,
    generate_private_key,
    generate_self_signed_app_certificate,
)
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from iot.testing.modbus import free_port

SERVER_URI = "urn:commonwatt:test:opcua-server"
CLIENT_URI = "urn:commonwatt:opcua-collector"


@dataclass
class Certificates:
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _self_signed(directory: Path, name: str, uri: str, usage) -> tuple[Path, Path]:
    key = generate_private_key()
    cert = generate_self_signed_app_certificate(
        key, name, {"organizationName": "CommonWatt"},
        [x509.UniformResourceIdentifier(uri), x509.DNSName(socket.gethostname()), x509.DNSName("localhost")],
        extended=[usage], days=30,
    )
    cert_path, key_path = directory / f"{name}.der", directory / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(Encoding.DER))
    key_path.write_bytes(dump_private_key_as_pem(key))
    return cert_path, key_path


def make_certificates(directory: Path, *, client_uri: str = CLIENT_URI) -> Certificates:
    """A self-signed certificate and key for a test server and for the collector."""
    directory.mkdir(parents=True, exist_ok=True)
    server_cert, server_key = _self_signed(directory, "server", SERVER_URI, ExtendedKeyUsageOID.SERVER_AUTH)
    client_cert, client_key = _self_signed(directory, "client", client_uri, ExtendedKeyUsageOID.CLIENT_AUTH)
    return Certificates(server_cert, server_key, client_cert, client_key)


class OpcUaLoopbackServer:
    """Float variables under Objects/Meter; `secure=True` offers only Basic256Sha256
    Sign&Encrypt, else only the None policy."""

    def __init__(self, variables: dict[str, float], *, secure: bool = False,
                 certs: Certificates | None = None, port: int | None = None):
        if secure and certs is None:
            raise ValueError("a secure server needs certificates")
        self.variables = variables
        self.secure, self.certs = secure, certs
        self.port = port or free_port()
        self.endpoint = f"opc.tcp://127.0.0.1:{self.port}/commonwatt/"
        self.node_ids: dict[str, str] = {}
        self._nodes: dict = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    async def _serve(self):
        server = Server()
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name("CommonWatt test server")
        await server.set_application_uri(SERVER_URI)
        if self.secure:
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
            await server.load_certificate(str(self.certs.server_cert))
            await server.load_private_key(str(self.certs.server_key))
        else:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        ns = await server.register_namespace("urn:commonwatt:test")
        meter = await server.nodes.objects.add_object(ns, "Meter")
        for name, value in self.variables.items():
            node = await meter.add_variable(f"ns={ns};s=Meter.{name}", name,
                                            ua.Variant(float(value), ua.VariantType.Double))
            self._nodes[name] = node
            self.node_ids[name] = node.nodeid.to_string()
        self._stop = asyncio.Event()
        async with server:
            self._started.set()
            await self._stop.wait()

    def _run(self):
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._started.set()
        finally:
            leftovers = asyncio.all_tasks(self._loop)  # asyncua's per-session timers
            for task in leftovers:
                task.cancel()
            if leftovers:
                self._loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            self._loop.close()

    def write(self, name: str, value) -> None:
        """Write a variable on the server (from any thread); subscribers get a data change."""
        async def _write():
            variant = value
            if not isinstance(value, ua.Variant):
                variant = ua.Variant(float(value), ua.VariantType.Double)
            await self._nodes[name].write_value(variant)

        asyncio.run_coroutine_threadsafe(_write(), self._loop).result(10)

    def write_later(self, delay_s: float, name: str, value) -> threading.Timer:
        timer = threading.Timer(delay_s, self.write, args=(name, value))
        timer.daemon = True
        timer.start()
        return timer

    def start(self) -> OpcUaLoopbackServer:
        self._thread = threading.Thread(target=self._run, name=f"opcua-server-{self.port}", daemon=True)
        self._thread.start()
        if not self._started.wait(30) or self._error:
            raise RuntimeError(f"OPC UA loopback server did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._loop and self._stop and self._thread and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(15)

    def __enter__(self) -> OpcUaLoopbackServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
