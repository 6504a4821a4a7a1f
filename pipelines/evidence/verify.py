"""``fallwatch verify EVENT_DIR [--public-key FILE]``: check an evidence folder.

Checks that ``manifest.json`` is intact and signed (Ed25519), that every file it lists
has the sha256 it records, and that nothing was added. Exit status: 0 every check passed;
1 a check failed (each failure names the file: ``original.mp4: sha256 differs ...``);
2 bad usage (no such folder, no manifest, unreadable key).

Without ``--public-key`` the key embedded in the manifest is used: that proves the folder
is unchanged since it was signed by *that* key (its fingerprint is printed; compare it with
the site's, from ``fallwatch keys export``). With ``--public-key FILE`` the folder must
have been signed by that key.

EVENT_DIR may also be a clips folder holding event folders: each is checked, and folders
still being written (or left by a crash: ``.NAME.partial``) are reported and skipped.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pipelines.evidence.files import MANIFEST, is_partial, list_event_folders, sha256_file
from pipelines.evidence.keys import SigningKeyError, fingerprint, load_public_key
from pipelines.evidence.manifest import FORMAT, check_signature, manifest_bytes

__all__ = ["Problem", "VerifyResult", "verify_folder"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@dataclass(frozen=True)
class Problem:
    """One failed check: the file it concerns (name inside the folder) and why."""

    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass
class VerifyResult:
    """The outcome for one event folder. ``ok`` when ``problems`` is empty."""

    folder: Path
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    key_fingerprint: str | None = None
    manifest: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def altered(self) -> list[str]:
        """The names of the files that failed a check."""
        return sorted({p.file for p in self.problems})


def verify_folder(folder: Path, public_key: Ed25519PublicKey | None = None) -> VerifyResult:
    """Check every hash and the signature of one event folder (see the module doc)."""
    result = VerifyResult(folder)
    bad = result.problems.append
    if is_partial(folder):
        bad(Problem(folder.name, "an unfinished evidence folder (its writing was interrupted "
                    "or is still going on): not evidence"))
        return result
    path = folder / MANIFEST
    try:
        data = path.read_bytes()
    except OSError as exc:
        bad(Problem(MANIFEST, f"cannot be read ({exc.strerror or exc})"))
        return result
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict):
            raise ValueError(f"expected a JSON object, found {type(doc).__name__}")
    except (ValueError, UnicodeDecodeError) as exc:
        bad(Problem(MANIFEST, f"is not a valid manifest (altered or damaged): {exc}"))
        return result
    result.manifest = doc
    if doc.get("format") != FORMAT:
        bad(Problem(MANIFEST, f"format is {doc.get('format')!r}, expected {FORMAT!r}"))

    # -- the signature ----------------------------------------------------------------
    sig = doc.get("signature") if isinstance(doc.get("signature"), dict) else {}
    assert isinstance(sig, dict)
    embedded: Ed25519PublicKey | None = None
    try:
        embedded = Ed25519PublicKey.from_public_bytes(
            base64.b64decode(str(sig.get("public_key", "")), validate=True))
    except (ValueError, binascii.Error):
        embedded = None
    key = public_key or embedded
    if key is None:
        bad(Problem(MANIFEST, "carries no usable public key and none was given "
                    "(expected a signature block with an Ed25519 public key)"))
    else:
        result.key_fingerprint = fingerprint(key)
        if public_key is not None and embedded is not None \
                and fingerprint(embedded) != fingerprint(public_key):
            bad(Problem(MANIFEST, f"signed by key {fingerprint(embedded)}, expected "
                        f"{fingerprint(public_key)} (the key given)"))
        elif not check_signature(doc, key):
            bad(Problem(MANIFEST, "signature does not match its content: the manifest was "
                        "altered after signing"))
    if manifest_bytes(doc) != data:
        bad(Problem(MANIFEST, "its bytes differ from the signed form (the file was edited)"))

    # -- the files ----------------------------------------------------------------------
    files = doc.get("files")
    if not isinstance(files, dict) or not files:
        bad(Problem(MANIFEST, "lists no files (expected a 'files' table of name -> sha256)"))
        files = {}
    for name, entry in sorted(files.items()):
        result.files.append(name)
        if "/" in name or "\\" in name or name in ("", ".", "..") or name == MANIFEST:
            bad(Problem(MANIFEST, f"lists an impossible file name {name!r}"))
            continue
        target = folder / name
        want = entry.get("sha256") if isinstance(entry, dict) else None
        if not target.is_file():
            bad(Problem(name, "is missing (listed in the manifest)"))
            continue
        got = sha256_file(target)
        if got != want:
            bad(Problem(name, f"sha256 differs from the manifest's: the file was altered "
                        f"(expected {want}, found {got})"))
    for extra in sorted(p.name for p in folder.iterdir()):
        if extra != MANIFEST and extra not in files:
            bad(Problem(extra, "is not listed in the manifest (added after signing)"))
    return result


# -- command line ------------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("event_dir", type=Path, metavar="EVENT_DIR",
                   help="an event folder (with manifest.json), or a folder of event folders")
    p.add_argument("--public-key", type=Path, metavar="FILE",
                   help="the site's public key (PEM, from `fallwatch keys export`); default: "
                   "the key inside the manifest")


def run(args: argparse.Namespace) -> int:
    folder: Path = args.event_dir
    if not folder.is_dir():
        print(f"fallwatch verify: error: {folder}: no such folder (expected an event folder "
              "with manifest.json)", file=sys.stderr)
        return EXIT_USAGE
    key: Ed25519PublicKey | None = None
    if args.public_key is not None:
        try:
            key = load_public_key(args.public_key)
        except SigningKeyError as exc:
            print(f"fallwatch verify: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    if (folder / MANIFEST).exists() or is_partial(folder):
        targets = [folder]
    else:
        targets = list_event_folders(folder)
        for left in sorted(p for p in folder.iterdir() if p.is_dir() and is_partial(p)):
            print(f"skipped {left}: unfinished evidence folder (interrupted write), not evidence")
        if not targets:
            print(f"fallwatch verify: error: {folder}: no manifest.json and no event folders "
                  "in it (expected an event folder)", file=sys.stderr)
            return EXIT_USAGE
    failed = 0
    for target in targets:
        res = verify_folder(target, key)
        if res.ok:
            print(f"OK {target}: {len(res.files)} files match, signed by {res.key_fingerprint}")
        else:
            failed += 1
            for problem in res.problems:
                print(f"FAILED {target}: {problem}")
    if failed:
        print(f"fallwatch verify: {failed} of {len(targets)} folders failed", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
