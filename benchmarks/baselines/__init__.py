"""Measuring sticks for ``benchmarks.baselines``: the usual open-source approaches.

Each method takes a decoded video (a list of ``(t_s, (H, W) uint8 luma)``) and its camera
file and returns events in the JSON form of ``fallwatch analyze`` (``id``, ``start_s``,
``end_s``, ``score``, ``trajectory`` of ``[t_s, x_px, y_px]`` in input pixels, ``origin``
with ``floor``), so ``pipelines.evaluate.score_scene`` scores them exactly as ours.
Settings are fixed and stated in each method's ``settings``; nothing here is tuned.
"""

from benchmarks.baselines.bytetrack import ByteTrackOurBlobs
from benchmarks.baselines.methods import FrigateStyle, Method, Mog2FullRes, Ours

__all__ = ["ByteTrackOurBlobs", "FrigateStyle", "Method", "Mog2FullRes", "Ours"]
