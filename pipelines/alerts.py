"""Alerts: a webhook (HTTP POST of JSON) and MQTT, neither ever blocking detection.

``WebhookSender.send(doc)`` puts the document on a bounded queue and returns at once; a
thread POSTs it, retrying with exponential backoff and (seeded) jitter until it is
accepted (2xx) or ``max_attempts`` is spent. When the queue is full the oldest waiting
alert is dropped and counted.

``MqttAlerts`` keeps one paho client per camera (its own connection, so each camera has its
own last will): events go to ``fallwatch/<camera>/events`` (QoS 1, not retained), the
camera's status to ``fallwatch/<camera>/status`` (QoS 1, retained), and the broker publishes
``{"camera": ..., "state": "offline"}`` there when the connection dies without a goodbye.

``Alerts`` fans an event out to whichever of the two are configured.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import paho.mqtt.client as mqtt

from pipelines.redact import redact_text

log = logging.getLogger(__name__)

__all__ = ["Alerts", "MqttAlerts", "WebhookSender", "parse_host_port"]

TOPIC_PREFIX = "fallwatch"


def parse_host_port(text: str, default_port: int = 1883) -> tuple[str, int]:
    """``"host:port"`` (or ``"host"``) -> ``(host, port)``; raises ``ValueError``."""
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, default_port
    if not port.isdigit() or not host:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


class WebhookSender:
    """POSTs JSON alerts to ``url`` from a thread (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        max_queue: int = 1000,
        max_attempts: int = 8,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        timeout_s: float = 5.0,
        seed: int = 0,
    ) -> None:
        self.url = url
        self.label = redact_text(url)
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.timeout_s = timeout_s
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._rng = random.Random(seed)
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=max_queue)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook", daemon=True)
        self._thread.start()

    def send(self, doc: dict[str, Any]) -> None:
        """Queue ``doc`` for delivery; never blocks (drops the oldest waiting when full)."""
        while True:
            try:
                self._queue.put_nowait(doc)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                    log.warning("webhook %s: queue full, oldest alert dropped", self.label)
                except queue.Empty:
                    pass

    def close(self, timeout_s: float = 5.0) -> None:
        """Deliver what is queued for up to ``timeout_s``, then stop the thread."""
        deadline = time.monotonic() + timeout_s
        while not self._queue.empty() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stop.set()
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass
        self._thread.join(max(0.1, deadline - time.monotonic()))

    def _run(self) -> None:
        while not self._stop.is_set():
            doc = self._queue.get()
            if doc is None:
                return
            self._deliver(doc)

    def _deliver(self, doc: dict[str, Any]) -> None:
        body = json.dumps(doc).encode("utf-8")
        delay = self.backoff_s
        for attempt in range(1, self.max_attempts + 1):
            request = urllib.request.Request(
                self.url, data=body, method="POST",
                headers={"Content-Type": "application/json", "User-Agent": "fallwatch"},
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    if 200 <= response.status < 300:
                        self.sent += 1
                        return
                    why = f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                why = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                why = redact_text(str(getattr(exc, "reason", exc)))
            log.warning("webhook %s: attempt %d/%d for event %s failed: %s", self.label,
                        attempt, self.max_attempts, doc.get("id"), why)
            if attempt == self.max_attempts or self._stop.wait(
                    delay * (0.5 + self._rng.random())):
                break
            delay = min(delay * 2.0, self.max_backoff_s)
        self.failed += 1
        log.error("webhook %s: event %s not delivered", self.label, doc.get("id"))


class MqttAlerts:
    """One paho client per camera against one broker (see the module docstring)."""

    def __init__(self, host: str, port: int = 1883, *, keepalive_s: int = 10) -> None:
        self.host, self.port, self.keepalive_s = host, port, keepalive_s
        self._clients: dict[str, mqtt.Client] = {}
        self._lock = threading.Lock()

    @staticmethod
    def events_topic(camera: str) -> str:
        return f"{TOPIC_PREFIX}/{camera}/events"

    @staticmethod
    def status_topic(camera: str) -> str:
        return f"{TOPIC_PREFIX}/{camera}/status"

    def _client(self, camera: str) -> mqtt.Client:
        with self._lock:
            client = self._clients.get(camera)
            if client is not None:
                return client
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                 client_id=f"fallwatch-{camera}", clean_session=True)
            client.will_set(self.status_topic(camera),
                            json.dumps({"camera": camera, "state": "offline"}), qos=1,
                            retain=True)
            client.reconnect_delay_set(min_delay=1, max_delay=30)
            client.max_queued_messages_set(1000)
            client.connect_async(self.host, self.port, keepalive=self.keepalive_s)
            client.loop_start()
            self._clients[camera] = client
            return client

    def event(self, camera: str, doc: dict[str, Any]) -> None:
        self._client(camera).publish(self.events_topic(camera), json.dumps(doc), qos=1)

    def status(self, camera: str, doc: dict[str, Any]) -> None:
        self._client(camera).publish(self.status_topic(camera), json.dumps(doc), qos=1,
                                     retain=True)

    def close(self, final_state: str | None = "stopped") -> None:
        """Publish ``final_state`` as each camera's retained status (a clean goodbye, so
        the will is not sent), then disconnect."""
        with self._lock:
            clients, self._clients = self._clients, {}
        for camera, client in clients.items():
            if final_state is not None:
                info = client.publish(self.status_topic(camera),
                                      json.dumps({"camera": camera, "state": final_state}),
                                      qos=1, retain=True)
                try:
                    info.wait_for_publish(timeout=2.0)
                except (RuntimeError, ValueError):
                    pass
            client.disconnect()
            client.loop_stop()


class Alerts:
    """The configured alert channels; ``event``/``status`` never block."""

    def __init__(self, webhook: WebhookSender | None = None, mqtt_alerts: MqttAlerts | None = None):
        self.webhook = webhook
        self.mqtt = mqtt_alerts

    def event(self, camera: str, doc: dict[str, Any]) -> None:
        if self.webhook is not None:
            self.webhook.send(doc)
        if self.mqtt is not None:
            self.mqtt.event(camera, doc)

    def status(self, camera: str, doc: dict[str, Any]) -> None:
        if self.mqtt is not None:
            self.mqtt.status(camera, doc)

    def close(self) -> None:
        if self.mqtt is not None:
            self.mqtt.close()
        if self.webhook is not None:
            self.webhook.close()
