"""``fallwatch watch --config site.yaml --data DIR``: watch live cameras all day.

``fallwatch watch --config SITE.yaml [--data DIR] [--database-url URL] [--webhook URL]
[--mqtt HOST:PORT]``; each option may also be given in the site file (the command line
wins). Runs until SIGTERM or SIGINT, then stops every worker and exits 0. Exit status 2:
bad usage, an invalid site or camera file, or an event store that cannot be opened.

The log goes to standard error and to ``DIR/logs/watch.log``, with the credentials of
every source URL masked.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pipelines.alerts import Alerts, MqttAlerts, WebhookSender, parse_host_port
from pipelines.errors import CameraFileError
from pipelines.live.site import load_site
from pipelines.live.supervisor import Supervisor, install_signal_handlers
from pipelines.redact import install_log_redaction, redact_text, url_secrets
from pipelines.store import EventStore, StoreError

log = logging.getLogger(__name__)

EXIT_OK, EXIT_USAGE = 0, 2


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, required=True, metavar="SITE.yaml",
                   help="site file: the cameras (camera files with their source URLs) and "
                   "settings")
    p.add_argument("--data", type=Path, metavar="DIR",
                   help="data folder: the event store (SQLite) and evidence folders")
    p.add_argument("--database-url", metavar="URL",
                   help="SQLAlchemy URL of the event store, e.g. "
                   "postgresql+psycopg://user@host/db (default: SQLite under DIR)")
    p.add_argument("--webhook", metavar="URL", help="POST each event as JSON to this URL")
    p.add_argument("--mqtt", metavar="HOST:PORT",
                   help="publish events and camera status to this MQTT broker")


def _fail(message: str) -> int:
    print(f"fallwatch watch: error: {redact_text(message)}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    try:
        site = load_site(args.config)
    except CameraFileError as exc:
        return _fail(str(exc))
    secrets = [s for cam in site.cameras for s in url_secrets(cam.source)]
    data: Path | None = args.data or site.data
    if data is None:
        return _fail("no data folder: give --data DIR or 'data:' in the site file")
    try:
        (data / "logs").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _fail(f"{data}: cannot create the data folder ({exc.strerror or exc})")
    root = logging.getLogger()
    file_handler = logging.FileHandler(data / "logs" / "watch.log", encoding="utf-8")
    file_handler.setFormatter(logging.Formatter(
        "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"))
    root.addHandler(file_handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
        for h in root.handlers:
            if h is not file_handler:
                h.setLevel(logging.WARNING if args.verbose == 0 else logging.NOTSET)
    install_log_redaction(secrets)
    try:
        store = EventStore.open(data, args.database_url or site.database_url)
    except StoreError as exc:
        return _fail(str(exc))
    webhook_url = args.webhook or site.webhook
    mqtt_at = args.mqtt or site.mqtt
    try:
        mqtt_alerts = MqttAlerts(*parse_host_port(mqtt_at)) if mqtt_at else None
    except ValueError as exc:
        return _fail(f"--mqtt: {exc}")
    alerts = Alerts(WebhookSender(webhook_url, seed=site.live.seed) if webhook_url else None,
                    mqtt_alerts)
    supervisor = Supervisor(site.cameras, site.live, data, store, alerts, site.retention)
    install_signal_handlers(supervisor)
    log.info("watching %d cameras: %s", len(site.cameras),
             ", ".join(f"{c.id} ({redact_text(c.source or '')})" for c in site.cameras))
    try:
        supervisor.run()
    finally:
        store.close()
    return EXIT_OK
