"""Credentials masked in URLs, free text and log records."""

from __future__ import annotations

import logging

import pytest

from pipelines.redact import RedactingFilter, redact_text, redact_url, url_secrets


def test_url_user_and_password_are_masked() -> None:
    assert redact_url("rtsp://admin:pa55@10.0.0.7:554/s1") == "rtsp://***:***@10.0.0.7:554/s1"
    assert redact_url("rtsp://10.0.0.7/s1") == "rtsp://10.0.0.7/s1"
    assert redact_url("http://cam/x?user=a&password=b&ch=1") == \
        "http://cam/x?user=***&password=***&ch=1"


def test_ffmpeg_error_text_is_masked() -> None:
    text = "[Errno 111] Connection refused: 'rtsp://admin:p%40ss@127.0.0.1:8554/cam'"
    assert redact_text(text) == "[Errno 111] Connection refused: 'rtsp://***:***@127.0.0.1:8554/cam'"


def test_known_secrets_are_masked_anywhere() -> None:
    secrets = url_secrets("rtsp://admin:p%40ss@127.0.0.1/cam")
    assert set(secrets) == {"p%40ss", "p@ss"}
    assert redact_text("login p@ss failed for admin", secrets) == "login *** failed for admin"


def test_log_records_are_redacted_with_arguments_and_tracebacks(
        caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.redact")
    caplog.handler.addFilter(RedactingFilter(["hunter22"]))
    try:
        raise OSError("cannot open rtsp://u:hunter22@h/s")
    except OSError:
        logger.exception("camera %s failed", "rtsp://u:hunter22@h/s")
    text = caplog.text
    assert "hunter22" not in text
    assert "camera rtsp://***:***@h/s failed" in text and "cannot open rtsp://***:***@h/s" in text
