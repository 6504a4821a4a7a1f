"""The service over PostgreSQL (Debian's server, started by the test): the tokens and audit
migration, token checks, filters with time ranges, audit rows, hold."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from pipelines.service import Settings, create_app
from pipelines.service.tokens import create_token, list_audit, revoke_token
from pipelines.store import EventRecord, EventStore
from tests.live.conftest import Postgres, new_database
from tests.service.conftest import Analyzed


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    pg = Postgres()
    pg.start()
    try:
        yield new_database(pg.url)
    finally:
        subprocess.run([*pg.run_as, pg.pg_ctl, "-D", str(pg.data), "-m", "immediate", "stop"],
                       check=False, capture_output=True)
        shutil.rmtree(pg.base, ignore_errors=True)


def test_service_on_postgresql(pg_url: str, analyzed: Analyzed, tmp_path_factory:
                               pytest.TempPathFactory) -> None:
    data = tmp_path_factory.mktemp("pgdata")
    shutil.copytree(analyzed.folder, data / "evidence" / "ev1")
    store = EventStore.open(url=pg_url)
    try:
        t0 = datetime(2026, 9, 27, 15, 0, tzinfo=UTC)
        for i, floor in enumerate((4, 9)):
            store.add_event(EventRecord(
                id=f"pg_{i}", camera_id="tower", start_utc=t0 + timedelta(hours=i),
                end_utc=t0 + timedelta(hours=i, seconds=1), start_s=1.0, end_s=2.0,
                score=0.5 + 0.3 * i, trajectory=[[1.0, 10.0, 20.0], [1.04, 11.0, 25.0]],
                origin={"t_s": 1.0, "x_px": 10.0, "y_px": 20.0, "floor": floor}, floor=floor))
        store.complete_event("pg_1", "evidence/ev1", 1)
        investigator, _ = create_token(store, "investigator", "pg")
        revoked, info = create_token(store, "viewer", "gone")
        revoke_token(store, info.id)
        settings = Settings(data_dir=data, database_url=pg_url, home=analyzed.home)
        with TestClient(create_app(settings, store=store)) as c:
            h = {"Authorization": f"Bearer {investigator}"}
            assert c.get("/api/me", headers={"Authorization": f"Bearer {revoked}"}
                         ).status_code == 401
            r = c.get("/api/events", params={"since": "2026-09-27T15:30:00+00:00"}, headers=h)
            assert [e["id"] for e in r.json()["data"]] == ["pg_1"]
            r = c.get("/api/events", params={"floor": 4, "until": "2026-09-27T15:30:00"},
                      headers=h)
            assert [e["id"] for e in r.json()["data"]] == ["pg_0"]
            assert c.get("/api/events", params={"min_score": 0.7},
                         headers=h).json()["count"] == 1
            r = c.get("/api/events/pg_1/original.mp4", headers={**h, "Range": "bytes=0-9"})
            assert r.status_code == 206 and len(r.content) == 10
            assert c.post("/api/events/pg_0/hold", headers=h).json()["legal_hold"] is True
            rows, total = list_audit(store)
            assert total == 2
            assert [(a.action, a.event_id, a.token_name) for a in rows] == [
                ("hold", "pg_0", "pg"), ("download", "pg_1", "pg")]
    finally:
        store.close()
