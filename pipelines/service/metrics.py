"""Prometheus metrics of the service: collected from the store on each scrape, plus a
counter of HTTP requests by route template (never the raw path, so ids do not explode the
label space)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from pipelines.store import EventStore

__all__ = ["ServiceMetrics"]


class _StoreCollector(Collector):
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        events = GaugeMetricFamily("fallwatch_events", "stored events by status",
                                   labels=["status"])
        for st in ("writing", "complete", "failed"):
            events.add_metric([st], self.store.count_events(status=st))
        yield events
        held = GaugeMetricFamily("fallwatch_events_on_hold", "events on legal hold")
        held.add_metric([], self.store.count_events(legal_hold=True))
        yield held
        ev_bytes = GaugeMetricFamily("fallwatch_evidence_bytes", "evidence kept, in bytes")
        ev_bytes.add_metric([], self.store.evidence_bytes())
        yield ev_bytes
        cams = self.store.list_cameras()
        up = GaugeMetricFamily("fallwatch_camera_streaming",
                               "1 while the camera is streaming", labels=["camera"])
        fps = GaugeMetricFamily("fallwatch_camera_fps", "frames per second", labels=["camera"])
        frames = CounterMetricFamily("fallwatch_camera_frames", "frames analysed",
                                     labels=["camera"])
        dropped = CounterMetricFamily("fallwatch_camera_dropped_frames", "frames dropped",
                                      labels=["camera"])
        reconnects = CounterMetricFamily("fallwatch_camera_reconnects", "reconnections",
                                         labels=["camera"])
        last = GaugeMetricFamily("fallwatch_camera_last_frame_timestamp_seconds",
                                 "UTC time of the last frame (Unix seconds)", labels=["camera"])
        for c in cams:
            up.add_metric([c.id], 1.0 if c.state == "streaming" else 0.0)
            if c.fps is not None:
                fps.add_metric([c.id], c.fps)
            frames.add_metric([c.id], c.frames)
            dropped.add_metric([c.id], c.dropped_frames)
            reconnects.add_metric([c.id], c.reconnects)
            if c.last_frame_utc is not None:
                last.add_metric([c.id], c.last_frame_utc.timestamp())
        yield from (up, fps, frames, dropped, reconnects, last)


class ServiceMetrics:
    """One registry per app (tests build many apps in one process)."""

    def __init__(self, store: EventStore) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_StoreCollector(store))
        self.requests = Counter("fallwatch_http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
