"""``CameraWorker`` on its own, as a distributed engine would run it: a camera's config in;
events, evidence and health out through one callable."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest
import yaml

from pipelines.camera import parse_camera
from pipelines.live.site import LiveSettings
from pipelines.live.worker import CameraWorker, EventFound, EvidenceDone, Health, WorkerConfig
from tests.live.conftest import RtspServer, live_settings, wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_worker_reports_events_then_their_evidence_covering_the_fall(
        rtsp: Callable[..., RtspServer], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FALLWATCH_HOME", str(tmp_path / "home"))
    # the 1080p sample: two drops within its first 1.5 s, i.e. in the first group of
    # pictures of the connection (whose first picture RTSP delivers without a timestamp)
    server = rtsp(ROOT / "sample_videos" / "day_7_0000.mp4")
    cam = yaml.safe_load((ROOT / "sample_videos" / "day_7_0000.yaml").read_text())
    camera = parse_camera(dict(cam, id="day", source=server.url()), "test")
    settings = LiveSettings(**live_settings(annotate_evidence=False, preroll_s=5.0))
    messages: list[Any] = []
    stop = threading.Event()
    worker = CameraWorker(WorkerConfig(camera, settings, tmp_path / "data"), messages.append,
                          stop)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        def evidence() -> list[EvidenceDone]:
            return [m for m in messages if isinstance(m, EvidenceDone)]

        wait_for(lambda: len(evidence()) >= 2, 90, "evidence of both drops")
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive()
    found = [m for m in messages if isinstance(m, EventFound)]
    done = evidence()
    assert {d.event_id for d in done} <= {f.doc["id"] for f in found}
    assert [d.error for d in done if not d.ok] == []
    assert all(f.doc["floor"] is not None for f in found)  # the camera file's facade is used
    for d in done[:2]:
        folder = tmp_path / "data" / d.evidence_dir
        doc = json.loads((folder / "event.json").read_text())
        assert doc["clip_span_s"][0] <= doc["start_s"]  # the clip holds the whole fall
        assert doc["clip_span_s"][1] >= doc["end_s"]
        with av.open(str(folder / "original.mp4")) as clip:
            assert sum(1 for _ in clip.decode(video=0)) >= 25 * (doc["end_s"] - doc["start_s"])
        assert d.bytes == sum(p.stat().st_size for p in folder.iterdir())
    health = [m for m in messages if isinstance(m, Health)]
    assert health[-1].state == "stopped" and health[-1].width == 1920
    assert any(h.state == "streaming" for h in health)
    assert "streaming" not in [h.state for h in health[:1]]  # it starts by connecting
