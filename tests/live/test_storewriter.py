"""The supervisor's store writes survive a database restart: nothing queued is lost."""

from __future__ import annotations

from pipelines.live.storewriter import StoreWriter
from pipelines.store import CameraStatus, EventStore
from tests.live.conftest import Postgres, new_database
from tests.live.test_store import make_event


def test_writes_queued_while_postgresql_is_down_arrive_after_it_is_back(
        postgres: Postgres) -> None:
    store = EventStore.open(url=new_database(postgres.url))
    writer = StoreWriter(store, max_backoff_s=0.5)
    try:
        writer.call("adding event 0", store.add_event, make_event(0))
        assert writer.flush(30)
        postgres.stop()
        try:
            for i in (1, 2, 3):
                writer.call(f"adding event {i}", store.add_event, make_event(i))
            writer.call("completing event 1", store.complete_event, "tower-3_0001", "e/1", 10)
            writer.put_camera(CameraStatus(id="tower-3", state="reconnecting", frames=5))
            writer.put_camera(CameraStatus(id="tower-3", state="streaming", frames=9))
            assert not writer.flush(2.0)  # the server is down: nothing can be written
            assert writer.failures >= 1
        finally:
            postgres.start()
        assert writer.flush(60)
        assert [e.id for e in store.list_events(newest_first=False)] == [
            f"tower-3_{i:04d}" for i in range(4)]
        assert store.get_event("tower-3_0001").status == "complete"  # type: ignore[union-attr]
        cam = store.get_camera("tower-3")
        assert cam is not None and cam.state == "streaming" and cam.frames == 9
        # a write the store refuses is dropped, and the ones after it still go through
        writer.call("adding event 0 again", store.add_event, make_event(0))
        writer.call("adding event 4", store.add_event, make_event(4))
        assert writer.flush(30)
        assert store.count_events() == 5
    finally:
        writer.close(5)
        store.close()
