"""The event store against SQLite on disk and a real PostgreSQL server: the same tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from pipelines.store import CameraStatus, EventRecord, EventStore, StoreError

__all__ = ["T0", "make_event"]

T0 = datetime(2026, 7, 10, 15, 54, 49, 109000, tzinfo=UTC)


def make_event(i: int, camera: str = "tower-3", **kw: object) -> EventRecord:
    start = T0 + timedelta(minutes=i)
    values: dict = dict(
        id=f"{camera}_{i:04d}", camera_id=camera, start_utc=start,
        end_utc=start + timedelta(seconds=1.84), start_s=3.24 + i, end_s=5.08 + i,
        score=0.97, trajectory=[[3.24, 812.0, 233.5], [3.28, 813.1, 240.2]],
        origin={"t_s": 3.1, "x_px": 811.2, "y_px": 220.0, "floor": 17}, floor=17,
        stream_epoch_utc=T0, evidence_dir=f"evidence/{camera}/{camera}_{i:04d}")
    values.update(kw)
    return EventRecord(**values)


def test_event_round_trip_keeps_times_utc_and_trajectory(store: EventStore) -> None:
    store.add_event(make_event(1))
    got = store.get_event("tower-3_0001")
    assert got is not None
    assert got.start_utc == T0 + timedelta(minutes=1) and got.start_utc.tzinfo is not None
    assert got.trajectory == [[3.24, 812.0, 233.5], [3.28, 813.1, 240.2]]
    assert got.origin["floor"] == 17 and got.floor == 17
    assert got.status == "writing" and not got.legal_hold
    assert got.faint_points == 0
    # an event whose start was found by looking back says how many rows that was
    store.add_event(make_event(2, faint_points=6))
    assert store.get_event("tower-3_0002").faint_points == 6  # type: ignore[union-attr]


def test_event_being_written_is_never_listed_complete(store: EventStore) -> None:
    store.add_event(make_event(1))
    store.add_event(make_event(2))
    assert store.list_events(status="complete") == []
    store.complete_event("tower-3_0002", "evidence/tower-3/tower-3_0002", 12345)
    done = store.list_events(status="complete")
    assert [e.id for e in done] == ["tower-3_0002"]
    assert done[0].evidence_bytes == 12345 and done[0].completed_utc is not None
    assert [e.id for e in store.list_events(status="writing")] == ["tower-3_0001"]
    store.fail_event("tower-3_0001", "disk full")
    assert store.get_event("tower-3_0001").status == "failed"  # type: ignore[union-attr]


def test_list_filters_by_camera_time_and_pages_newest_first(store: EventStore) -> None:
    for i in range(5):
        store.add_event(make_event(i, "east"))
    store.add_event(make_event(9, "west"))
    assert [e.id for e in store.list_events(camera="east", limit=2)] == ["east_0004", "east_0003"]
    assert [e.id for e in store.list_events(camera="east", limit=2, offset=2)] == [
        "east_0002", "east_0001"]
    window = store.list_events(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3),
                               newest_first=False)
    assert [e.id for e in window] == ["east_0001", "east_0002"]
    assert store.count_events(camera="west") == 1 and store.count_events() == 6


def test_legal_hold_blocks_deletion(store: EventStore) -> None:
    store.add_event(make_event(1))
    store.set_legal_hold("tower-3_0001")
    with pytest.raises(StoreError, match="legal hold"):
        store.delete_event("tower-3_0001")
    store.set_legal_hold("tower-3_0001", False)
    store.delete_event("tower-3_0001")
    assert store.get_event("tower-3_0001") is None


def test_duplicate_and_unknown_events_are_errors_naming_them(store: EventStore) -> None:
    store.add_event(make_event(1))
    with pytest.raises(StoreError, match="tower-3_0001 is already stored"):
        store.add_event(make_event(1))
    with pytest.raises(StoreError, match="no event 'nope'"):
        store.complete_event("nope", "x", 1)


def test_camera_status_is_replaced_and_its_source_redacted(store: EventStore) -> None:
    store.put_camera(CameraStatus(id="east", source="rtsp://admin:s3cret@10.0.0.7/s1",
                                  state="streaming", fps=25.0, frames=100, worker_pid=42))
    store.put_camera(CameraStatus(id="east", source="rtsp://admin:s3cret@10.0.0.7/s1",
                                  state="reconnecting", fps=25.0, frames=150, reconnects=1,
                                  error="cannot open rtsp://admin:s3cret@10.0.0.7/s1"))
    cams = store.list_cameras()
    assert len(cams) == 1
    cam = cams[0]
    assert cam.state == "reconnecting" and cam.frames == 150 and cam.reconnects == 1
    assert "s3cret" not in (cam.source or "") and "admin" not in (cam.source or "")
    assert "s3cret" not in (cam.error or "") and cam.source == "rtsp://***:***@10.0.0.7/s1"


def test_reopening_runs_migrations_once_and_keeps_data(store: EventStore) -> None:
    store.add_event(make_event(1))
    url = store.engine.url.render_as_string(hide_password=False)
    again = EventStore.open(url=url)
    try:
        assert again.get_event("tower-3_0001") is not None
        with again.engine.connect() as c:
            assert c.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"
    finally:
        again.close()


def test_a_store_of_the_previous_schema_is_upgraded_and_keeps_its_events(
        tmp_path: Path) -> None:
    # a data folder written before events had faint_points (schema 0002), one event in it
    from importlib import resources

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    (tmp_path / "d").mkdir()
    engine = create_engine(f"sqlite:///{tmp_path / 'd' / 'fallwatch.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("pipelines.store") / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
        conn.execute(text(
            "INSERT INTO cameras (id, state, frames, dropped_frames, reconnects, restarts) "
            "VALUES ('east', 'unknown', 0, 0, 0, 0)"))
        conn.execute(text(
            "INSERT INTO events (id, camera_id, start_utc, end_utc, start_s, end_s, "
            "time_source, floor, score, trajectory, origin, evidence_bytes, status, "
            "legal_hold, created_utc) VALUES ('east_0001', 'east', '2026-07-10 15:54:49', "
            "'2026-07-10 15:54:51', 3.2, 5.1, 'arrival', 17, 0.97, '[[3.2, 812.0, 233.5]]', "
            "'{\"floor\": 17}', 0, 'complete', 0, '2026-07-10 15:55:00')"))
    engine.dispose()
    s = EventStore.open(tmp_path / "d")
    try:
        got = s.get_event("east_0001")
        assert got is not None and got.floor == 17 and got.status == "complete"
        assert got.faint_points == 0
        with s.engine.connect() as c:
            assert c.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"
    finally:
        s.close()


def test_sqlite_store_is_in_wal_mode_under_the_data_folder(tmp_path: Path) -> None:
    s = EventStore.open(tmp_path / "d")
    try:
        assert (tmp_path / "d" / "fallwatch.db").is_file()
        with s.engine.connect() as c:
            assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        s.close()


def test_unreachable_database_is_a_store_error_without_its_password() -> None:
    with pytest.raises(StoreError) as err:
        EventStore.open(url="postgresql+psycopg://u:Sup3rS3cret@127.0.0.1:1/x?connect_timeout=2")
    assert "Sup3rS3cret" not in str(err.value) and "cannot open the event store" in str(err.value)
