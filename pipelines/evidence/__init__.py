"""Evidence that police can use and courts can trust: one signed folder per event.

An event folder ``{camera}_{UTC of first sighting, YYYYMMDDTHHMMSS.mmmZ}_{8 hex}/`` holds

- ``original.mp4`` (``.mkv``/``.mov`` where MP4 cannot carry the codec, ``.ts`` for MPEG-TS):
  the camera's own encoded packets from the keyframe at or before ``first sighting -
  preroll_s`` (default 5 s) to ``last sighting + postroll_s`` (default 3 s), remuxed
  without re-encoding: its video packets are byte-identical to the source's;
- ``annotated.mp4``: the same span re-encoded as browser-playable H.264 (faststart) with the
  growing trajectory, the release point and floor, the camera id and each frame's UTC time;
- ``snapshot.jpg``: the whole trajectory on one frame (stroboscopic), floor and time;
- ``event.json``: the event as ``fallwatch analyze`` reports it (``clip`` = the original);
- ``manifest.json``: event (stream time and UTC, and where the UTC came from), camera id and
  calibration, software version, model name and sha256, the sha256 of every file, signed
  with the site's Ed25519 key (``pipelines.evidence.keys``; ``fallwatch keys export``).

A folder is written as ``.{name}.partial`` and renamed when every file in it is complete
and flushed, so a crash leaves at most a hidden ``.partial`` folder, never a folder that
looks whole; ``list_event_folders`` and ``fallwatch verify`` ignore those.
``fallwatch verify EVENT_DIR [--public-key FILE]`` checks hashes and signature.

API (used by ``fallwatch analyze --clips-dir`` and by the live RTSP worker)::

    from pipelines.evidence import EvidenceWriter

    writer = EvidenceWriter(
        out_dir, camera_id,
        template,                      # the source's av video stream (codec parameters);
                                       # keep its container open until close() returns
        fps=25.0, container_format="rtsp",   # source container name: "mpegts" keeps .ts
        start_utc=utc_of_t0, utc_source="arrival",  # or utc_of=callable(t_s) -> datetime
        calibration=camera.calibration(),           # FacadeCalibration | None
        preroll_s=5.0, postroll_s=3.0,
        keep_s=None,                   # ring length; must exceed preroll_s + the time from
                                       # first sighting to the event being reported
        model_name=getattr(classifier, "name", None),
        model_sha256=getattr(classifier, "sha256", None),
        on_complete=None,              # optional callback(EvidenceResult), worker thread
    )
    # on the demux/detection thread:
    source.frames(on_packet=writer.on_packet)       # every video packet, demux order
    writer.align(frame.pts, frame.t_s)              # each decoded frame (first one counts)
    clip_path = writer.add_event(event, doc)        # detector.events.Event (+ its JSON)
    for result in writer.poll():                    # finished folders, never blocks
        result.ok, result.folder, result.clip, result.error
    writer.pending                                  # events whose folder is not out yet
    writer.close(timeout=None)                      # end of stream: write what is open
                                                    # with the packets it has, wait, and
                                                    # return the results not yet polled

Times: ``Event``/``Frame`` seconds (``t_s``, from the first decoded frame) are stream time;
UTC is ``utc_of(t_s)`` (default ``start_utc + t_s``). The ring (``PacketRing``) holds
encoded packets only: its memory is about bitrate x (``keep_s`` + one GOP), 6.3 MB for
10 s of a 1080p 4 Mbit/s stream with 2 s GOPs (``benchmarks/evidence_latency.py``).
The folders are written by one worker thread per writer, so the detection thread only
copies packet bytes. The worker starts on an event as soon as ``add_event`` is called:
it decodes and annotates the packets already held (pre-roll and fall) and follows the clip
as the post-roll arrives, then remuxes the original, writes the snapshot, ``event.json``
and the signed manifest, and renames the folder. Events are written one after another; one
reported while another's post-roll is still arriving waits for it.
"""

from __future__ import annotations

from pipelines.evidence.files import format_utc, is_partial, list_event_folders
from pipelines.evidence.keys import fallwatch_home, load_or_create_key
from pipelines.evidence.original import (
    ClipCollector,
    EvidenceError,
    PacketRing,
    StoredPacket,
    clip_suffix,
    write_original_clip,
)
from pipelines.evidence.verify import VerifyResult, verify_folder
from pipelines.evidence.writer import POSTROLL_S, PREROLL_S, EvidenceResult, EvidenceWriter

__all__ = [
    "POSTROLL_S",
    "PREROLL_S",
    "ClipCollector",
    "EvidenceError",
    "EvidenceResult",
    "EvidenceWriter",
    "PacketRing",
    "StoredPacket",
    "VerifyResult",
    "clip_suffix",
    "fallwatch_home",
    "format_utc",
    "is_partial",
    "list_event_folders",
    "load_or_create_key",
    "verify_folder",
    "write_original_clip",
]
