"""Credentials out of everything we log, store or show.

A camera's ``source`` is a URL such as ``rtsp://user:pass@10.0.0.7/stream1``; FFmpeg puts
that URL into its error messages, so redaction applies to any text, not only to the URL::

    redact_url("rtsp://user:pass@10.0.0.7/s1")        # 'rtsp://***:***@10.0.0.7/s1'
    redact_text("cannot open 'rtsp://u:p@h/s'")         # "cannot open 'rtsp://***:***@h/s'"
    redact_text(msg, secrets=["p4ss"])                 # also blanks known secrets anywhere

``RedactingFilter`` does it to every log record that passes a handler; ``install_log_redaction``
puts it on the root logger's handlers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

__all__ = ["RedactingFilter", "install_log_redaction", "redact_text", "redact_url", "url_secrets"]

MASK = "***"
# scheme://userinfo@ : userinfo is anything up to the last '@' before the host part.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s'\"]*)@")
# key=value credentials some cameras take in the query string
_QUERY_SECRET = re.compile(
    r"(?P<key>[?&;](?:password|passwd|pwd|pass|user|username|token|auth|key)=)[^&#\s'\"]*",
    re.IGNORECASE,
)


def redact_url(url: str) -> str:
    """``url`` with its user name, password and credential query values masked."""
    return redact_text(url)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the credentials of every URL in it masked, and each of ``secrets``
    (literal strings of 3 characters or more) replaced by ``***`` wherever it appears."""
    out = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}:{MASK}@", text)
    out = _QUERY_SECRET.sub(lambda m: f"{m['key']}{MASK}", out)
    for secret in secrets:
        if len(secret) >= 3:
            out = out.replace(secret, MASK)
    return out


def url_secrets(url: str | None) -> list[str]:
    """The password inside ``url`` (raw and percent-decoded), for ``redact_text(...,
    secrets=...)``. The user name is masked inside URLs only: as a bare word it is often
    an ordinary one (``admin``, a site name) that would blank unrelated text."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found: list[str] = []
    for value in (parts.password,):
        if value:
            found += [value, unquote(value)]
    return sorted(set(found), key=len, reverse=True)


class RedactingFilter(logging.Filter):
    """Masks URL credentials (and the given secrets) in a record's message and arguments.

    The record's message is rendered and replaced by its redacted text, so that neither a
    handler nor a formatter sees the original; exception text is redacted too.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact_text(message, self.secrets)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact_text(text, self.secrets)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info, self.secrets)
        return True


def install_log_redaction(secrets: Iterable[str] = ()) -> RedactingFilter:
    """Put one ``RedactingFilter`` on every handler of the root logger (add handlers first)."""
    filt = RedactingFilter(secrets)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(filt)
    return filt
