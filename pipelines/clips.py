"""Former home of the original-clip remux; it now lives in ``pipelines.evidence.original``.

Kept so that ``from pipelines.clips import PacketRing, ...`` keeps working.
"""

from pipelines.evidence.original import (
    ClipCollector,
    EvidenceError,
    PacketRing,
    StoredPacket,
    clip_suffix,
    write_original_clip,
)

__all__ = [
    "ClipCollector",
    "EvidenceError",
    "PacketRing",
    "StoredPacket",
    "clip_suffix",
    "write_original_clip",
]
