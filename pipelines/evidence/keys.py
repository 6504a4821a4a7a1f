"""The site's Ed25519 signing key, created on first use under ``FALLWATCH_HOME``.

``FALLWATCH_HOME`` defaults to ``~/.fallwatch``. The private key is
``FALLWATCH_HOME/keys/evidence_ed25519.pem`` (PKCS#8 PEM, file mode 0600, folder 0700) and
never leaves the site; the public key (``fallwatch keys export``) goes to whoever checks
the evidence (``fallwatch verify EVENT_DIR --public-key FILE``).

``fallwatch keys export [--out FILE]`` prints (or writes) the public key in PEM form.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import logging
import os
import stat
import sys
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pipelines.evidence.original import EvidenceError

log = logging.getLogger(__name__)

__all__ = [
    "KEY_NAME",
    "SigningKeyError",
    "fallwatch_home",
    "fingerprint",
    "load_or_create_key",
    "load_public_key",
    "public_key_pem",
    "public_key_raw_b64",
]

KEY_NAME = "evidence_ed25519.pem"


class SigningKeyError(EvidenceError):
    """A signing or public key that cannot be read or created (names the file)."""


def fallwatch_home() -> Path:
    """``$FALLWATCH_HOME``, else ``~/.fallwatch``."""
    env = os.environ.get("FALLWATCH_HOME")
    return Path(env).expanduser() if env else Path.home() / ".fallwatch"


def key_path(home: Path | None = None) -> Path:
    return (home or fallwatch_home()) / "keys" / KEY_NAME


def load_or_create_key(home: Path | None = None) -> Ed25519PrivateKey:
    """The site's private key; a new one is generated (and kept, mode 0600) on first use.

    Two processes starting at once end up with the same key: the new key is written to a
    temporary file and linked into place only if no key exists yet. Raises ``SigningKeyError``
    naming the file when it exists but is not an Ed25519 private key.
    """
    path = key_path(home)
    if not path.exists():
        _create(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s: private key is readable by others (mode %o, expected 0600)", path, mode)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningKeyError(
            f"{path}: not a readable Ed25519 private key in PEM form ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(
            f"{path}: holds a {type(key).__name__}, expected an Ed25519 private key")
    return key


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # fails if another process created the key meanwhile
            log.warning("created the evidence signing key %s (keep it; export the public "
                        "key with `fallwatch keys export`)", path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def public_key_raw_b64(key: Ed25519PublicKey) -> str:
    """The 32 raw bytes of the public key, base64."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def fingerprint(key: Ed25519PublicKey) -> str:
    """``sha256:`` + hex digest of the raw public key (what people compare by eye)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A public key file: PEM (as ``keys export`` prints it) or the raw key in base64.

    A private key file is accepted too (its public half is used). Raises ``SigningKeyError``.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(
            f"{path}: cannot read the public key ({exc.strerror or exc})") from exc
    key: object
    try:
        if b"PRIVATE KEY" in data:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        elif b"-----BEGIN" in data:
            key = serialization.load_pem_public_key(data)
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(data.strip(), validate=True))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningKeyError(f"{path}: not an Ed25519 public key (expected PEM as printed by "
                        f"`fallwatch keys export`): {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path}: holds a {type(key).__name__}, expected an Ed25519 key")
    return key


# -- command line: fallwatch keys export -------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    export = sub.add_parser("export", help="print the public key that checks this site's "
                            "evidence (creates the key pair on first use)")
    export.add_argument("--out", type=Path, metavar="FILE",
                        help="write the PEM public key to FILE instead of standard output")


def run(args: argparse.Namespace) -> int:
    try:
        key = load_or_create_key()
    except (SigningKeyError, OSError) as exc:
        print(f"fallwatch keys: error: {exc}", file=sys.stderr)
        return 2
    pem = public_key_pem(key.public_key())
    if args.out is not None:
        try:
            args.out.write_text(pem)
        except OSError as exc:
            print(f"fallwatch keys: error: {args.out}: cannot write ({exc.strerror or exc})",
                  file=sys.stderr)
            return 2
    else:
        sys.stdout.write(pem)
    print(f"fallwatch keys: {fingerprint(key.public_key())} ({key_path()})", file=sys.stderr)
    return 0
