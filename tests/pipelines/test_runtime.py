"""Process-wide settings: OpenCV runs one thread per fallwatch process unless told."""

import os
import subprocess
import sys

import cv2
import pytest

from pipelines import runtime


def test_one_opencv_thread_by_default_and_the_variable_overrides(monkeypatch):
    before = cv2.getNumThreads()
    try:
        monkeypatch.delenv(runtime.ENV, raising=False)
        runtime.configure_process()
        assert cv2.getNumThreads() == 1
        monkeypatch.setenv(runtime.ENV, "2")
        runtime.configure_process()
        assert cv2.getNumThreads() == 2
    finally:
        cv2.setNumThreads(before)


def test_a_bad_thread_count_names_the_variable(monkeypatch):
    monkeypatch.setenv(runtime.ENV, "two")
    with pytest.raises(SystemExit, match="FALLWATCH_CV_THREADS must be an integer, got 'two'"):
        runtime.cv_threads()


def test_a_fallwatch_command_runs_opencv_single_threaded(tmp_path):
    """``fallwatch`` sets it before running any sub-command (here one that fails fast)."""
    code = ("import cv2, sys\n"
            "from pipelines import cli\n"
            "before = cv2.getNumThreads()\n"
            "cli.main(['verify', sys.argv[1]])\n"
            "print(before, cv2.getNumThreads())\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "missing")],
                         capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "FALLWATCH_HOME": str(tmp_path)})
    before, after = out.stdout.split()
    if (os.cpu_count() or 1) > 1:
        assert int(before) > 1  # OpenCV's own default uses every core
    assert after == "1"
