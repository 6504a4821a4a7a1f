"""``manifest.json``: what an event folder holds, the sha256 of every file, an Ed25519 signature.

The document (keys sorted, written by ``manifest_bytes``)::

    {"format": "fallwatch-evidence/1",
     "created_utc": "2026-07-10T15:55:02.113Z",
     "event": {"id", "start_s", "end_s", "score", "trajectory": [[t_s, x_px, y_px], ...],
               "origin": {"t_s", "x_px", "y_px", "floor"},
               "start_utc", "end_utc", "origin_utc",
               "stream_start_s", "stream_end_s",   # the same instants in the source's own
                                                   # timestamps (pts x time base)
               "utc_source": "--start-time" | "creation_time" | "file mtime" | ...},
     "camera": {"id", "calibration": {image_points, facade_points, floor_height_m,
                                      first_floor} | null},
     "source": {"name", "container", "codec", "width", "height", "fps"},
     "clip": {"span_s": [first, last], "span_utc": [...], "preroll_s", "postroll_s"},
     "software": {"name": "fallwatch", "version"},
     "model": {"name", "sha256"},            # nulls when physics alone decided
     "files": {"original.mp4": {"sha256", "bytes", "role"}, ...},
     "signature": {"algorithm": "Ed25519", "public_key": base64 raw 32 bytes,
                   "key_fingerprint": "sha256:…", "value": base64 64 bytes}}

The signature covers the canonical form of everything except ``signature`` (compact JSON,
keys sorted, ASCII). The file itself must be byte for byte what ``manifest_bytes`` makes of
its content, so a change anywhere in it (whitespace included) is caught.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pipelines.evidence.keys import fingerprint, public_key_raw_b64

__all__ = ["FORMAT", "canonical", "check_signature", "manifest_bytes", "sign"]

FORMAT = "fallwatch-evidence/1"


def canonical(body: dict[str, Any]) -> bytes:
    """The bytes that are signed: compact JSON, keys sorted, ASCII only."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def manifest_bytes(doc: dict[str, Any]) -> bytes:
    """The exact bytes of ``manifest.json`` for ``doc`` (indented, keys sorted, ASCII)."""
    return (json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=True, allow_nan=False)
            + "\n").encode("ascii")


def sign(body: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """``body`` plus its ``signature`` block."""
    if "signature" in body:
        raise ValueError("the manifest body must not already hold a signature")
    pub = key.public_key()
    return {
        **body,
        "signature": {
            "algorithm": "Ed25519",
            "public_key": public_key_raw_b64(pub),
            "key_fingerprint": fingerprint(pub),
            "value": base64.b64encode(key.sign(canonical(body))).decode("ascii"),
        },
    }


def check_signature(doc: dict[str, Any], key: Ed25519PublicKey) -> bool:
    """True when ``doc['signature']`` is ``key``'s signature of the rest of ``doc``."""
    sig = doc.get("signature")
    if not isinstance(sig, dict) or sig.get("algorithm") != "Ed25519":
        return False
    try:
        value = base64.b64decode(str(sig.get("value", "")), validate=True)
        body = {k: v for k, v in doc.items() if k != "signature"}
        key.verify(value, canonical(body))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
