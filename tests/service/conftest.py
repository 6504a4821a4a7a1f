"""A real site for the service tests: one evidence folder written by `fallwatch analyze`
on a sample video (once per session, with its own FALLWATCH_HOME), registered in an event
store on disk beside events that are still being written, failed, or point outside."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pipelines.service import Settings, create_app
from pipelines.service.tokens import create_token, revoke_token
from pipelines.store import CameraStatus, EventRecord, EventStore
from pipelines.store.retention import folder_bytes

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_videos" / "day_7_0000.mp4"
ROLES = ("viewer", "investigator", "admin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Analyzed:
    """What `fallwatch analyze --clips-dir` wrote: the event folder, its event and the home
    holding the signing key."""

    home: Path
    folder: Path
    event: dict[str, Any]


@pytest.fixture(scope="session")
def analyzed(tmp_path_factory: pytest.TempPathFactory) -> Analyzed:
    base = tmp_path_factory.mktemp("analyzed")
    home = base / "home"
    env = dict(os.environ, FALLWATCH_HOME=str(home))
    out = base / "events.json"
    subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "analyze", str(SAMPLE),
         "--camera", str(SAMPLE.with_suffix(".yaml")), "--clips-dir", str(base / "clips"),
         "--events-json", str(out)],
        check=True, env=env, cwd=ROOT, capture_output=True, timeout=600)
    doc = json.loads(out.read_text())
    assert doc["events"], "the sample video should give at least one event"
    ev = doc["events"][0]
    folder = Path(ev["clip"]).parent
    if not folder.is_absolute():
        folder = ROOT / folder
    return Analyzed(home=home, folder=folder, event=ev)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass
class Site:
    data: Path
    home: Path
    store: EventStore
    tokens: dict[str, str] = field(default_factory=dict)  # role -> secret
    token_ids: dict[str, int] = field(default_factory=dict)
    revoked: str = ""
    outside: Path = Path()
    real_id: str = "day_7_0000_ev1"
    real_folder: Path = Path()

    @property
    def settings(self) -> Settings:
        return Settings(data_dir=self.data, home=self.home)

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def _record(id_: str, camera: str, start: datetime, score: float, floor: int | None,
            trajectory: list[list[float]], origin: dict[str, Any],
            faint_points: int = 0) -> EventRecord:
    return EventRecord(id=id_, camera_id=camera, start_utc=start,
                       end_utc=start + timedelta(seconds=1), start_s=2.56, end_s=3.6,
                       score=score, trajectory=trajectory, origin=origin, floor=floor,
                       stream_epoch_utc=start - timedelta(seconds=2.56), time_source="file",
                       faint_points=faint_points)


def build_site(base: Path, analyzed: Analyzed, *, admin: bool = True) -> Site:
    """A data folder with a store holding:

    - ``day_7_0000_ev1``: complete, the real folder from analyze (floor 10);
    - ``tower-2_0001``: complete, a copy of it on camera tower-2, floor 3, score 0.4;
    - ``tower-2_0002``: still being written, its first 4 rows found by looking back;
      ``tower-2_0003``: failed;
    - ``attack_escape``: complete, its folder stored as ``../outside`` (outside the data);
    - ``attack_symlink``: complete, its snapshot.jpg a symlink to a file outside;
    and tokens for each role (admin only with ``admin``) plus a revoked investigator token.
    """
    data = base / "data"
    evidence = data / "evidence"
    evidence.mkdir(parents=True)
    real = evidence / analyzed.folder.name
    shutil.copytree(analyzed.folder, real)
    copy = evidence / "tower-2_copy"
    shutil.copytree(analyzed.folder, copy)
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"\xff\xd8 not for you")
    shutil.copy(analyzed.folder / "original.mp4", outside / "original.mp4")
    linked = evidence / "linked"
    shutil.copytree(analyzed.folder, linked)
    (linked / "snapshot.jpg").unlink()
    (linked / "snapshot.jpg").symlink_to(outside / "secret.jpg")

    ev = analyzed.event
    start = _utc(ev["start_utc"])
    store = EventStore.open(data)
    store.put_camera(CameraStatus(id="day_7_0000", source="rtsp://admin:hunter2@10.0.0.7/s1",
                                  state="streaming", fps=25.0, width=1920, height=1080,
                                  frames=1500, dropped_frames=3, reconnects=2,
                                  last_frame_utc=datetime(2026, 9, 27, 16, 3, 38, tzinfo=UTC)))
    store.put_camera(CameraStatus(id="tower-2", state="reconnecting", fps=12.5, frames=40,
                                  dropped_frames=0, reconnects=7))

    def complete(rec: EventRecord, folder: str) -> None:
        store.add_event(rec)
        store.complete_event(rec.id, folder, folder_bytes(data / folder))

    traj, origin = ev["trajectory"], ev["origin"]
    complete(_record("day_7_0000_ev1", "day_7_0000", start, ev["score"], origin["floor"],
                     traj, origin), f"evidence/{real.name}")
    t2 = datetime(2026, 9, 28, 10, 0, tzinfo=UTC)
    complete(_record("tower-2_0001", "tower-2", t2, 0.4, 3, traj, origin), "evidence/tower-2_copy")
    store.add_event(_record("tower-2_0002", "tower-2", t2 + timedelta(hours=1), 0.9, 3, traj,
                            origin, faint_points=4))
    store.add_event(_record("tower-2_0003", "tower-2", t2 + timedelta(hours=2), 0.9, 4, traj,
                            origin))
    store.fail_event("tower-2_0003", "disk full")
    complete(_record("attack_escape", "attack", t2 - timedelta(days=1), 0.5, None, traj,
                     origin), "../outside")
    complete(_record("attack_symlink", "attack", t2 - timedelta(days=2), 0.5, None, traj,
                     origin), "evidence/linked")

    site = Site(data=data, home=analyzed.home, store=store, outside=outside, real_folder=real)
    for role in ROLES:
        if role == "admin" and not admin:
            continue
        secret, info = create_token(store, role, f"{role} of the tests")
        site.tokens[role] = secret
        site.token_ids[role] = info.id
    secret, info = create_token(store, "investigator", "revoked one")
    revoke_token(store, info.id)
    site.revoked = secret
    return site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, analyzed: Analyzed) -> Iterator[Site]:
    s = build_site(tmp_path_factory.mktemp("site"), analyzed)
    yield s
    s.store.close()


@pytest.fixture(scope="module")
def client(site: Site) -> Iterator[TestClient]:
    with TestClient(create_app(site.settings, store=site.store)) as c:
        yield c
