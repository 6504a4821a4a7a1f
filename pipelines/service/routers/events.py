"""``/api/events``: the event list and each event's evidence, legal hold and export."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from pipelines.service.deps import (
    InvestigatorDep,
    SettingsDep,
    StoreDep,
    ViewerDep,
    client_of,
)
from pipelines.service.evidence import (
    MEDIA_TYPES,
    available_files,
    build_export,
    event_folder,
    evidence_file,
    file_sha256,
    get_event_or_404,
)
from pipelines.service.schemas import EventPublic, EventsPublic, HoldPublic
from pipelines.service.tokens import TokenInfo, write_audit
from pipelines.store import EventRecord, StoreError

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/events", tags=["events"])

PAGE_MAX = 200
_FILE_RESPONSES: dict[int | str, dict[str, object]] = {
    206: {"description": "part of the file (a Range request)"},
    403: {"description": "the token's role is too low, or the file leads outside the event"},
    404: {"description": "no such event or file"},
    409: {"description": "the event's evidence is still being written"},
}


def _public(settings: SettingsDep, ev: EventRecord) -> EventPublic:
    return EventPublic(
        id=ev.id, camera_id=ev.camera_id, start_utc=ev.start_utc, end_utc=ev.end_utc,
        start_s=ev.start_s, end_s=ev.end_s, score=ev.score, floor=ev.floor,
        origin=ev.origin, trajectory=ev.trajectory, status=ev.status,  # type: ignore[arg-type]
        legal_hold=ev.legal_hold, time_source=ev.time_source,
        evidence_bytes=ev.evidence_bytes, completed_utc=ev.completed_utc,
        files=available_files(settings, ev), faint_points=ev.faint_points,
    )


def _as_utc(t: datetime | None, name: str) -> datetime | None:
    if t is None:
        return None
    try:
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail=f"{name}: {t!r} is out of range ({exc})") from None


@router.get("", response_model=EventsPublic)
def list_events(
    store: StoreDep,
    settings: SettingsDep,
    _token: ViewerDep,
    camera: Annotated[str | None, Query(max_length=128, description="camera id")] = None,
    since: Annotated[datetime | None, Query(description="start at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="start before (ISO 8601)")] = None,
    floor: Annotated[int | None, Query(ge=-100, le=1000, description="origin floor")] = None,
    min_score: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
    status_: Annotated[Literal["writing", "complete", "failed"] | None,
                       Query(alias="status")] = None,
    legal_hold: bool | None = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 50,
) -> EventsPublic:
    """Events, newest first, filtered; ``count`` is the number over all pages."""
    filters = dict(camera=camera, status=status_, since=_as_utc(since, "since"),
                   until=_as_utc(until, "until"), legal_hold=legal_hold, floor=floor,
                   min_score=min_score)
    events = store.list_events(**filters, limit=limit, offset=offset)  # type: ignore[arg-type]
    count = store.count_events(**filters)  # type: ignore[arg-type]
    return EventsPublic(data=[_public(settings, e) for e in events], count=count,
                        offset=offset, limit=limit)


@router.get("/{event_id}", response_model=EventPublic, responses={404: {}})
def get_event(event_id: str, store: StoreDep, settings: SettingsDep,
              _token: ViewerDep) -> EventPublic:
    ev = get_event_or_404(store, event_id)
    out = _public(settings, ev)
    if "manifest.json" in out.files:
        out.video_size = video_size(event_folder(settings, ev) / "manifest.json")
    return out


def video_size(manifest: Path) -> list[int] | None:
    """``[width, height]`` of the source video as the manifest records it, else None."""
    try:
        src = json.loads(manifest.read_text(encoding="utf-8")).get("source") or {}
        w, h = int(src["width"]), int(src["height"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("%s: no video size (%s)", manifest, exc)
        return None
    return [w, h] if w > 0 and h > 0 else None


def _serve(request: Request, store: StoreDep, settings: SettingsDep, token: TokenInfo,
           event_id: str, name: str, download: bool) -> FileResponse:
    ev = get_event_or_404(store, event_id)
    folder = event_folder(settings, ev)
    path = evidence_file(folder, name)
    digest = file_sha256(path)
    rng = request.headers.get("range")
    write_audit(store, token=token, action="download", event_id=ev.id, item=name,
                sha256=digest, size=path.stat().st_size, client=client_of(request),
                detail=f"range {rng}" if rng else None)
    ext = name.rsplit(".", 1)[-1]
    return FileResponse(
        path, media_type=MEDIA_TYPES[ext],
        filename=f"{ev.id}_{name}" if download else None,
        content_disposition_type="attachment" if download else "inline",
        headers={"X-Content-SHA256": digest, "Cache-Control": "private, no-store"},
    )


Download = Annotated[bool, Query(description="send as an attachment")]


@router.get("/{event_id}/original.{ext}", response_class=FileResponse,
            responses=_FILE_RESPONSES)
def original(event_id: str, ext: Literal["mp4", "mkv", "mov", "ts"], request: Request,
             store: StoreDep, settings: SettingsDep, token: InvestigatorDep,
             download: Download = False) -> FileResponse:
    """The untouched original clip (its container as recorded). Supports Range."""
    return _serve(request, store, settings, token, event_id, f"original.{ext}", download)


@router.get("/{event_id}/annotated.mp4", response_class=FileResponse,
            responses=_FILE_RESPONSES)
def annotated(event_id: str, request: Request, store: StoreDep, settings: SettingsDep,
              token: ViewerDep, download: Download = False) -> FileResponse:
    """The annotated copy of the clip (H.264 MP4, plays in browsers). Supports Range."""
    return _serve(request, store, settings, token, event_id, "annotated.mp4", download)


@router.get("/{event_id}/snapshot.jpg", response_class=FileResponse,
            responses=_FILE_RESPONSES)
def snapshot(event_id: str, request: Request, store: StoreDep, settings: SettingsDep,
             token: ViewerDep, download: Download = False) -> FileResponse:
    """One picture with the whole trajectory."""
    return _serve(request, store, settings, token, event_id, "snapshot.jpg", download)


@router.get("/{event_id}/manifest.json", response_class=FileResponse,
            responses=_FILE_RESPONSES)
def manifest(event_id: str, request: Request, store: StoreDep, settings: SettingsDep,
             token: InvestigatorDep, download: Download = False) -> FileResponse:
    """The signed manifest (sha256 of every file, Ed25519 signature)."""
    return _serve(request, store, settings, token, event_id, "manifest.json", download)


@router.get("/{event_id}/export", response_class=FileResponse, responses=_FILE_RESPONSES)
def export(event_id: str, request: Request, store: StoreDep, settings: SettingsDep,
           token: InvestigatorDep) -> FileResponse:
    """A zip of the event folder with the site's public key and a note on how to verify."""
    ev = get_event_or_404(store, event_id)
    folder = event_folder(settings, ev)
    path = build_export(settings, ev, folder)
    digest = file_sha256(path)
    write_audit(store, token=token, action="export", event_id=ev.id, item=f"{folder.name}.zip",
                sha256=digest, size=path.stat().st_size, client=client_of(request))
    return FileResponse(path, media_type="application/zip", filename=f"{folder.name}.zip",
                        headers={"X-Content-SHA256": digest, "Cache-Control": "no-store"},
                        background=BackgroundTask(path.unlink, missing_ok=True))


def _hold(request: Request, store: StoreDep, token: TokenInfo, event_id: str,
          hold: bool) -> HoldPublic:
    ev = get_event_or_404(store, event_id)
    try:
        store.set_legal_hold(ev.id, hold)
    except StoreError as exc:  # deleted since it was read
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from None
    write_audit(store, token=token, action="hold" if hold else "release", event_id=ev.id,
                client=client_of(request))
    log.info("event %s: legal hold %s by token %d", ev.id, "set" if hold else "released",
             token.id)
    return HoldPublic(id=ev.id, legal_hold=hold)


@router.post("/{event_id}/hold", response_model=HoldPublic, responses={404: {}})
def set_hold(event_id: str, request: Request, store: StoreDep,
             token: InvestigatorDep) -> HoldPublic:
    """Put the event on legal hold: retention never deletes it."""
    return _hold(request, store, token, event_id, True)


@router.delete("/{event_id}/hold", response_model=HoldPublic, responses={404: {}})
def release_hold(event_id: str, request: Request, store: StoreDep,
                 token: InvestigatorDep) -> HoldPublic:
    """Release the legal hold."""
    return _hold(request, store, token, event_id, False)
