"""The site file: cameras by path or inline, and errors that name the file and the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.errors import CameraFileError
from pipelines.live.site import load_site

ROOT = Path(__file__).resolve().parents[2]


def _write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_cameras_by_relative_path_and_inline_with_settings(tmp_path: Path) -> None:
    (tmp_path / "cams").mkdir()
    _write(tmp_path / "cams" / "east.yaml", {"id": "east", "source": "rtsp://h/1",
                                             "detector": {"downscale": 2}})
    site = load_site(_write(tmp_path / "site.yaml", {
        "cameras": ["cams/east.yaml", {"id": "west", "source": "rtsp://u:p@h/2"}],
        "webhook": "http://127.0.0.1:9/x", "mqtt": "broker:1884",
        "retention": {"max_age_days": 7, "quota_bytes": 1000},
        "live": {"max_lag_s": 1.5}}))
    assert [c.id for c in site.cameras] == ["east", "west"]
    assert site.cameras[0].detector.downscale == 2
    assert site.retention.quota_bytes == 1000 and site.live.max_lag_s == 1.5
    assert site.mqtt == "broker:1884" and site.data is None


@pytest.mark.parametrize(("data", "message"), [
    ({"cameras": [{"id": "a", "source": "rtsp://h/1"}], "live": {"max_lagg_s": 1}},
     "unknown key 'live.max_lagg_s'"),
    ({"cameras": [{"id": "a"}]}, "camera 'a' has no 'source'"),
    ({"cameras": [{"id": "a", "source": "rtsp://h/1"}, {"id": "a", "source": "rtsp://h/2"}]},
     "camera id 'a' is used twice"),
    ({"cameras": []}, "'cameras' must list at least one camera"),
    ({"cameras": [{"id": "a", "source": "rtsp://h/1", "colour": "red"}]},
     "unknown key 'colour'"),
    ({"cameras": ["missing.yaml"]}, "missing.yaml: camera file not found"),
])
def test_errors_name_the_file_and_the_key(tmp_path: Path, data: dict, message: str) -> None:
    path = _write(tmp_path / "site.yaml", data)
    with pytest.raises(CameraFileError) as err:
        load_site(path)
    assert message in str(err.value) and "site.yaml" in str(err.value)


def test_watch_exits_2_on_a_bad_site_file_without_showing_its_password(tmp_path: Path) -> None:
    site = _write(tmp_path / "site.yaml", {
        "cameras": [{"id": "a", "source": "rtsp://admin:Secr3tPw@h/1"}], "retention": 5})
    r = subprocess.run([sys.executable, "-m", "pipelines.cli", "watch", "--config", str(site),
                        "--data", str(tmp_path / "d")], cwd=ROOT, capture_output=True,
                       text=True, check=False)
    assert r.returncode == 2
    assert "site.yaml" in r.stderr and "retention" in r.stderr
    assert "Secr3tPw" not in r.stderr + r.stdout
