"""Memory of one stream: RSS growth of a fresh process analysing one video.

``python -m benchmarks.memory VIDEO`` prints one JSON line: ``VmRSS`` after the imports
(``rss_before_kib``), and ``VmHWM``/``VmRSS`` after ``analyze_file`` (camera file
``NAME.yaml`` beside the video when present, no clips). ``stream_peak_kib`` =
peak - before is the memory one more stream costs (decoder buffers, background model,
tracker), ``stream_retained_kib`` = after - before what stays allocated. tracemalloc
would miss numpy's and FFmpeg's own allocations; /proc/self/status sees them.
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

from benchmarks.common import camera_of, proc_status_kib
from pipelines.analyze import analyze_file
from pipelines.runtime import configure_process


def measure(video: Path) -> dict[str, int | float]:
    """RSS before and after analysing ``video`` in this process (KiB)."""
    camera = camera_of(video)
    gc.collect()
    before = proc_status_kib("VmRSS", "VmHWM")
    result = analyze_file(video, camera)
    after = proc_status_kib("VmRSS", "VmHWM")
    return {
        "frames": result.frames,
        "rss_before_kib": before["VmRSS"],
        "hwm_before_kib": before["VmHWM"],
        "hwm_after_kib": after["VmHWM"],
        "rss_after_kib": after["VmRSS"],
        "stream_peak_kib": after["VmHWM"] - before["VmRSS"],
        "stream_retained_kib": after["VmRSS"] - before["VmRSS"],
    }


def main() -> None:
    configure_process()
    if len(sys.argv) != 2:
        sys.exit("usage: python -m benchmarks.memory VIDEO")
    sys.stdout.write(json.dumps(measure(Path(sys.argv[1]))) + "\n")


if __name__ == "__main__":
    main()
