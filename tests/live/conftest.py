"""Real parts for the live tests: a GStreamer RTSP server, mosquitto, a webhook receiver,
PostgreSQL, and ``fallwatch watch`` itself, each started on loopback on a free port."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import uuid4

import av
import pytest
import yaml
from sqlalchemy import create_engine, text

from pipelines.store import EventStore

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with gi (GStreamer's RTSP server)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(cond: Callable[[], Any], timeout: float, what: str, step: float = 0.2) -> Any:
    """Poll ``cond`` until it returns something truthy; fail naming ``what`` after timeout."""
    end = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(step)


def loop_clip(src: Path, dst: Path, times: int) -> Path:
    """``src``'s packets ``times`` over, timestamps shifted, without re-encoding (each copy
    starts at a keyframe, so the result is one valid stream)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        s_in = inp.streams.video[0]
        s_out = out.add_stream_from_template(s_in)
        packets = [p for p in inp.demux(s_in) if p.size]
        first = min(p.pts for p in packets if p.pts is not None)
        span = max(p.pts + (p.duration or 0) for p in packets if p.pts is not None) - first
        tb = s_in.time_base or Fraction(1, 90_000)
        for rep in range(times):
            for p in packets:
                q = av.Packet(bytes(p))
                q.pts = p.pts + rep * span if p.pts is not None else None
                q.dts = p.dts + rep * span if p.dts is not None else None
                q.duration, q.is_keyframe, q.time_base, q.stream = p.duration, p.is_keyframe, \
                    tb, s_out
                out.mux(q)
    return dst


@dataclass
class Scene:
    clip: Path  # the looped clip served over RTSP
    single: Path  # one pass of the scene
    camera: dict[str, Any]  # its camera file, as a mapping
    period_s: float  # length of one pass
    events_per_pass: int  # what `fallwatch analyze` finds in one pass


@pytest.fixture(scope="session")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    """A generated 720p scene (two objects dropped in the first 3 s, 6 s long, GOP 2 s),
    looped 15 times (90 s)."""
    out = tmp_path_factory.mktemp("scene")
    subprocess.run([sys.executable, "-m", "pipelines.cli", "synth", str(out), "--count", "1",
                    "--seed", "4242", "--duration", "6", "--resolutions", "720p:1",
                    "--distractor-share", "0", "--jobs", "1"],
                   cwd=ROOT, check=True, capture_output=True)
    single = out / "scene_4242_0000.mp4"
    camera = yaml.safe_load((out / "scene_4242_0000.yaml").read_text())
    r = subprocess.run([sys.executable, "-m", "pipelines.cli", "analyze", str(single),
                        "--camera", str(out / "scene_4242_0000.yaml")],
                       cwd=ROOT, check=True, capture_output=True, text=True)
    found = len(json.loads(r.stdout)["events"])
    assert found >= 1, "the generated scene must hold an event the detector finds"
    return Scene(loop_clip(single, out / "looped.mp4", 15), single, camera, 6.0, found)


class RtspServer:
    """GStreamer's RTSP server serving one file at ``url`` (each client from its start)."""

    def __init__(self, clip: Path, log_dir: Path, port: int | None = None) -> None:
        self.clip = clip
        self.port = port or free_port()
        self.log = log_dir / f"rtsp_{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, credentials: str = "") -> str:
        return f"rtsp://{credentials + '@' if credentials else ''}127.0.0.1:{self.port}/cam"

    def start(self) -> RtspServer:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [SYSTEM_PYTHON, str(HERE / "rtsp_server.py"), "--port", str(self.port),
                 "--file", str(self.clip)], stdout=subprocess.PIPE, stderr=log)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        assert line.startswith("READY"), f"RTSP server did not start: {self.log.read_text()}"
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def rtsp(tmp_path: Path) -> Iterator[Callable[..., RtspServer]]:
    servers: list[RtspServer] = []

    def make(clip: Path, port: int | None = None) -> RtspServer:
        srv = RtspServer(clip, tmp_path, port).start()
        servers.append(srv)
        return srv

    yield make
    for srv in servers:
        srv.kill()


@dataclass
class Mosquitto:
    port: int
    proc: subprocess.Popen[bytes]


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def up() -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return True
        return False

    wait_for(up, 10, "mosquitto to listen")
    yield Mosquitto(port, proc)
    proc.terminate()
    proc.wait(10)


@dataclass
class Webhook:
    url: str
    received: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    fail_first: int = 0  # answer 503 to this many requests first


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    port = free_port()
    hook = Webhook(f"http://127.0.0.1:{port}/alerts")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                if hook.fail_first > 0:
                    hook.fail_first -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                hook.received.append((time.time(), json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hook
    server.shutdown()
    server.server_close()


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    assert found, "Debian's postgresql server is not installed (scripts/test installs it)"
    return found[-1].parent


class Postgres:
    """Debian's PostgreSQL server in a temporary folder, run as an unprivileged user (the
    folder lies directly in /tmp: pytest's own temporary folders are private to root)."""

    def __init__(self) -> None:
        bindir = _pg_bin()
        self.pg_ctl = str(bindir / "pg_ctl")
        self.base = Path(tempfile.mkdtemp(prefix="fallwatch-pg-"))
        self.data, sock = self.base / "data", self.base / "sock"
        sock.mkdir()
        self.port = free_port()
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            for p in (self.base, sock):
                shutil.chown(p, "postgres")
            self.run_as = ["runuser", "-u", "postgres", "--"]
        self._run(str(bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U",
                  "fallwatch", "--no-sync")
        self.options = f"-p {self.port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.url = f"postgresql+psycopg://fallwatch@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        r = subprocess.run([*self.run_as, *args], capture_output=True, text=True, check=False)
        assert r.returncode == 0, f"{args[0]} failed: {r.stdout}{r.stderr}"

    def start(self) -> None:
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.base / "pg.log"), "-w",
                  "-o", self.options, "start")

    def stop(self) -> None:
        self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    pg = Postgres()
    pg.start()
    yield pg
    subprocess.run([*pg.run_as, pg.pg_ctl, "-D", str(pg.data), "-m", "immediate", "stop"],
                   check=False, capture_output=True)
    shutil.rmtree(pg.base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(postgres: Postgres) -> str:
    return postgres.url


def new_database(server_url: str) -> str:
    """The URL of a new, empty database on the PostgreSQL server at ``server_url``."""
    db = f"t_{uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {db}"))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{db}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    if request.param == "sqlite":
        s = EventStore.open(tmp_path / "data")
    else:
        s = EventStore.open(url=new_database(request.getfixturevalue("postgres_url")))
    yield s
    s.close()


class Watch:
    """``fallwatch watch`` as a user runs it, with its standard error kept in a file."""

    def __init__(self, site: dict[str, Any], tmp: Path, args: Sequence[str] = ()) -> None:
        self.data = tmp / "data"
        self.site_file = tmp / "site.yaml"
        self.site_file.write_text(yaml.safe_dump(site, sort_keys=False))
        self.stderr = tmp / "watch.stderr"
        env = dict(os.environ, FALLWATCH_HOME=str(tmp / "home"), PYTHONUNBUFFERED="1")
        with self.stderr.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pipelines.cli", "watch", "--config",
                 str(self.site_file), "--data", str(self.data), *args],
                cwd=ROOT, env=env, stdout=err, stderr=subprocess.STDOUT)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise AssertionError("fallwatch watch did not stop within 40 s of "
                                     "SIGTERM") from None
        return self.proc.returncode


@pytest.fixture
def watch(tmp_path: Path) -> Iterator[Callable[..., Watch]]:
    running: list[Watch] = []

    def start(site: dict[str, Any], args: Sequence[str] = ()) -> Watch:
        w = Watch(site, tmp_path, list(args))
        running.append(w)
        return w

    yield start
    for w in running:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait(10)


def live_settings(**overrides: Any) -> dict[str, Any]:
    """Short timeouts for tests."""
    base = {"stall_timeout_s": 3.0, "open_timeout_s": 5.0, "backoff_initial_s": 0.5,
            "backoff_max_s": 2.0, "max_lag_s": 3.0, "heartbeat_s": 0.5,
            "heartbeat_timeout_s": 20.0, "restart_backoff_s": 0.5, "shutdown_timeout_s": 20.0,
            "postroll_s": 1.0,
            "preroll_s": 2.0}
    base.update(overrides)
    return base
