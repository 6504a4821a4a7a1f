from __future__ import annotations

import hashlib
from pathlib import Path

import av
import numpy as np


def decoded_hashes(video: Path) -> list[str]:
    """sha256 of every decoded frame's pixels (all three planes), in order."""
    out = []
    with av.open(str(video)) as c:
        for fr in c.decode(video=0):
            h = hashlib.sha256()
            for plane in fr.to_ndarray(format="yuv420p"):
                h.update(np.ascontiguousarray(plane).tobytes())
            out.append(h.hexdigest())
    return out
