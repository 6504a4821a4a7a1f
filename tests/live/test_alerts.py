"""Alerts against a real HTTP receiver and a real mosquitto broker."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from pipelines.alerts import MqttAlerts, WebhookSender, parse_host_port
from tests.live.conftest import Mosquitto, Webhook, free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]


class Subscriber:
    """Collects every message under ``fallwatch/#`` (retained ones included)."""

    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, dict[str, Any], bool]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_: c.subscribe("fallwatch/#", qos=1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, json.loads(msg.payload), bool(msg.retain)))

    def on(self, topic: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for t, m, _ in self.messages if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_webhook_retries_until_the_receiver_accepts(webhook: Webhook) -> None:
    webhook.fail_first = 2
    sender = WebhookSender(webhook.url, backoff_s=0.05, seed=1)
    sender.send({"id": "ev-1", "camera": "east"})
    wait_for(lambda: webhook.received, 10, "the alert to arrive")
    sender.close()
    assert [doc for _, doc in webhook.received] == [{"id": "ev-1", "camera": "east"}]
    assert sender.sent == 1 and sender.failed == 0


def test_webhook_never_blocks_and_bounds_its_queue_when_the_receiver_is_down() -> None:
    url = f"http://127.0.0.1:{free_port()}/nobody-listens"
    sender = WebhookSender(url, max_queue=3, max_attempts=2, backoff_s=0.05, timeout_s=0.5)
    for i in range(50):
        sender.send({"id": f"ev-{i}"})  # returns at once: the queue drops its oldest
    assert sender.dropped >= 50 - 3 - 1
    sender.close(timeout_s=3.0)
    assert sender.sent == 0


def test_mqtt_events_per_camera_and_retained_status(mosquitto: Mosquitto) -> None:
    alerts = MqttAlerts("127.0.0.1", mosquitto.port)
    alerts.status("east", {"camera": "east", "state": "streaming"})
    alerts.event("east", {"id": "ev-1", "camera": "east", "floor": 17})
    alerts.event("west", {"id": "ev-2", "camera": "west", "floor": 3})
    sub = Subscriber(mosquitto.port)
    try:
        wait_for(lambda: sub.on("fallwatch/east/status"), 10, "the retained status")
        late = Subscriber(mosquitto.port)  # joins after the events: sees the status only
        alerts.close()  # the clean goodbye: status "stopped", retained
        wait_for(lambda: any(m["state"] == "stopped" for m in sub.on("fallwatch/east/status")),
                 10, "the stopped status")
        assert sub.on("fallwatch/east/status")[0]["state"] == "streaming"
        wait_for(lambda: late.on("fallwatch/east/status"), 10, "the retained status (late)")
        assert late.on("fallwatch/east/events") == []
        late.close()
    finally:
        sub.close()


def test_mqtt_events_reach_a_subscriber(mosquitto: Mosquitto) -> None:
    sub = Subscriber(mosquitto.port)
    time.sleep(0.5)  # let the subscription settle before publishing
    alerts = MqttAlerts("127.0.0.1", mosquitto.port)
    try:
        alerts.event("east", {"id": "ev-1", "camera": "east", "floor": 17})
        alerts.event("west", {"id": "ev-2", "camera": "west", "floor": 3})
        wait_for(lambda: sub.on("fallwatch/west/events"), 10, "the west event")
        wait_for(lambda: sub.on("fallwatch/east/events"), 10, "the east event")
        assert sub.on("fallwatch/east/events") == [{"id": "ev-1", "camera": "east", "floor": 17}]
    finally:
        alerts.close()
        sub.close()


def test_mqtt_last_will_marks_a_camera_offline_when_its_process_dies(
        mosquitto: Mosquitto) -> None:
    code = (
        "import sys, time\n"
        "from pipelines.alerts import MqttAlerts\n"
        f"a = MqttAlerts('127.0.0.1', {mosquitto.port}, keepalive_s=1)\n"
        "a.status('east', {'camera': 'east', 'state': 'streaming'})\n"
        "print('up', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE)
    sub = Subscriber(mosquitto.port)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
        wait_for(lambda: any(m["state"] == "streaming" for m in sub.on("fallwatch/east/status")),
                 10, "the streaming status")
        proc.kill()  # no goodbye: the broker publishes the will
        proc.wait(10)
        wait_for(lambda: any(m["state"] == "offline" for m in sub.on("fallwatch/east/status")),
                 15, "the last will")
    finally:
        proc.kill()
        sub.close()


def test_parse_host_port() -> None:
    assert parse_host_port("broker.local:1884") == ("broker.local", 1884)
    assert parse_host_port("broker.local") == ("broker.local", 1883)
