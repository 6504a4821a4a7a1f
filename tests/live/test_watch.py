"""``fallwatch watch`` end to end: GStreamer RTSP servers, mosquitto and a webhook receiver
on loopback, the store read as the web service will read it."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipelines.store import CameraStatus, EventRecord, EventStore
from tests.live.conftest import (
    Mosquitto,
    RtspServer,
    Scene,
    Watch,
    Webhook,
    free_port,
    live_settings,
    new_database,
    wait_for,
)
from tests.live.test_alerts import Subscriber
from tests.live.test_store import make_event

USER, PASSWORD = "watchuser9", "Zq7-planted-Pw"


def _camera(scene: Scene, cam_id: str, url: str) -> dict[str, Any]:
    return dict(scene.camera, id=cam_id, source=url)


class Reader:
    """The store of a running ``watch``, opened as another process would."""

    def __init__(self, w: Watch, url: str | None = None) -> None:
        if url is None:
            wait_for(lambda: (w.data / "fallwatch.db").exists() or w.proc.poll() is not None,
                     30, "the store to be created")
        assert w.proc.poll() is None, w.stderr.read_text()
        self.store = EventStore.open(w.data, url)
        self.w = w

    def camera(self, cam_id: str) -> CameraStatus:
        assert self.w.proc.poll() is None, self.w.stderr.read_text()
        cam = wait_for(lambda: self.store.get_camera(cam_id), 30, f"camera {cam_id} listed")
        assert isinstance(cam, CameraStatus)
        return cam

    def events(self, cam_id: str, status: str | None = "complete",
               after: datetime | None = None) -> list[EventRecord]:
        assert self.w.proc.poll() is None, self.w.stderr.read_text()
        return self.store.list_events(camera=cam_id, status=status, since=after)

    def streaming(self, cam_id: str, more_than: int = 0) -> bool:
        cam = self.camera(cam_id)
        return cam.state == "streaming" and cam.frames > more_than


def test_events_reach_store_broker_and_webhook_and_a_camera_survives_its_server_restart(
        scene: Scene, rtsp: Callable[..., RtspServer], watch: Callable[..., Watch],
        mosquitto: Mosquitto, webhook: Webhook) -> None:
    server_a = rtsp(scene.clip)
    server_b = rtsp(scene.clip)
    sub = Subscriber(mosquitto.port)
    site = {"cameras": [_camera(scene, "tower-a", server_a.url()),
                        _camera(scene, "tower-b", server_b.url())],
            "live": live_settings(annotate_evidence=False)}
    w = watch(site, ["--webhook", webhook.url, "--mqtt", f"127.0.0.1:{mosquitto.port}"])
    db = Reader(w)
    try:
        first = wait_for(lambda: db.events("tower-a"), 60, "a complete event of tower-a")[0]
        folder = w.data / (first.evidence_dir or "")
        assert (folder / "event.json").is_file() and (folder / "original.mp4").is_file()
        assert first.floor is not None and first.start_utc <= first.end_utc
        # the same event went out on both channels, before its evidence was complete
        hooked = wait_for(lambda: [(t, d) for t, d in webhook.received if d["id"] == first.id],
                          10, "the webhook alert")
        assert first.completed_utc is not None
        assert hooked[0][0] < first.completed_utc.timestamp()
        assert hooked[0][1]["status"] == "writing" and hooked[0][1]["floor"] == first.floor
        # how much of its start was found by looking back: alert and store agree
        assert hooked[0][1]["faint_points"] == first.faint_points >= 0
        wait_for(lambda: [m for m in sub.on("fallwatch/tower-a/events") if m["id"] == first.id],
                 10, "the MQTT event")
        assert any(m["state"] == "streaming" for m in sub.on("fallwatch/tower-a/status"))

        # the server of tower-a dies mid-stream; tower-b's goes on
        wait_for(lambda: db.streaming("tower-b"), 30, "tower-b streaming")
        b_before = db.camera("tower-b")
        server_a.kill()
        wait_for(lambda: db.camera("tower-a").reconnects >= 1, 30, "tower-a to notice")
        time.sleep(3.0)  # down for a while: reconnection attempts fail
        assert db.camera("tower-a").state in ("connecting", "reconnecting")
        restarted = datetime.now(UTC)
        server_a.start()  # same port, the scene from its start again
        later = wait_for(lambda: db.events("tower-a", after=restarted), 60,
                         "a tower-a event after its server restarted")
        assert later[0].id != first.id
        b_after = db.camera("tower-b")
        assert b_after.reconnects == 0 and b_after.restarts == 0
        assert b_after.worker_pid == b_before.worker_pid
        assert b_after.frames > b_before.frames and b_after.state == "streaming"
        b_events = db.events("tower-b")
        assert b_events, "tower-b found its events too"
        # after the server's first RTCP sender report, event times follow the sender's clock
        # (the same machine here, so it agrees with the arrival time to within seconds)
        sender_timed = [e for e in b_events if e.time_source == "sender"]
        assert sender_timed and all(
            abs((e.created_utc - e.end_utc).total_seconds()) < 10 for e in sender_timed)
        assert first.time_source in ("arrival", "sender")
        a = db.camera("tower-a")
        assert a.reconnects >= 1 and a.restarts == 0 and a.state == "streaming"
    finally:
        db.store.close()
        code = w.stop()
    assert code == 0
    final = EventStore.open(w.data)
    assert {c.state for c in final.list_cameras()} == {"stopped"}
    assert final.list_events(status="writing") == []  # stopping finished every folder
    assert final.list_events(status="failed") == []  # and every event has its evidence
    final.close()
    wait_for(lambda: any(m["state"] == "stopped" for m in sub.on("fallwatch/tower-b/status")),
             10, "the retained stopped status")
    sub.close()


def test_a_stalled_stream_is_noticed_and_reconnected(
        scene: Scene, rtsp: Callable[..., RtspServer], watch: Callable[..., Watch]) -> None:
    server = rtsp(scene.clip)
    site = {"cameras": [_camera(scene, "tower-t", server.url())],
            "live": live_settings(annotate_evidence=False)}
    w = watch(site)
    db = Reader(w)
    assert server.proc is not None
    try:
        wait_for(lambda: db.streaming("tower-t"), 60, "tower-t streaming")
        os.kill(server.proc.pid, signal.SIGSTOP)  # the connection stays open, data stops
        try:
            cam = wait_for(lambda: (c := db.camera("tower-t")).reconnects >= 1 and c, 30,
                           "the stall to be noticed")
            assert "stalled" in (cam.error or "")
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)
        frames = db.camera("tower-t").frames
        wait_for(lambda: db.streaming("tower-t", frames), 60, "tower-t streaming again")
        assert db.camera("tower-t").restarts == 0  # the worker itself recovered
    finally:
        db.store.close()
        assert w.stop() == 0


def test_a_hung_worker_is_killed_and_restarted_with_the_store_in_postgresql(
        scene: Scene, rtsp: Callable[..., RtspServer], watch: Callable[..., Watch],
        postgres_url: str) -> None:
    server = rtsp(scene.clip)
    url = new_database(postgres_url)
    site = {"cameras": [_camera(scene, "tower-h", server.url())],
            "live": live_settings(heartbeat_timeout_s=6.0, annotate_evidence=False)}
    w = watch(site, ["--database-url", url])
    db = Reader(w, url)
    try:
        wait_for(lambda: db.streaming("tower-h"), 60, "tower-h streaming")
        hung = db.camera("tower-h").worker_pid
        assert hung is not None
        os.kill(hung, signal.SIGSTOP)  # a real hang: the process stops dead
        wait_for(lambda: db.camera("tower-h").restarts >= 1, 30, "the supervisor to restart it")
        cam = wait_for(lambda: db.streaming("tower-h") and db.camera("tower-h"), 60,
                       "tower-h streaming again")
        assert cam.worker_pid != hung and "silent" in (cam.error or "silent")
        wait_for(lambda: not Path(f"/proc/{hung}").exists()
                 or "Z" in Path(f"/proc/{hung}/stat").read_text().split()[2], 10,
                 "the hung process to be gone")
        frames = cam.frames
        wait_for(lambda: db.camera("tower-h").frames > frames, 30, "frames from the new worker")
        wait_for(lambda: db.events("tower-h"), 60, "a complete event in PostgreSQL")
    finally:
        db.store.close()
        code = w.stop()
    assert code == 0
    assert "silent for" in (w.data / "logs" / "watch.log").read_text()
    assert not (w.data / "fallwatch.db").exists()  # --database-url: no SQLite beside it


def test_a_camera_slower_than_its_stream_stays_within_the_lag_bound(
        scene: Scene, rtsp: Callable[..., RtspServer], watch: Callable[..., Watch]) -> None:
    server = rtsp(scene.clip)
    max_lag = 1.0
    # 80 ms of work per analysed frame: 12.5 frames/s for a 25 frames/s stream
    site = {"cameras": [_camera(scene, "tower-s", server.url())],
            "live": live_settings(max_lag_s=max_lag, slow_frame_s=0.08,
                                  annotate_evidence=False)}
    w = watch(site)
    db = Reader(w)
    try:
        wait_for(lambda: db.streaming("tower-s"), 60, "tower-s streaming")
        lags = []
        start = db.camera("tower-s")
        for _ in range(40):  # ~12 s of samples
            cam = db.camera("tower-s")
            if cam.max_lag_s is not None:
                lags.append(cam.max_lag_s)
            time.sleep(0.3)
        end = db.camera("tower-s")
    finally:
        db.store.close()
        w.stop()
    analysed = end.frames - start.frames
    dropped = end.dropped_frames - start.dropped_frames
    assert analysed > 0 and dropped > 0
    # about half the frames cannot be analysed
    assert 0.25 < dropped / (analysed + dropped) < 0.9
    assert lags and max(lags) <= max_lag * 1.5, lags
    assert end.reconnects == 0 and end.restarts == 0


def test_a_planted_password_appears_nowhere(
        scene: Scene, rtsp: Callable[..., RtspServer], watch: Callable[..., Watch],
        mosquitto: Mosquitto, webhook: Webhook, tmp_path: Path) -> None:
    server = rtsp(scene.clip)
    closed_port = server.port + 1 if server.port < 65000 else server.port - 1
    sub = Subscriber(mosquitto.port)
    site = {"cameras": [
        _camera(scene, "tower-p", server.url(f"{USER}:{PASSWORD}")),
        _camera(scene, "tower-x", f"rtsp://{USER}:{PASSWORD}@127.0.0.1:{closed_port}/cam"),
    ], "live": live_settings()}  # annotated evidence too: every file is searched
    w = watch(site, ["--webhook", webhook.url, "--mqtt", f"127.0.0.1:{mosquitto.port}"])
    db = Reader(w)
    try:
        wait_for(lambda: db.events("tower-p"), 60, "a complete event of tower-p")
        wait_for(lambda: db.camera("tower-x").reconnects >= 2, 30, "tower-x failing to connect")
        server.kill()  # errors that FFmpeg words with the URL
        wait_for(lambda: db.camera("tower-p").reconnects >= 1, 30, "tower-p to notice")
        frames = db.camera("tower-p").frames
        server.start()
        wait_for(lambda: db.streaming("tower-p", frames), 60, "tower-p streaming again")
        statuses = [c.to_json() for c in db.store.list_cameras()]
        events = [e.to_json() for e in db.store.list_events()]
    finally:
        db.store.close()
        sub.close()
        assert w.stop() == 0
    haystacks: dict[str, bytes] = {
        "stderr": w.stderr.read_bytes(),
        "status": repr(statuses).encode(),
        "events": repr(events).encode(),
        "mqtt": repr(sub.messages).encode(),
        "webhook": repr(webhook.received).encode(),
    }
    files = [p for p in (w.data).rglob("*") if p.is_file()]
    files += [p for p in (tmp_path / "home").rglob("*") if p.is_file()]
    assert sub.messages and webhook.received and statuses and events  # nothing searched empty
    assert any(p.name == "watch.log" for p in files)
    assert any(p.name == "annotated.mp4" for p in files) and any(
        p.name == "manifest.json" for p in files)
    for p in files:
        haystacks[str(p)] = p.read_bytes()
    log_text = (w.data / "logs" / "watch.log").read_text()
    assert "rtsp://***:***@127.0.0.1" in log_text  # the URLs are there, masked
    assert log_text.count("\n") > 10
    for name, data in haystacks.items():
        for secret in (PASSWORD, USER):
            assert secret.encode() not in data, f"{secret!r} found in {name}"


def test_events_left_writing_by_a_killed_run_are_settled_when_watch_starts(
        tmp_path: Path, watch: Callable[..., Watch]) -> None:
    data = tmp_path / "data"
    store = EventStore.open(data)
    # minutes old, as a killed run's events are: events months old would be retention's
    # to delete (30 days by default), and it may run before the check below
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    whole, lost = (make_event(i, "tower-k", start_utc=t0 + timedelta(minutes=i),
                              end_utc=t0 + timedelta(minutes=i, seconds=2), stream_epoch_utc=t0)
                   for i in (1, 2))
    for ev in (whole, lost):
        store.add_event(ev)
    folder = data / (whole.evidence_dir or "")
    folder.mkdir(parents=True)
    (folder / "original.mp4").write_bytes(bytes(5000))
    (folder / "event.json").write_text("{}")
    store.close()
    port = free_port()  # nothing listens: the camera only fails to connect
    w = watch({"cameras": [{"id": "tower-k", "source": f"rtsp://127.0.0.1:{port}/cam"}],
               "live": live_settings()})
    db = Reader(w)
    try:
        wait_for(lambda: not db.events("tower-k", status="writing"), 30, "the settling")
        assert db.store.get_event(whole.id).status == "complete"  # type: ignore[union-attr]
        assert db.store.get_event(whole.id).evidence_bytes == 5002  # type: ignore[union-attr]
        assert db.store.get_event(lost.id).status == "failed"  # type: ignore[union-attr]
    finally:
        db.store.close()
        assert w.stop() == 0
