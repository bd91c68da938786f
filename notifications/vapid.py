"""VAPID keys (web push, RFC 8292): the application server's P-256 key pair.

Production reads them from VAPID_PRIVATE_KEY / VAPID_PUBLIC_KEY (settings refuse to start
without them). Development and tests use a pair generated once per machine into
var/dev-vapid.json (git-ignored), like the other development secrets: never committed,
never used in production. `python -m notifications.vapid` prints a new pair for .env.

Formats: the private key as base64url of the raw 32-byte scalar, the public key as
base64url of the uncompressed point (65 bytes) - what the browser's
`pushManager.subscribe({applicationServerKey})` takes.
"""

import base64
import json
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def generate_pair() -> dict:
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return {"private": b64url(private), "public": b64url(public)}


def dev_vapid_keys(path: Path) -> dict:
    """The development pair at `path`, generated (atomically) the first time."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(generate_pair()))
        try:
            os.link(tmp, path)  # fails when another process created it first: theirs wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return json.loads(path.read_text())


if __name__ == "__main__":
    pair = generate_pair()
    print(f"VAPID_PRIVATE_KEY={pair['private']}\nVAPID_PUBLIC_KEY={pair['public']}")
