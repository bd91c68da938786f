"""TLS of the project's Mosquitto: which files its TLS listeners use, and development
certificates.

Devices reach the broker over TLS on two listeners (deploy/mosquitto/tls-listener.conf.template):
`MQTT_TLS_PORT` with username (serial) and password (secret), as on the plain devices'
listener, and `MQTT_TLS_CERT_PORT` with a client certificate instead, whose CN is taken as
the username (the ACL then applies to the serial). Mosquitto cannot take a password on a
listener where the certificate is the identity (`use_identity_as_username` skips the
password file), hence two listeners.

Production names its files (`MQTT_TLS_CA_FILE`, `MQTT_TLS_CERT_FILE`, `MQTT_TLS_KEY_FILE`).
Development leaves them empty and gets, generated once into `MQTT_TLS_DIR`, a CA (`ca.crt`,
the file to give devices) and a server certificate for localhost / 127.0.0.1 signed by it;
`client_certificate_issue` signs a device's client certificate with that CA.
"""

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings

from iot.bridges.mqtt_auth import SERIAL_RE, serial_reserved

DEV_HOSTS = ("localhost", "127.0.0.1", "::1")
CA_DAYS = 3650
SERVER_DAYS = 825
CLIENT_DAYS = 825
# A development certificate this close to its end is issued again at the next set-up.
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class TlsFiles:
    cert_file: Path  # server certificate (followed by its intermediates, if any)
    key_file: Path  # server private key
    ca_file: Path | None  # the CA(s) whose client certificates the certificate listener accepts
    crl_file: Path | None = None  # device certificates revoked by that CA


@dataclass(frozen=True)
class ClientCertificate:
    cert_file: Path
    key_file: Path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    # created 0600: the key is never readable by others, not even for an instant
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.replace(tmp, path)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _load_cert(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def _fresh(cert: x509.Certificate | None) -> bool:
    return cert is not None and cert.not_valid_after_utc - RENEW_BEFORE > _now()


def _builder(*, subject: x509.Name, issuer: x509.Name, public_key, days: int) -> x509.CertificateBuilder:
    now = _now()
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


def _signed(builder: x509.CertificateBuilder, *, ca_cert: x509.Certificate,
            ca_key: ec.EllipticCurvePrivateKey, usage: x509.ObjectIdentifier) -> x509.Certificate:
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    return (builder
            .add_extension(aki, critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .sign(ca_key, hashes.SHA256()))


def _ca_create(directory: Path) -> None:
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CommonWatt development"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "CommonWatt development MQTT CA")])
    cert = (_builder(subject=name, issuer=name, public_key=key.public_key(), days=CA_DAYS)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    _write_key(directory / "ca.key", key)
    _write_cert(directory / "ca.crt", cert)


def _ca_load(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), password=None)
    return x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes()), key


def _host_names(hosts) -> set[str]:
    return {str(ipaddress.ip_address(h)) if _is_ip(h) else h.lower() for h in hosts}


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _cert_hosts(cert: x509.Certificate) -> set[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return ({n.lower() for n in san.get_values_for_type(x509.DNSName)}
            | {str(ip) for ip in san.get_values_for_type(x509.IPAddress)})


def _server_create(directory: Path, hosts: set[str]) -> None:
    ca_cert, ca_key = _ca_load(directory)
    key = _new_key()
    names = [x509.IPAddress(ipaddress.ip_address(h)) if _is_ip(h) else x509.DNSName(h) for h in sorted(hosts)]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    builder = (_builder(subject=subject, issuer=ca_cert.subject, public_key=key.public_key(),
                        days=SERVER_DAYS)
               .add_extension(x509.SubjectAlternativeName(names), critical=False))
    _write_key(directory / "server.key", key)
    _write_cert(directory / "server.crt", _signed(builder, ca_cert=ca_cert, ca_key=ca_key,
                                                  usage=ExtendedKeyUsageOID.SERVER_AUTH))


def dev_certificates_ensure(*, directory: Path | None = None, hosts=()) -> TlsFiles:
    """A development CA and a server certificate for localhost, 127.0.0.1, ::1 and `hosts`
    (names or addresses devices dial), in `directory` (default MQTT_TLS_DIR). Idempotent:
    creates only what is missing, near its end (30 days) or, for the server certificate,
    lacking a requested host; a new CA always comes with a new server certificate."""
    directory = Path(directory or settings.MQTT_TLS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "server.crt", directory / "server.key", directory / "ca.crt")
    wanted = _host_names((*DEV_HOSTS, *hosts))
    new_ca = not (_fresh(_load_cert(files.ca_file)) and (directory / "ca.key").exists())
    if new_ca:
        _ca_create(directory)
    server = _load_cert(files.cert_file)
    if new_ca or not files.key_file.exists() or not _fresh(server) or not wanted <= _cert_hosts(server):
        _server_create(directory, wanted | (_cert_hosts(server) if server and not new_ca else set()))
    return files


def client_certificate_issue(*, serial: str, ca_directory: Path | None = None,
                             out_directory: Path | None = None, days: int = CLIENT_DAYS) -> ClientCertificate:
    """A client certificate for the device `serial` (its CN, the broker's username for it on
    the certificate listener), signed by the development CA in `ca_directory` (default
    MQTT_TLS_DIR, created if missing), written as `<serial>.crt` and `<serial>.key` (0600)
    into `out_directory` (default `<ca_directory>/clients`). Refuses what cannot be a serial,
    and the platform's own broker accounts: a certificate named after the bridge would get
    the bridge's rights."""
    if not SERIAL_RE.match(serial or "") or serial_reserved(serial):
        raise ValueError(f"not a device serial: {serial!r}")
    ca_directory = Path(ca_directory or settings.MQTT_TLS_DIR)
    dev_certificates_ensure(directory=ca_directory)
    out_directory = Path(out_directory or ca_directory / "clients")
    ca_cert, ca_key = _ca_load(ca_directory)
    key = _new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, serial)])
    builder = _builder(subject=subject, issuer=ca_cert.subject, public_key=key.public_key(), days=days)
    issued = ClientCertificate(out_directory / f"{serial}.crt", out_directory / f"{serial}.key")
    _write_key(issued.key_file, key)
    _write_cert(issued.cert_file, _signed(builder, ca_cert=ca_cert, ca_key=ca_key,
                                          usage=ExtendedKeyUsageOID.CLIENT_AUTH))
    return issued


def tls_files_get() -> TlsFiles:
    """The files the broker's TLS listeners use: MQTT_TLS_CA_FILE / _CERT_FILE / _KEY_FILE
    (/ _CRL_FILE) when set (production; config/settings.py requires them with DEBUG=0),
    else the development certificates of MQTT_TLS_DIR, generated if missing."""
    crl_file = Path(settings.MQTT_TLS_CRL_FILE) if settings.MQTT_TLS_CRL_FILE else None
    if settings.MQTT_TLS_CERT_FILE:
        return TlsFiles(Path(settings.MQTT_TLS_CERT_FILE), Path(settings.MQTT_TLS_KEY_FILE),
                        Path(settings.MQTT_TLS_CA_FILE) if settings.MQTT_TLS_CA_FILE else None, crl_file)
    files = dev_certificates_ensure()
    return TlsFiles(files.cert_file, files.key_file,
                    Path(settings.MQTT_TLS_CA_FILE) if settings.MQTT_TLS_CA_FILE else files.ca_file, crl_file)
