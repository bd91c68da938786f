"""MQTT over TLS against a real Mosquitto (project config, development certificates generated
into tmp_path): passwords on the TLS listener, client certificates on the certificate listener,
readings stored by the real bridge."""

import dataclasses
import datetime as dt
import io
import json
import os
import threading
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from django.core.management import CommandError, call_command
from django.utils import timezone

from iot.bridges.mqtt_auth import config_write
from iot.bridges.mqtt_tls import client_certificate_issue, dev_certificates_ensure
from iot.models import DeadLetter
from iot.testing.mosquitto import Broker, free_port
from iot.testing.mqtt_fixtures import bridge, mqtt_connect, publish_denied, wait_until  # noqa: F401
from iot.testing.registry import make_device, stored_readings


@pytest.fixture
def broker(tmp_path, transactional_db):
    """The project's broker with its TLS listeners (the `bridge` fixture uses this one)."""
    broker = Broker(port=free_port(18830, 18839), directory=tmp_path / "mosquitto", tls=True).start()
    yield broker
    broker.stop()


@pytest.fixture
def devices(world, broker):
    a, secret_a = make_device("TLS-A", kind="meter", plant=world.a.plant)
    b, secret_b = make_device("TLS-B", kind="meter", plant=world.b.plant)
    broker.sync_auth()
    return {"TLS-A": (a, secret_a), "TLS-B": (b, secret_b)}


def publish(client, topic, value):
    reading = {"metric": "power_w", "ts": timezone.now().replace(microsecond=0).isoformat(), "value": value}
    info = client.publish(topic, json.dumps([reading]), qos=1)
    info.wait_for_publish(10)
    assert info.is_published()


def values(device) -> list[float]:
    return [row[3] for row in stored_readings(device)]


@pytest.mark.django_db(transaction=True)
class TestOverTls:
    def test_it_stores_a_reading_sent_over_tls_with_the_devices_password(self, devices, broker, bridge):  # noqa: F811
        device, secret = devices["TLS-A"]
        client = mqtt_connect(broker.tls_port, ca_file=broker.tls_files.ca_file,
                              username="TLS-A", password=secret)
        publish(client, "devices/TLS-A/telemetry", 1234)
        assert wait_until(lambda: values(device) == [1234.0]), "\n".join(bridge.lines[-20:])
        client.loop_stop()

    def test_it_refuses_a_wrong_password_over_tls(self, devices, broker):
        with pytest.raises(ConnectionRefusedError, match=r"Not authorized|Bad user name"):
            mqtt_connect(broker.tls_port, ca_file=broker.tls_files.ca_file,
                         username="TLS-A", password="wrong")

    def test_a_client_that_does_not_trust_the_ca_cannot_connect(self, devices, broker, tmp_path):
        other = dev_certificates_ensure(directory=tmp_path / "other-ca")
        _, secret = devices["TLS-A"]
        for port in (broker.tls_port, broker.tls_cert_port):
            with pytest.raises(ConnectionRefusedError, match="certificate verify failed"):
                mqtt_connect(port, ca_file=other.ca_file, username="TLS-A", password=secret)

    def test_plain_mqtt_is_refused_on_the_tls_ports(self, devices, broker):
        _, secret = devices["TLS-A"]
        for port in (broker.tls_port, broker.tls_cert_port):
            # no CONNACK at all: the broker hangs up on what is not a TLS handshake
            with pytest.raises(ConnectionRefusedError, match="disconnected"):
                mqtt_connect(port, username="TLS-A", password=secret)
        # the plain devices' listener still takes plain MQTT
        mqtt_connect(broker.device_port, username="TLS-A", password=secret).loop_stop()


@pytest.mark.django_db(transaction=True)
class TestClientCertificates:
    def test_a_device_with_a_certificate_publishes_on_its_own_topic_only(
            self, devices, broker, bridge, tmp_path):  # noqa: F811
        device_a, _ = devices["TLS-A"]
        device_b, _ = devices["TLS-B"]
        certificate = client_certificate_issue(serial="TLS-A", ca_directory=broker.directory / "tls",
                                               out_directory=tmp_path / "device")
        connect = lambda: mqtt_connect(broker.tls_cert_port, ca_file=broker.tls_files.ca_file,  # noqa: E731
                                       certificate=certificate)
        client = connect()  # no username, no password: the certificate's CN is the username
        publish(client, "devices/TLS-A/telemetry", 10)
        assert wait_until(lambda: values(device_a) == [10.0]), "\n".join(bridge.lines[-20:])

        publish_denied(client, "devices/TLS-B/telemetry", json.dumps(
            [{"metric": "power_w", "ts": timezone.now().isoformat(), "value": 666}]))  # the ACL drops it
        client = connect()
        time.sleep(1.1)  # a new second: a reading that does not collide with the first one
        publish(client, "devices/TLS-A/telemetry", 11)  # arrives after the denied one would have
        assert wait_until(lambda: values(device_a) == [10.0, 11.0])
        time.sleep(0.3)
        assert stored_readings(device_b) == [] and not DeadLetter.objects.exists()
        client.loop_stop()

    def test_the_client_id_is_the_certificates_serial(self, devices, broker, tmp_path):
        """As on the plain devices' listener: whatever id a device asks for, it gets its serial,
        so it can never take another client's (the bridge's) session; a second connection with
        the same certificate takes over the first one's."""
        certificate = client_certificate_issue(serial="TLS-A", ca_directory=broker.directory / "tls",
                                               out_directory=tmp_path / "device")
        first = mqtt_connect(broker.tls_cert_port, ca_file=broker.tls_files.ca_file, certificate=certificate)
        dropped = threading.Event()
        first.on_disconnect = lambda *args: dropped.set()
        second = mqtt_connect(broker.tls_cert_port, ca_file=broker.tls_files.ca_file, certificate=certificate)
        assert dropped.wait(5)
        first.loop_stop()
        second.loop_stop()

    def test_the_certificate_listener_wants_a_certificate_not_a_password(self, devices, broker):
        _, secret = devices["TLS-A"]
        with pytest.raises(ConnectionRefusedError, match="disconnected"):  # the handshake wants one
            mqtt_connect(broker.tls_cert_port, ca_file=broker.tls_files.ca_file,
                         username="TLS-A", password=secret)

    def test_a_certificate_from_another_ca_is_refused(self, devices, broker, tmp_path):
        foreign = client_certificate_issue(serial="TLS-A", ca_directory=tmp_path / "other-ca")
        with pytest.raises(ConnectionRefusedError, match="disconnected"):
            mqtt_connect(broker.tls_cert_port, ca_file=broker.tls_files.ca_file, certificate=foreign)
        ours = client_certificate_issue(serial="TLS-A", ca_directory=broker.directory / "tls",
                                        out_directory=tmp_path / "ours")
        mqtt_connect(broker.tls_cert_port, ca_file=broker.tls_files.ca_file, certificate=ours).loop_stop()


def revocation_list(ca_directory, *certificates) -> Path:
    """A CRL of the development CA in `ca_directory` revoking these client certificates."""
    ca_cert = x509.load_pem_x509_certificate((ca_directory / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((ca_directory / "ca.key").read_bytes(), password=None)
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject)
               .last_update(now).next_update(now + dt.timedelta(days=7)))
    for certificate in certificates:
        serial = x509.load_pem_x509_certificate(certificate.cert_file.read_bytes()).serial_number
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build())
    path = ca_directory / "crl.pem"
    path.write_bytes(builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    return path


@pytest.mark.django_db(transaction=True)
def test_a_revoked_certificate_is_refused(devices, broker, tmp_path):
    ca_directory = broker.directory / "tls"
    revoked = client_certificate_issue(serial="TLS-A", ca_directory=ca_directory, out_directory=tmp_path)
    valid = client_certificate_issue(serial="TLS-B", ca_directory=ca_directory, out_directory=tmp_path)
    files = dataclasses.replace(broker.tls_files, crl_file=revocation_list(ca_directory, revoked))
    broker.stop()
    config_write(port=broker.port, directory=broker.directory, device_port=broker.device_port,
                 tls_port=broker.tls_port, tls_cert_port=broker.tls_cert_port, tls_files=files)
    broker.start()

    with pytest.raises(ConnectionRefusedError, match="disconnected"):
        mqtt_connect(broker.tls_cert_port, ca_file=files.ca_file, certificate=revoked)
    mqtt_connect(broker.tls_cert_port, ca_file=files.ca_file, certificate=valid).loop_stop()


class TestDevelopmentCertificates:
    def test_it_creates_them_once(self, tmp_path):
        first = dev_certificates_ensure(directory=tmp_path)
        contents = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
        assert sorted(contents) == ["ca.crt", "ca.key", "server.crt", "server.key"]
        assert dev_certificates_ensure(directory=tmp_path) == first
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == contents  # nothing rewritten
        for key in ("ca.key", "server.key"):
            assert os.stat(tmp_path / key).st_mode & 0o777 == 0o600

    def test_the_server_certificate_names_localhost_and_the_hosts_asked_for(self, tmp_path):
        files = dev_certificates_ensure(directory=tmp_path)
        ca = files.ca_file.read_bytes()

        files = dev_certificates_ensure(directory=tmp_path, hosts=["mqtt.lan", "192.168.1.20"])
        cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert set(san.get_values_for_type(x509.DNSName)) == {"localhost", "mqtt.lan"}
        addresses = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
        assert addresses == {"127.0.0.1", "::1", "192.168.1.20"}
        assert files.ca_file.read_bytes() == ca  # the devices' CA stays

    def test_a_client_certificate_carries_the_serial_and_never_a_platform_account(self, tmp_path, settings):
        issued = client_certificate_issue(serial="METER-7", ca_directory=tmp_path)
        cert = x509.load_pem_x509_certificate(issued.cert_file.read_bytes())
        assert cert.subject.rfc4514_string() == "CN=METER-7"
        assert os.stat(issued.key_file).st_mode & 0o777 == 0o600
        for serial in (settings.MQTT_USERNAME, settings.MQTT_SIMULATOR_USERNAME.upper(), "a/b", ""):
            with pytest.raises(ValueError):
                client_certificate_issue(serial=serial, ca_directory=tmp_path)


class TestConfig:
    def test_the_tls_listeners_are_in_the_config_only_when_on(self, tmp_path):
        files = dev_certificates_ensure(directory=tmp_path / "tls")
        text = config_write(port=1, device_port=2, tls_port=3, tls_cert_port=4, tls_files=files,
                            directory=tmp_path).read_text()
        directives = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
        password_listener, cert_listener = directives.split("\nlistener 3 ")[1].split("\nlistener 4 ")
        assert "tls_version tlsv1.2" in password_listener and "require_certificate" not in password_listener
        assert "use_identity_as_username" not in password_listener
        assert f"cafile {files.ca_file}" in cert_listener
        assert "require_certificate true" in cert_listener
        assert "use_identity_as_username true" in cert_listener

        text = config_write(port=1, device_port=2, tls_port=0, tls_cert_port=0,
                            directory=tmp_path).read_text()
        assert "certfile" not in text and text.count("\nlistener ") == 2

    def test_make_run_gets_the_development_certificates_production_its_files(self, tmp_path, settings):
        settings.MQTT_TLS_DIR = tmp_path / "dev"
        text = config_write(port=1, device_port=2, directory=tmp_path).read_text()  # the settings' ports
        assert f"listener {settings.MQTT_TLS_PORT} " in text
        assert f"listener {settings.MQTT_TLS_CERT_PORT} " in text
        assert f"certfile {tmp_path / 'dev' / 'server.crt'}" in text  # generated just now
        assert f"cafile {tmp_path / 'dev' / 'ca.crt'}" in text

        settings.MQTT_TLS_CERT_FILE, settings.MQTT_TLS_KEY_FILE = "/etc/tls/fullchain.pem", "/etc/tls/key.pem"
        settings.MQTT_TLS_CA_FILE, settings.MQTT_TLS_CRL_FILE = "/etc/tls/devices-ca.pem", "/etc/tls/crl.pem"
        text = config_write(port=1, device_port=2, directory=tmp_path).read_text()
        assert text.count("certfile /etc/tls/fullchain.pem") == 2
        assert text.count("keyfile /etc/tls/key.pem") == 2
        assert "cafile /etc/tls/devices-ca.pem" in text and "crlfile /etc/tls/crl.pem" in text
        assert str(tmp_path / "dev") not in text


@pytest.mark.django_db
def test_the_command_issues_a_registered_device_a_certificate(world, tmp_path):
    make_device("CMD-1", kind="meter", plant=world.a.plant)
    call_command("mqtt_tls_dev", "--dir", str(tmp_path), "--client", "CMD-1", stdout=io.StringIO())
    assert (tmp_path / "ca.crt").exists() and (tmp_path / "clients" / "CMD-1.crt").exists()
    with pytest.raises(CommandError, match="no device"):
        call_command("mqtt_tls_dev", "--dir", str(tmp_path), "--client", "CMD-2")
