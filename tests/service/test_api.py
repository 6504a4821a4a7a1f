"""The API over a real store and real evidence: every route with every role, range
requests, path traversal, revoked tokens, the audit log, export and verification."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from pipelines.service import create_app
from pipelines.service.app import FIRST_ADMIN_HINT
from pipelines.service.tokens import create_token, hash_token, list_audit
from pipelines.store.models import TokenRow
from tests.service.conftest import ROLES, ROOT, Analyzed, Site, build_site

EV = "day_7_0000_ev1"

# (method, path, lowest role allowed, status when allowed)
ROUTES = [
    ("GET", "/api/events", "viewer", 200),
    ("GET", f"/api/events/{EV}", "viewer", 200),
    ("GET", f"/api/events/{EV}/annotated.mp4", "viewer", 200),
    ("GET", f"/api/events/{EV}/snapshot.jpg", "viewer", 200),
    ("GET", f"/api/events/{EV}/original.mp4", "investigator", 200),
    ("GET", f"/api/events/{EV}/manifest.json", "investigator", 200),
    ("GET", f"/api/events/{EV}/export", "investigator", 200),
    ("POST", f"/api/events/{EV}/hold", "investigator", 200),
    ("DELETE", f"/api/events/{EV}/hold", "investigator", 200),
    ("GET", "/api/cameras", "admin", 200),
    ("GET", "/api/tokens", "admin", 200),
    ("POST", "/api/tokens", "admin", 201),
    ("DELETE", "/api/tokens/{victim}", "admin", 200),
    ("GET", "/api/audit", "admin", 200),
    ("GET", "/metrics", "viewer", 200),
    ("GET", "/api/me", "viewer", 200),
]


def _call(client: TestClient, site: Site, method: str, path: str,
          headers: dict[str, str]) -> int:
    if "{victim}" in path:
        _secret, info = create_token(site.store, "viewer", "victim")
        path = path.replace("{victim}", str(info.id))
    body = {"role": "viewer", "name": "made by a test"} if method == "POST" and \
        path == "/api/tokens" else None
    return client.request(method, path, headers=headers, json=body).status_code


@pytest.mark.parametrize(("method", "path", "needed", "ok"), ROUTES,
                         ids=[f"{m} {p}" for m, p, _n, _o in ROUTES])
def test_every_route_by_role(client: TestClient, site: Site, method: str, path: str,
                             needed: str, ok: int) -> None:
    assert _call(client, site, method, path, {}) == 401
    assert _call(client, site, method, path, {"Authorization": "Bearer nonsense"}) == 401
    assert _call(client, site, method, path,
                 {"Authorization": f"Bearer {site.revoked}"}) == 401
    for role in ROLES:
        expected = ok if ROLES.index(role) >= ROLES.index(needed) else 403
        assert _call(client, site, method, path, site.headers(role)) == expected, role


def test_401_says_how_to_authenticate(client: TestClient) -> None:
    r = client.get("/api/events")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["/healthz", "/openapi.json", "/docs", "/",
                                  "/static/app.js"])
def test_public_routes(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200


def test_list_filters_and_pages(client: TestClient, site: Site) -> None:
    h = site.headers("viewer")

    def ids(**params: object) -> list[str]:
        r = client.get("/api/events", params=params, headers=h)
        assert r.status_code == 200, r.text
        return [e["id"] for e in r.json()["data"]]

    assert ids(camera="day_7_0000") == [EV]
    assert set(ids(camera="tower-2")) == {"tower-2_0001", "tower-2_0002", "tower-2_0003"}
    assert set(ids(floor=3)) == {"tower-2_0001", "tower-2_0002"}
    assert set(ids(camera="tower-2", min_score=0.5)) == {"tower-2_0002", "tower-2_0003"}
    assert ids(since="2026-09-28T10:30:00Z", until="2026-09-28T11:30:00Z") == ["tower-2_0002"]
    assert ids(status="failed") == ["tower-2_0003"]
    # newest first, two at a time; count is over all pages
    page1 = client.get("/api/events", params={"limit": 2}, headers=h).json()
    page2 = client.get("/api/events", params={"limit": 2, "offset": 2}, headers=h).json()
    assert page1["count"] == page2["count"] == 6
    assert [e["id"] for e in page1["data"]] == ["tower-2_0003", "tower-2_0002"]
    assert [e["id"] for e in page2["data"]] == ["tower-2_0001", EV]
    assert client.get("/api/events", params={"limit": 0}, headers=h).status_code == 422
    assert client.get("/api/events", params={"since": "yesterday"}, headers=h).status_code == 422


def test_an_event_being_written_is_not_listed_as_complete(client: TestClient,
                                                          site: Site) -> None:
    h = site.headers("investigator")
    ev = client.get("/api/events/tower-2_0002", headers=h).json()
    assert ev["status"] == "writing"
    assert ev["files"] == []
    assert ev["faint_points"] == 4  # its first rows were found under the threshold
    r = client.get("/api/events/tower-2_0002/annotated.mp4", headers=h)
    assert r.status_code == 409
    assert "still being written" in r.json()["detail"]
    assert client.get("/api/events/tower-2_0003/original.mp4", headers=h).status_code == 404
    assert client.get("/api/events/no-such-event", headers=h).status_code == 404


def test_event_matches_what_analyze_found(client: TestClient, site: Site,
                                          analyzed: Analyzed) -> None:
    ev = client.get(f"/api/events/{EV}", headers=site.headers("viewer")).json()
    assert ev["status"] == "complete"
    assert ev["floor"] == analyzed.event["origin"]["floor"] is not None
    assert ev["trajectory"] == analyzed.event["trajectory"]
    assert ev["faint_points"] == analyzed.event.get("faint_points", 0) == 0
    assert set(ev["files"]) == {"original.mp4", "annotated.mp4", "snapshot.jpg",
                                "manifest.json", "event.json"}
    assert "evidence_dir" not in ev  # server paths stay on the server
    assert ev["video_size"] == [1920, 1080]  # the sample's pixels, those of the trajectory


def test_download_is_the_file_and_its_sha256_is_in_the_manifest(client: TestClient,
                                                                site: Site) -> None:
    r = client.get(f"/api/events/{EV}/original.mp4", headers=site.headers("investigator"),
                   params={"download": "true"})
    assert r.status_code == 200
    data = (site.real_folder / "original.mp4").read_bytes()
    assert r.content == data
    assert r.headers["content-type"] == "video/mp4"
    assert "attachment" in r.headers["content-disposition"]
    digest = hashlib.sha256(data).hexdigest()
    assert r.headers["x-content-sha256"] == digest
    manifest = json.loads((site.real_folder / "manifest.json").read_text())
    assert digest in json.dumps(manifest)
    # another extension than the one recorded is not there
    assert client.get(f"/api/events/{EV}/original.mkv",
                      headers=site.headers("investigator")).status_code == 404
    assert client.get(f"/api/events/{EV}/original.exe",
                      headers=site.headers("investigator")).status_code == 422


def test_range_requests(client: TestClient, site: Site) -> None:
    h = site.headers("viewer")
    data = (site.real_folder / "annotated.mp4").read_bytes()
    url = f"/api/events/{EV}/annotated.mp4"
    assert client.get(url, headers=h).headers["accept-ranges"] == "bytes"
    r = client.get(url, headers={**h, "Range": "bytes=100-199"})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes 100-199/{len(data)}"
    assert r.content == data[100:200]
    r = client.get(url, headers={**h, "Range": "bytes=-500"})
    assert r.status_code == 206
    assert r.content == data[-500:]
    r = client.get(url, headers={**h, "Range": f"bytes={len(data) - 10}-"})
    assert r.status_code == 206
    assert r.content == data[-10:]
    r = client.get(url, headers={**h, "Range": f"bytes={len(data) + 10}-"})
    assert r.status_code == 416


def test_path_traversal_is_refused(client: TestClient, site: Site) -> None:
    h = site.headers("admin")
    # the stored folder lies outside the data folder
    r = client.get("/api/events/attack_escape/original.mp4", headers=h)
    assert r.status_code == 403
    assert r.content != (site.outside / "original.mp4").read_bytes()
    assert client.get("/api/events/attack_escape/export", headers=h).status_code == 403
    # a file of the folder is a symlink to a file outside
    r = client.get("/api/events/attack_symlink/snapshot.jpg", headers=h)
    assert r.status_code == 403
    assert b"not for you" not in r.content
    zipped = client.get("/api/events/attack_symlink/export", headers=h)
    assert zipped.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()
    assert "linked/snapshot.jpg" not in names and "linked/annotated.mp4" in names
    # ids and names that try to climb out
    for path in ["/api/events/..%2F..%2Foutside/original.mp4",
                 "/api/events/../../outside/original.mp4",
                 f"/api/events/{EV}/..%2F..%2F..%2Foutside%2Fsecret.jpg",
                 "/static/..%2F..%2Fservice%2Fapp.py",
                 "/static/../app.py"]:
        r = client.get(path, headers=h)
        assert r.status_code in (404, 422), path
        assert b"not for you" not in r.content and b"create_app" not in r.content


def test_audit_row_for_every_download(client: TestClient, site: Site) -> None:
    h = site.headers("investigator")
    before = list_audit(site.store, event_id=EV, limit=1000)[1]
    for name in ("original.mp4", "annotated.mp4", "snapshot.jpg", "manifest.json"):
        r = client.get(f"/api/events/{EV}/{name}", headers=h)
        assert r.status_code == 200
        row = list_audit(site.store, event_id=EV, limit=1)[0][0]
        assert row.action == "download"
        assert row.item == name
        assert row.token_name == "investigator of the tests"
        assert row.role == "investigator"
        assert row.sha256 == hashlib.sha256(r.content).hexdigest()
        assert row.bytes == len(r.content)
    r = client.get(f"/api/events/{EV}/annotated.mp4", headers={**h, "Range": "bytes=0-9"})
    row = list_audit(site.store, event_id=EV, limit=1)[0][0]
    assert row.detail == "range bytes=0-9"
    r = client.get(f"/api/events/{EV}/export", headers=h)
    row = list_audit(site.store, event_id=EV, limit=1)[0][0]
    assert row.action == "export"
    assert row.sha256 == hashlib.sha256(r.content).hexdigest()
    assert list_audit(site.store, event_id=EV, limit=1000)[1] == before + 6
    # refused requests leave no download row
    client.get(f"/api/events/{EV}/original.mp4", headers=site.headers("viewer"))
    assert list_audit(site.store, event_id=EV, limit=1000)[1] == before + 6
    # and the admin sees them through the API
    audit = client.get("/api/audit", params={"event_id": EV}, headers=site.headers("admin"))
    assert audit.json()["count"] == before + 6
    assert audit.json()["data"][0]["action"] == "export"


def test_export_verifies_with_the_public_key_inside(client: TestClient, site: Site,
                                                    tmp_path: Path) -> None:
    r = client.get(f"/api/events/{EV}/export", headers=site.headers("investigator"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path)
    folder = site.real_folder.name
    assert {"public_key.pem", "HOW_TO_VERIFY.txt", f"{folder}/original.mp4",
            f"{folder}/manifest.json"} <= names
    assert "fallwatch verify" in (tmp_path / "HOW_TO_VERIFY.txt").read_text()
    ok = subprocess.run([sys.executable, "-m", "pipelines.cli", "verify", str(tmp_path / folder),
                         "--public-key", str(tmp_path / "public_key.pem")],
                        capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # a changed byte is caught with the same key
    clip = tmp_path / folder / "original.mp4"
    raw = bytearray(clip.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    clip.write_bytes(bytes(raw))
    bad = subprocess.run([sys.executable, "-m", "pipelines.cli", "verify", str(tmp_path / folder),
                          "--public-key", str(tmp_path / "public_key.pem")],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode != 0


def test_legal_hold_set_and_released(client: TestClient, site: Site) -> None:
    h = site.headers("investigator")
    r = client.post("/api/events/tower-2_0001/hold", headers=h)
    assert r.json() == {"id": "tower-2_0001", "legal_hold": True}
    assert site.store.get_event("tower-2_0001").legal_hold is True  # type: ignore[union-attr]
    assert client.get("/api/events", params={"legal_hold": True},
                      headers=h).json()["data"][0]["id"] == "tower-2_0001"
    r = client.delete("/api/events/tower-2_0001/hold", headers=h)
    assert r.json()["legal_hold"] is False
    assert site.store.get_event("tower-2_0001").legal_hold is False  # type: ignore[union-attr]
    actions = [a.action for a in list_audit(site.store, event_id="tower-2_0001")[0]]
    assert actions[:2] == ["release", "hold"]
    assert client.post("/api/events/nope/hold", headers=h).status_code == 404


def test_tokens_created_listed_revoked(client: TestClient, site: Site) -> None:
    admin = site.headers("admin")
    r = client.post("/api/tokens", json={"role": "investigator", "name": "detective"},
                    headers=admin)
    assert r.status_code == 201
    made = r.json()
    new = {"Authorization": f"Bearer {made['token']}"}
    assert client.get("/api/me", headers=new).json()["role"] == "investigator"
    assert client.get(f"/api/events/{EV}/manifest.json", headers=new).status_code == 200
    assert client.get("/api/tokens", headers=new).status_code == 403
    # only the hash is stored, and the list never shows secrets
    listed = client.get("/api/tokens", headers=admin)
    assert made["token"] not in listed.text and "token_sha256" not in listed.text
    mine = next(t for t in listed.json()["data"] if t["id"] == made["id"])
    assert mine["role"] == "investigator" and mine["last_used_utc"] is not None
    with site.store.session() as s:
        row = s.get(TokenRow, made["id"])
        assert row is not None and row.token_sha256 == hash_token(made["token"])
        secrets = [t.token_sha256 for t in s.scalars(select(TokenRow))]
    assert made["token"] not in secrets
    # revoked: refused from then on
    r = client.delete(f"/api/tokens/{made['id']}", headers=admin)
    assert r.status_code == 200 and r.json()["revoked_utc"] is not None
    assert client.get("/api/me", headers=new).status_code == 401
    assert client.get(f"/api/events/{EV}/manifest.json", headers=new).status_code == 401
    # an admin cannot lock itself out; unknown ids are 404
    assert client.delete(f"/api/tokens/{site.token_ids['admin']}",
                         headers=admin).status_code == 409
    assert client.delete("/api/tokens/999999", headers=admin).status_code == 404
    assert client.post("/api/tokens", json={"role": "root"}, headers=admin).status_code == 422


def test_cameras_show_live_status_without_credentials(client: TestClient, site: Site) -> None:
    r = client.get("/api/cameras", headers=site.headers("admin"))
    cams = {c["id"]: c for c in r.json()["data"]}
    assert cams["day_7_0000"]["fps"] == 25.0
    assert cams["day_7_0000"]["dropped_frames"] == 3
    assert cams["day_7_0000"]["reconnects"] == 2
    assert cams["day_7_0000"]["last_frame_utc"] == "2026-09-27T16:03:38Z"
    assert cams["tower-2"]["state"] == "reconnecting"
    assert "hunter2" not in r.text


def test_metrics_in_prometheus_format(client: TestClient, site: Site) -> None:
    client.get("/api/events", headers=site.headers("viewer"))
    r = client.get("/metrics", headers=site.headers("viewer"))
    assert r.headers["content-type"].startswith("text/plain")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(r.text) for s in fam.samples}
    assert samples[("fallwatch_events", (("status", "complete"),))] == 4
    assert samples[("fallwatch_events", (("status", "writing"),))] == 1
    assert samples[("fallwatch_events", (("status", "failed"),))] == 1
    assert samples[("fallwatch_camera_fps", (("camera", "day_7_0000"),))] == 25.0
    assert samples[("fallwatch_camera_reconnects_total", (("camera", "tower-2"),))] == 7
    assert samples[("fallwatch_camera_dropped_frames_total", (("camera", "day_7_0000"),))] == 3
    key = ("fallwatch_http_requests_total",
           (("method", "GET"), ("route", "/api/events"), ("status", "200")))
    assert samples[key] >= 1


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "database": "sqlite", "events": 6}


def test_first_start_says_how_to_make_an_admin_token(tmp_path: Path, analyzed: Analyzed,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    site = build_site(tmp_path, analyzed, admin=False)
    with caplog.at_level(logging.WARNING, logger="pipelines.service.app"):
        create_app(site.settings, store=site.store)
    assert FIRST_ADMIN_HINT.format(data=site.data) in caplog.text
    assert "fallwatch token create" in caplog.text
    # the CLI prints a token on its last line, and it works
    out = subprocess.run([sys.executable, "-m", "pipelines.cli", "token", "create", "--data",
                          str(site.data), "--role", "admin", "--name", "first"],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    secret = out.stdout.strip().splitlines()[-1]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pipelines.service.app"):
        app = create_app(site.settings, store=site.store)
    assert "no admin API token" not in caplog.text
    with TestClient(app) as c:
        r = c.get("/api/tokens", headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 200
        assert "first" in [t["name"] for t in r.json()["data"]]
    site.store.close()


def test_token_command_lists_and_revokes(client: TestClient, site: Site) -> None:
    def cli(*args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "pipelines.cli", "token", *args,
                              "--data", str(site.data)],
                             capture_output=True, text=True, cwd=ROOT, check=True)
        return out.stdout

    secret = cli("create", "--role", "viewer", "--name", "front desk").strip().splitlines()[-1]
    h = {"Authorization": f"Bearer {secret}"}
    me = client.get("/api/me", headers=h).json()
    assert (me["name"], me["role"]) == ("front desk", "viewer")
    listed = cli("list")
    line = next(ln for ln in listed.splitlines() if "front desk" in ln)
    assert secret not in listed
    token_id = line.split("\t")[0]
    cli("revoke", token_id)
    assert client.get("/api/me", headers=h).status_code == 401
    bad = subprocess.run([sys.executable, "-m", "pipelines.cli", "token", "create", "--data",
                          str(site.data), "--role", "root"], capture_output=True, text=True,
                         cwd=ROOT)
    assert bad.returncode == 2 and "viewer" in bad.stderr


def test_serve_without_a_data_folder_is_bad_usage(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FALLWATCH_DATA"}
    r = subprocess.run([sys.executable, "-m", "pipelines.cli", "serve", "--port", "1"],
                       capture_output=True, text=True, cwd=ROOT, env=env)
    assert r.returncode == 2
    assert "expected --data DIR" in r.stderr
