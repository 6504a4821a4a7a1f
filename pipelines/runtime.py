"""Process-wide settings for every process that runs the detector.

OpenCV parallelises its kernels over a thread pool by default. At the working resolution
(960x540 for 1080p) each kernel call is a fraction of a millisecond, and handing it out
to threads costs more CPU than it saves: on the 1080p benchmark clip, one thread took
0.77x the detector CPU of OpenCV's default pool on this 2-core machine (3.8 against 4.9
ms per frame, ``python -m benchmarks.cv_threads``). A site runs one process per camera,
so the cores are better spent on cameras than on threads.
``FALLWATCH_CV_THREADS`` overrides the count (0 or a negative number: OpenCV's default).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import cv2

ENV = "FALLWATCH_CV_THREADS"


def cv_threads() -> int:
    """The OpenCV thread count this process should use (``FALLWATCH_CV_THREADS``, else 1)."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return 1
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{ENV} must be an integer, got {raw!r}") from None


def configure_process() -> None:
    """Apply the process-wide settings (call first thing in every detector process)."""
    n = cv_threads()
    cv2.setNumThreads(n if n > 0 else -1)


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    """A pool of ``jobs`` processes set up like this one (``configure_process``).

    Workers are spawned, never forked: a fork of a process whose torch or OpenCV thread
    pools have started can hang in the child (seen in ``eval --jobs 2``).
    """
    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=configure_process)
