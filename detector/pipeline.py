"""The Detector facade: luma frames in, falling-object events out.

Per frame: shrink the luma to the working resolution (INTER_AREA), align it to the
background when the camera shakes, foreground from the background model, blobs (dropping
thin streaks such as rain, and those in ``exclude`` polygons), one tracker step.
Tracks that end (lost for ``max_missed_s``, left the picture, or too old) are judged by
the fall physics at once, so an alert follows the object's landing within a fraction of
a second. A young track first seen below the top edge is looked back along through the
last ``retrace_s`` of working images (:mod:`detector.retrace`): should the physics refuse
it only for being first seen already fast, the faint start of the fall found there
decides. A global change (too much foreground, or too many regions) re-seeds the
background and the tracker coasts through a short blind spell.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import cv2
import numpy as np

from detector.background import BackgroundModel, SignedDiff, shrink, work_size
from detector.blobs import Blobs, extract_blobs, merge_fragments
from detector.calibration import FacadeCalibration
from detector.classifier import TrackClassifier, operating_threshold
from detector.config import DetectorConfig
from detector.events import Event, Origin
from detector.retrace import FrameHistory, retrace
from detector.track_features import CropRecorder
from detector.tracking import Track, Tracker
from detector.trajectory import G, Geometry, RescueBudget, Verdict, judge, steady_fit

log = logging.getLogger(__name__)

STAGES = ("shrink", "background", "blobs", "tracking", "judge")

# an event is no duplicate of another one whose path it left: its last this many points
# while both were seen are all away from it
PARTED_POINTS = 3

# an event that was on the same blob as an emitted one in this many frames in a row is
# that event's object, however the two go on after (one of them may stray onto a piece
# of it or a blob beside it)
SAME_BLOB_POINTS = 5

# a track goes on from an emitted event when one of its first this many points does: a
# stray blob beside a fragmented object may have started it
CONTINUE_HEAD = 4

LOOK_BACK_AT_HITS = 8
"""A young track is looked back along (see ``Detector._look_back``) at this many hits..."""
LOOK_BACK_AGE_S = 0.6
"""The kept images reach this much further back than ``retrace_s``: a track that reached
its hits within this long is looked back along the whole of ``retrace_s``..."""
LOOK_BACK_MAX_AGE_S = 1.2
"""...and one that took up to this long, as far as the kept images reach (a bottle seen in
8 of the first 16 frames was not looked back along at all, 1001801_0024)."""


class Ended(NamedTuple):
    """An ended track as ``Detector._extrapolation`` keeps it, fitted once."""

    t_end: float
    cx: np.ndarray  # x polynomial in time since the end (quadratic from 6 points on)
    cy: np.ndarray  # y, the same
    track: Track
    # x and y straight lines through its last second (6 points or more, two times or more
    # in that second), for a swinging object: the quadratic through a swinging cloth's
    # last points flies off with the swing
    line: tuple[np.ndarray, np.ndarray] | None


def _recent(ended: list[Ended], t: float, keep: int) -> list[Ended]:
    """The last ``keep`` of ``ended`` that ended less than 3 s before ``t`` (the tracks a
    track starting at ``t`` may still continue; ``rejoin_gap_s`` is 0.6 s by default)."""
    return [o for o in ended if o.t_end > t - 3.0][-keep:]


def _swing_slack(tr: Track) -> float:
    """Work px a swinging object's blob centre may stray from its path: twice the blob's
    size (the root of its median area)."""
    return 2.0 * float(np.sqrt(np.median(tr.area)))


def _concat(first: Track, then: Track, track_id: int) -> Track:
    """``first``'s points followed by ``then``'s (all later) as one track, with ``then``'s
    end state and both tracks' appearance patches."""
    crops = then.crops if first.crops is None else (
        first.crops if then.crops is None else np.concatenate([first.crops, then.crops]))
    return Track(id=track_id, t=np.concatenate([first.t, then.t]),
                 x=np.concatenate([first.x, then.x]), y=np.concatenate([first.y, then.y]),
                 area=np.concatenate([first.area, then.area]),
                 contrast=np.concatenate([first.contrast, then.contrast]),
                 strength=np.concatenate([first.strength, then.strength]),
                 left_frame=then.left_frame, aged=then.aged, crops=crops)


def _near_in_time(t: np.ndarray, x: np.ndarray, y: np.ndarray, traj: np.ndarray,
                  radius: float, t_tol: float) -> np.ndarray:
    """(n,) bool: which points (t, x, y; input px) lie within ``radius`` of a row of the
    trajectory ``traj`` ((m, 3) [t_s, x_px, y_px]) less than ``t_tol`` apart in time."""
    close_t = np.abs(t[:, None] - traj[None, :, 0]) < t_tol
    near = np.hypot(x[:, None] - traj[None, :, 1], y[:, None] - traj[None, :, 2]) <= radius
    return (close_t & near).any(axis=1)


def _longest_run(flags: np.ndarray) -> int:
    """Length of the longest run of True in the (n,) bool array ``flags``."""
    if not flags.any():
        return 0
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.astype(np.int8), [0]))))
    return int((edges[1::2] - edges[::2]).max())


def _end_fit(tr: Track, k: int) -> tuple[np.ndarray, np.ndarray]:
    """x and y polynomials, in time since ``tr``'s last point, through its last ``k``
    points (quadratic from 6 points on, else a line): where it was heading."""
    n = min(len(tr), k)
    ts = tr.t[-n:] - tr.t[-1]
    deg = 2 if n >= 6 else 1
    return np.polyfit(ts, tr.x[-n:], deg), np.polyfit(ts, tr.y[-n:], deg)


def _window(tr: Track, a: int, b: int) -> Track:
    """Points ``a:b`` of ``tr`` as a track of their own. Its appearance patches are the
    same share of ``tr``'s (they are cut at a stride along the track, from its third
    detection on, so the share is close, not exact)."""
    n = len(tr)
    crops = tr.crops
    if crops is not None and len(crops):
        k = len(crops)
        c0 = min(int(np.floor(a * k / n)), k - 1)
        crops = crops[c0:max(int(np.ceil(b * k / n)), c0 + 1)]
    return Track(id=tr.id, t=tr.t[a:b], x=tr.x[a:b], y=tr.y[a:b], area=tr.area[a:b],
                 contrast=tr.contrast[a:b], strength=tr.strength[a:b],
                 left_frame=tr.left_frame and b == n, aged=tr.aged, crops=crops)


class Detector:
    """Detects objects falling down a facade in a stream of luma frames.

    Args:
        width, height: input frame size (pixels).
        fps: nominal frame rate (time constants are converted with it; frame times come
            from ``process``'s ``t_s``).
        config: tunables; defaults when None.
        calibration: facade homography in input pixels; enables wall-space physics and
            floor numbers.
        exclude: polygons in input pixels where nothing is detected.
        classifier: optional second opinion on tracks that pass the physics; a score
            below ``classifier_threshold`` (when None, the weights' own operating
            threshold, :func:`detector.classifier.operating_threshold`) rejects the track.

    Attributes:
        candidate_hook: when set, called with every track that passed the physics (with
            its appearance patches and ``meta``), before the classifier; used to collect
            training data.
    """

    def __init__(
        self,
        width: int,
        height: int,
        fps: float,
        config: DetectorConfig | None = None,
        calibration: FacadeCalibration | None = None,
        exclude: Sequence[Sequence[tuple[float, float]]] = (),
        classifier: TrackClassifier | None = None,
    ) -> None:
        if width <= 0 or height <= 0:
            raise ValueError(f"frame size must be positive, got {width}x{height}")
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.cfg = cfg = config or DetectorConfig()
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        self.size = work_size(self.width, self.height, cfg.downscale)
        w, h = self.size
        self.geom = Geometry.build(float(cfg.downscale), w, h, calibration, self.fps)
        g0 = self._g0 = cfg.gravity_prior_hps2 * h
        # persistence lets fainter things through; without a facade calibration the
        # physics cannot tell them from cars and trees (the real footage
        # bgslibrary_video03_trees_traffic.avi: two false alarms, physics alone)
        self.background = BackgroundModel(self.size, fps, cfg,
                                          persist=self.geom.calibration is not None)
        self.tracker = Tracker(self.size, fps, cfg,
                               gravity=lambda x, y: self.geom.gravity_px(x, y, g0))
        self.classifier = classifier
        self.classifier_threshold = operating_threshold(self.cfg.classifier_threshold,
                                                        classifier)
        self.candidate_hook: Callable[[Track], None] | None = None
        self.crops = CropRecorder()
        # the last working images, to look back along a young track first seen already
        # fast (see _look_back); what was found before each such track, by track id
        self.history = FrameHistory(
            self.size, cfg.retrace_s + LOOK_BACK_AGE_S if cfg.retrace_s > 0 else 0.0, self.fps)
        self._before: dict[int, Track] = {}
        # a track followed back into the faint part of its fall may have been released up
        # to retrace_s further back than its earliest point, and be that much faster there
        self._late_cfg = cfg.model_copy(update={
            "release_lookback_s": min(cfg.release_lookback_s + cfg.retrace_s, 5.0),
            "max_entry_speed_ms": cfg.max_entry_speed_ms + G * cfg.retrace_s})
        self.looked_back = 0  # young tracks looked back along
        self.retraced = 0  # tracks accepted after looking back
        self.include: np.ndarray | None = None
        if exclude:
            inc = np.full((h, w), 255, np.uint8)
            for poly in exclude:
                pts = (np.asarray(poly, dtype=np.float64) + 0.5) / cfg.downscale - 0.5
                cv2.fillPoly(inc, [np.round(pts).astype(np.int32)], 0)
            self.include = inc
        self._recent: list[Event] = []
        self.rescues = RescueBudget(cfg.rescue_fits_per_s, cfg.rescue_burst)
        # recently rejected tracks, for re-joining fragments: (end time, x and y
        # extrapolation polynomials in time since the end, track)
        self._rejected_tracks: list[Ended] = []
        # tracks the tracker ended for their age (max_track_s), the same way: what starts
        # where one of them ends is the same slow drifter, not a new fall
        self._aged: list[Ended] = []
        # tracks that became events, the same way: a fall that the tracker lost and picked
        # up again (a cloth tumbling) is one event, not two
        self._emitted: list[Ended] = []
        self.frames = 0
        self.guard_trips = 0
        # thin streaks dropped per frame, averaged over about a second: rain near the lens
        self.rain = 0.0
        self._rain_seen = -np.inf  # when the streaks last reached rain_streaks
        # time of the last frame (the tracker keeps it too, but the baselines swap in
        # trackers of their own)
        self._t = -np.inf
        self._rain_alpha = 1.0 / max(self.fps, 1.0)
        self._rain_passes: list[float] = []  # end times of tracks that passed in rain
        self.rejected: list[tuple[int, str]] = []  # (track id, reason) of recent rejections
        self.timings = dict.fromkeys(STAGES, 0.0)  # cumulative seconds per stage

    # -- public --------------------------------------------------------------------------
    def process(self, luma: np.ndarray, t_s: float) -> list[Event]:
        """Feed one (H, W) uint8 luma frame taken at ``t_s`` seconds; return finished events."""
        if luma.shape != (self.height, self.width):
            raise ValueError(
                f"expected a ({self.height}, {self.width}) luma plane, got {luma.shape}"
            )
        if luma.dtype != np.uint8:
            raise ValueError(f"expected uint8 luma, got {luma.dtype}")
        self.frames += 1
        self._t = float(t_s)
        tm = self.timings
        c0 = time.perf_counter()
        small = shrink(luma, self.cfg.downscale, self.size)
        c1 = time.perf_counter()
        small = self.background.stabilise(small)
        fg = self.background.apply(small)
        c2 = time.perf_counter()
        blind = fg.blind or fg.tripped
        if fg.tripped:
            self.guard_trips += 1
        self.history.push(small, float(t_s))
        blobs = Blobs.empty()
        stats = {"regions": 0}
        if not blind:
            found = extract_blobs(
                fg.mask, fg.diff, fg.thresh, fg.signed,
                max_blobs=self.cfg.max_blobs, min_area=self.cfg.min_blob_area,
                max_area=self.cfg.max_blob_area, merge_radius=self.cfg.merge_radius,
                stats=stats, keep_largest=self.background.cluttered,
                streak_len=self.cfg.streak_min_len, streak_width=self.cfg.streak_max_width,
                expected=lambda: self.tracker.predictions(float(t_s))[1:],
            )
            self.background.feedback(stats["regions"])
            self.rain += self._rain_alpha * (stats["streaks"] - self.rain)
            if self.rain >= self.cfg.rain_streaks > 0:
                self._rain_seen = float(t_s)
            if stats["regions"] > self.cfg.max_blobs and self.background.overloaded(small):
                self.guard_trips += 1
                blind = True
            else:
                assert found is not None
                blobs = found
                if self.geom.calibration is not None and not self.streaky:
                    # among streaks, they would be taken into an object beside them;
                    # uncalibrated, a car's pieces joined under trees passed as a fall (the
                    # real footage bgslibrary_video03_trees_traffic.avi, physics alone)
                    blobs = merge_fragments(blobs, self.cfg.merge_gap_frac,
                                            self.cfg.merge_min_side)
                if self.include is not None and len(blobs):
                    xi = np.clip(np.round(blobs.x).astype(np.intp), 0, self.size[0] - 1)
                    yi = np.clip(np.round(blobs.y).astype(np.intp), 0, self.size[1] - 1)
                    blobs = blobs[self.include[yi, xi] > 0]
                if self.cfg.recover_ratio > 0:
                    blobs = self._recover(blobs, fg.diff, fg.thresh, fg.signed, float(t_s),
                                          self.cfg.recover_ratio)
                elif self.cfg.persist_follow and self.background.persisting:
                    blobs = self._recover(blobs, fg.diff, self.background.thresh_lo, fg.signed,
                                          float(t_s), 1.0, fg.thresh)
        c3 = time.perf_counter()
        self.rescues.tick(float(t_s))
        ended = self.tracker.step(blobs, float(t_s), blind=blind)
        if self.history.capacity:
            self._look_back(fg.background, fg.thresh)
        if self.classifier is not None or self.candidate_hook is not None:
            self.crops.capture(small, fg.signed, *self.tracker.updated, self.tracker.ids)
        c4 = time.perf_counter()
        events = self._judge(ended)
        c5 = time.perf_counter()
        tm["shrink"] += c1 - c0
        tm["background"] += c2 - c1
        tm["blobs"] += c3 - c2
        tm["tracking"] += c4 - c3
        tm["judge"] += c5 - c4
        return events

    @property
    def streaky(self) -> bool:
        """The thin streaks dropped per frame, over about the last second, reach
        ``rain_streaks``: it is raining now, near the lens."""
        return self.rain >= self.cfg.rain_streaks

    @property
    def raining(self) -> bool:
        """It rains (:attr:`streaky`), or did within the last ``rain_hold_s``: the weather,
        which the tests for drops go by. Merging a blob's pieces goes by the streaks of the
        moment (held, they kept a bag's pieces apart under infrared after a moth's streaks,
        1001601_0002)."""
        return self.streaky or self._t - self._rain_seen <= self.cfg.rain_hold_s

    def finish(self) -> list[Event]:
        """End of the video: judge every live track and return the resulting events."""
        c0 = time.perf_counter()
        tracks = self.tracker.finish()
        c1 = time.perf_counter()
        events = self._judge(tracks)
        self.timings["tracking"] += c1 - c0
        self.timings["judge"] += time.perf_counter() - c1
        return events

    # -- internals ------------------------------------------------------------------------
    def _rain_drop(self, tr: Track, faint: int = 0) -> str | None:
        """Why an accepted track is a rain drop, or None. In rain: a track that a steady
        3-D velocity explains within noise (see :func:`detector.trajectory.steady_fit`),
        or one of a burst of tracks passing the physics (``rain_burst``). A track whose
        first ``faint`` points were found by looking back, going down the wall faster than
        ``max_entry_speed_ms`` on average, is held to the steady test in any weather: in
        daylight the drops are dots, not the streaks that tell of rain, and a drop near the
        lens has a faint past too (such drops went down the wall plane at 22 m/s). A light
        thing falls steadily too, at its terminal speed, but slower (a cigarette thrown
        out: 10.5 m/s on the wall plane)."""
        cfg = self.cfg
        if not self.raining:
            fast = faint > 0 and self._wall_speed(tr) > cfg.max_entry_speed_ms
            return self._steady(tr, "found by looking back, fast") if fast else None
        end = float(tr.t[-1])
        if cfg.rain_burst > 0:
            self._rain_passes = [t for t in self._rain_passes if t > end - cfg.rain_burst_s]
            self._rain_passes.append(end)
            if len(self._rain_passes) > cfg.rain_burst:
                return (f"one of {len(self._rain_passes)} tracks passing as falls within "
                        f"{cfg.rain_burst_s:g} s in rain ({self.rain:.0f} streaks a frame): "
                        "drops")
        return self._steady(tr, f"in rain ({self.rain:.0f} streaks a frame)")

    def _too_faint(self, tr: Track, faint: int = 0) -> str | None:
        """Why ``tr`` stands too little above the threshold to be told from noise linked
        into a fall (``faint_margin``), or None. Its first ``faint`` points, found by
        looking back along it (where it was under the threshold by definition), are not
        counted: the tracked part is the evidence, held to ``faint_margin_looked_back``.
        A track that passed on its own is held to ``faint_margin`` only while the
        threshold is not raised by clutter to ``faint_max_thresh_scale`` or more."""
        cfg = self.cfg
        if faint:
            margin = cfg.faint_margin_looked_back
        elif self.background.thresh_scale < cfg.faint_max_thresh_scale:
            margin = cfg.faint_margin
        else:  # clutter holds the threshold far over the noise
            margin = 0.0
        strength = tr.strength[faint:]
        if margin <= 0.0 or strength.size == 0:
            return None
        need = 1.0 + margin / np.sqrt(strength.size)
        median = float(np.median(strength))
        if median >= need:
            return None
        own = " of its own (its start found by looking back)" if faint else ""
        return (f"too faint: median strength {median:.2f} over {strength.size} points{own}, "
                f"a fall that short needs {need:.2f}")

    def _wall_speed(self, tr: Track) -> float:
        """Mean speed (m/s) of ``tr`` down the wall plane; 0 without a calibration."""
        cal = self.geom.calibration
        if cal is None or len(tr) < 2 or float(np.ptp(tr.t)) <= 0.0:
            return 0.0
        wall = cal.to_wall(np.stack([self.geom.to_input(tr.x), self.geom.to_input(tr.y)], 1))
        return float(-np.polyfit(tr.t, wall[:, 1], 1)[0])

    def _steady(self, tr: Track, why: str) -> str | None:
        """Why ``tr`` is a drop near the lens (``why``: what put it to the test): a steady
        3-D velocity explains it within noise; or None."""
        cfg = self.cfg
        if cfg.steady_max_rms_px > 0 and len(tr) >= cfg.steady_min_points:
            steady, quad = steady_fit(tr.t, tr.x, tr.y)
            if steady <= cfg.steady_max_rms_px and steady <= cfg.steady_max_ratio * quad:
                return (f"moves at a steady velocity in 3-D ({steady:.2f} px RMS, {quad:.2f} "
                        f"as a curve) {why}: a drop near the lens")
        return None

    def _verdict(self, track: Track, cfg: DetectorConfig | None = None) -> Verdict:
        """:func:`judge` with this detector's geometry and rescue budget, told whether the
        picture is cluttered now (rain: the foreground threshold raised beyond
        ``retrace_max_clutter``)."""
        cluttered = self.background.thresh_scale > self.cfg.retrace_max_clutter
        return judge(track, self.geom, self.cfg if cfg is None else cfg, self.rescues,
                     cluttered)

    def _judge(self, tracks: list[Track]) -> list[Event]:
        out: list[Event] = []
        # a classifier (or a training run collecting its candidates) looks at what passes
        learned = self.classifier is not None or self.candidate_hook is not None
        for tr in tracks:
            tr.crops = self.crops.take(tr.id)
            continues_aged = self._follows(tr, self._aged) is not None
            if continues_aged or tr.aged:
                self._aged = _recent(self._aged, float(tr.t[0]), 20)
                self._aged.append(self._extrapolation(tr))
            if continues_aged:
                self._reject(tr, f"continues a track followed for {self.cfg.max_track_s} s: a "
                             "slow drifter")
                continue
            v = self._verdict(tr)
            # ``piece``: this track as the tracker ended it; ``chain``: what a later piece
            # may join if this one is refused (with ``rejoin_chain``, the pieces so far)
            piece = chain = tr
            if not v.accepted and v.split is not None:
                # two things linked: the later one may be a fall of its own, whose start
                # the earlier one hid (a pot falling off a sill past the towel on it)
                later = _window(tr, v.split, len(tr))
                sv = self._verdict(later)
                if not sv.accepted and sv.late:
                    sv = self._verdict(later, self._late_cfg)
                if sv.accepted:
                    tr, v = later, sv
            if not v.accepted:
                head = self._before_gap(tr)
                if head is not None:
                    hv = self._verdict(head)
                    if hv.accepted:
                        tr, v = head, hv
            if not v.accepted:
                joined = self._rejoin(tr)
                if joined is not None:
                    jv = self._verdict(joined)
                    if jv.accepted:
                        tr, v = joined, jv
                    elif self.cfg.rejoin_chain:
                        chain = joined
            before = self._before.pop(tr.id, None)
            faint = 0  # leading points found by looking back
            if not v.accepted and v.late and before is not None and before.t[-1] < tr.t[0]:
                longer = _concat(before, tr, tr.id)
                lv = self._verdict(longer, self._late_cfg)
                log.debug("track %d: %d points found before it, %s", tr.id, len(before),
                          "accepted" if lv.accepted else lv.reason)
                if lv.accepted and self._seen_before(before):
                    self._reject(longer, "its faint start is an event already emitted")
                    self._remember_rejected(longer)
                    # it is that event's object: what continues it, continues the event
                    self._emitted.append(self._extrapolation(longer))
                    continue
                if lv.accepted:
                    tr, v = longer, lv
                    faint = len(before)
                    self.retraced += 1
            if not v.accepted and learned:
                trimmed = self._trimmed(tr)
                if trimmed is not None:
                    window, wv, points = trimmed
                    # the whole track stays rejected: a later fragment may still join it
                    self._reject(tr, f"{v.reason}; judged on points {points}")
                    self._remember_rejected(chain, piece)
                    tr, v = window, wv
            if not v.accepted:
                self._reject(tr, v.reason)
                self._remember_rejected(chain, piece)
                continue
            drop = self._rain_drop(tr, faint)
            if drop is not None:
                self._reject(tr, drop)
                continue
            faint_why = self._too_faint(tr, faint)
            if faint_why is not None:
                self._reject(tr, faint_why)
                continue
            if self._shadowed(tr):
                self._reject(tr, "retraces a longer track still being followed")
                continue
            self._emitted = _recent(self._emitted, float(tr.t[0]), 20)
            if self._goes_on_from_event(tr, piece):
                self._reject(tr, "continues the track of an event already emitted")
                self._emitted.append(self._extrapolation(tr))
                continue
            if learned:
                self._describe(tr, v)
            if self.candidate_hook is not None:
                self.candidate_hook(tr)
            cls_score = self.classifier.score(tr) if self.classifier is not None else None
            if cls_score is not None and cls_score < self.classifier_threshold:
                self._reject(tr, f"classifier {cls_score:.2f} < {self.classifier_threshold:g}")
                continue
            # each opinion has its own bar: a blended bar would let the physics veto a
            # track that the classifier passed at a lowered threshold
            if v.score < self.cfg.min_score:
                self._reject(tr, f"physics score {v.score:.2f} < {self.cfg.min_score}")
                continue
            score = v.score
            if cls_score is not None:
                wgt = self.cfg.classifier_weight
                score = (1.0 - wgt) * score + wgt * float(np.clip(cls_score, 0.0, 1.0))
            ev = self._event(tr, v, score, cls_score, faint)
            if self._duplicate(ev, float(np.sqrt(np.median(tr.area)))):
                self._reject(tr, "duplicate of an emitted event")
                continue
            self._recent.append(ev)
            self._emitted.append(self._extrapolation(tr))
            out.append(ev)
        if out:
            newest = max(e.end_s for e in self._recent)
            self._recent = [e for e in self._recent if e.end_s > newest - 10.0]
        return out

    def _look_back(self, background: np.ndarray, thresh: np.ndarray) -> None:
        """Look back (:func:`detector.retrace.retrace`) along each track that has just
        reached ``LOOK_BACK_AT_HITS`` detections, first seen below the top margin and
        going down at ``retrace_min_speed_ms`` or faster: the points found wait in
        ``_before`` until the track is judged (and count only if the physics refuses it
        for being first seen already fast).

        Done while the track is young (at most ``LOOK_BACK_MAX_AGE_S``), so that the kept
        images need to reach back only ``retrace_s`` plus ``LOOK_BACK_AGE_S``, not a whole
        track's length."""
        ids, hits = self.tracker.updated[:2]
        young = np.flatnonzero(hits == LOOK_BACK_AT_HITS)
        if young.size == 0 or self.background.thresh_scale > self.cfg.retrace_max_clutter:
            return
        margin = self.cfg.entry_margin_hps * self.size[1]
        for k in young.tolist():
            tid = int(ids[k])
            rows = self.tracker.history(tid)
            if rows is None:  # ended in this step, and judged with it
                continue
            a = np.asarray(rows, dtype=np.float64)
            if a[0, 2] <= margin or a[-1, 2] <= a[0, 2]:
                continue
            if a[-1, 0] - a[0, 0] > LOOK_BACK_MAX_AGE_S:
                continue
            # downward speed over the local gravity (work px): seconds of free fall
            g_px = float(self.geom.gravity_px(a[:1, 1], a[:1, 2], self._g0)[0])
            v_down = float(np.polyfit(a[:, 0] - a[0, 0], a[:, 2], 1)[0])
            if v_down / g_px < self.cfg.retrace_min_speed_ms / G:
                continue
            young_track = Track(tid, a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4], a[:, 5])
            self.looked_back += 1
            found = retrace(young_track, self.history, background, thresh, self.cfg)
            if found is not None:
                self._before[tid] = found
        if len(self._before) > 4 * self.cfg.max_tracks:  # tracks that ended unjudged
            live = set(self.tracker.ids.tolist())
            self._before = {k: v for k, v in self._before.items() if k in live}

    def _recover(self, blobs: Blobs, diff: np.ndarray, thresh: np.ndarray,
                 signed: np.ndarray | SignedDiff, t: float, least: float,
                 real: np.ndarray | None = None) -> Blobs:
        """``blobs`` plus weak detections where established tracks are expected.

        Hysteresis in space and time: a small object against a facade of its own colour
        drops under the threshold for a frame or two. Where an established track predicts
        it and no blob lies within the prediction's 3-sigma radius (capped at
        ``recover_radius``), the strongest pixel there counts if its diff reaches
        ``least`` times ``thresh`` (``recover_ratio`` of the threshold; in clutter, the
        persistence threshold, see ``persist_follow``). Its strength is measured against
        ``real`` (default ``thresh``), the threshold that makes blobs: below 1, the track
        is not bridged again before a real blob (:meth:`Tracker.predictions`). At most
        ``recover_max_tracks`` tracks, the longest first; a handful of small windows per
        frame.
        """
        cfg = self.cfg
        idx, px, py, rad = self.tracker.predictions(t)
        if idx.size == 0:
            return blobs
        rad = np.minimum(rad, cfg.recover_radius)
        inside = (px >= 0) & (py >= 0) & (px <= self.size[0] - 1) & (py <= self.size[1] - 1)
        if len(blobs):
            d = np.hypot(px[:, None] - blobs.x[None, :], py[:, None] - blobs.y[None, :])
            inside &= d.min(axis=1) > rad
        want = np.flatnonzero(inside)
        if want.size == 0:
            return blobs
        hits = self.tracker.hits[idx[want]]
        want = want[np.argsort(-hits, kind="stable")[: cfg.recover_max_tracks]]
        sign = self.tracker.contrast_sign(idx[want])
        h, w = diff.shape
        rows: list[tuple[float, ...]] = []
        for k, s in zip(want.tolist(), sign.tolist(), strict=True):
            r = int(np.ceil(rad[k]))
            cx, cy = round(float(px[k])), round(float(py[k]))
            x0, x1 = max(cx - r, 0), min(cx + r + 1, w)
            y0, y1 = max(cy - r, 0), min(cy + r + 1, h)
            if x1 <= x0 or y1 <= y0:
                continue
            ratio = diff[y0:y1, x0:x1].astype(np.float32) / np.maximum(
                thresh[y0:y1, x0:x1].astype(np.float32), 1.0)
            if s:
                # only what differs from the background the way the object did (a dark
                # thing does not turn into a bright rain drop beside it); a cloth shows
                # both sides
                ratio[signed[y0:y1, x0:x1] * s <= 0] = 0.0
            j = int(np.argmax(ratio))
            best = float(ratio.flat[j])
            if best < least:
                continue
            jy, jx = divmod(j, x1 - x0)
            # centroid of the 3x3 around the peak, weighted by the excess over the ratio
            ya, yb = max(jy - 1, 0), min(jy + 2, y1 - y0)
            xa, xb = max(jx - 1, 0), min(jx + 2, x1 - x0)
            wgt = np.maximum(ratio[ya:yb, xa:xb] - 0.5 * least, 0.0)
            yy, xx = np.mgrid[ya:yb, xa:xb]
            tot = float(wgt.sum())
            bx = x0 + float((wgt * xx).sum()) / tot
            by = y0 + float((wgt * yy).sum()) / tot
            area = int((ratio >= least).sum())
            if real is not None:
                best = float(diff[y0 + jy, x0 + jx]) / max(float(real[y0 + jy, x0 + jx]), 1.0)
            rows.append((bx, by, x0 + jx, y0 + jy, 1, 1, area,
                         float(signed[y0 + jy, x0 + jx]), best))
        if not rows:
            return blobs
        a = np.asarray(rows, dtype=np.float64)
        extra = Blobs(x=a[:, 0], y=a[:, 1], x0=a[:, 2].astype(np.int32),
                      y0=a[:, 3].astype(np.int32), w=a[:, 4].astype(np.int32),
                      h=a[:, 5].astype(np.int32), area=a[:, 6].astype(np.int32),
                      contrast=a[:, 7].astype(np.float32), strength=a[:, 8].astype(np.float32))
        return Blobs.concat([blobs, extra])

    def _shadowed(self, tr: Track) -> bool:
        """True when ``tr`` is a piece of an object that an older, still live track follows.

        A big or elongated object (a carton, cloth) can throw off a second blob that is
        tracked for a while beside the main one; judged alone, that piece may pass as a
        fall of its own from the wrong floor, and it ends first. The live track that was
        born earlier and shares most of ``tr``'s frames at the same place decides instead.
        """
        radius = self.cfg.dedup_radius + 2.0 * float(np.sqrt(np.median(tr.area)))
        t_first = float(tr.t[0])
        for rows in self.tracker.histories():
            if len(rows) < len(tr) or rows[0][0] >= t_first:
                continue
            a = np.asarray(rows, dtype=np.float64)
            # where the live track was at tr's times (the two may take turns with the blobs)
            within = (tr.t >= a[0, 0]) & (tr.t <= a[-1, 0])
            if int(within.sum()) < max(3, len(tr) // 2):
                continue
            bx = np.interp(tr.t[within], a[:, 0], a[:, 1])
            by = np.interp(tr.t[within], a[:, 0], a[:, 2])
            d = np.hypot(tr.x[within] - bx, tr.y[within] - by)
            if int((d <= radius).sum()) >= max(3, len(tr) // 2):
                return True
        return False

    def _patchy(self, tr: Track) -> bool:
        """True when ``tr`` was seen in fewer than ``min_hit_ratio`` of its frames (noise
        linked up): its start may be a stray blob, which pieces joined after it carry."""
        return len(tr) < self.cfg.min_hit_ratio * tr.frames_spanned(self.fps)

    def _rejoin(self, tr: Track) -> Track | None:
        """``tr`` joined after the rejected track it continues, if one ended just before it.

        A fast object crossing a window or the tree's edge can be lost for longer than the
        tracker waits; its two halves each fail the physics (the second is "already fast
        when first seen"), the whole passes. The earlier half must end at most
        ``rejoin_gap_s`` before ``tr`` starts, and its quadratic extrapolation must meet
        ``tr``'s first point within ``rejoin_radius`` work px (plus growth with the gap).

        With ``rejoin_chain`` the earlier track may itself be pieces joined before (see
        ``_judge``), the join allows for a swing (``_follows``' straight line, and a slack
        of twice the blob's size) and patchy pieces (``_patchy``) are left out; the earlier
        track is used up by the join: joined, the pieces go on as one. For a large thing
        (``steady_large_min_m``) the earlier track may also end up to ``rejoin_overlap_s``
        after ``tr`` starts (it must start before it); ``tr`` goes on alone where they
        overlap.
        """
        t_start = float(tr.t[0])
        self._rejected_tracks = _recent(self._rejected_tracks, t_start, 100)
        if not self.cfg.rejoin_chain:
            old = self._follows(tr, self._rejected_tracks)
            return None if old is None else _concat(old, tr, old.id)
        # (``_follows`` would skip the others for their time). Only a large thing is
        # followed in overlapping pieces: small ones joined so were a speck at the top
        # edge and noise (1001503_0029, 1001501_0027)
        large = self._size_m(tr) >= self.cfg.steady_large_min_m
        overlap = self.cfg.rejoin_overlap_s if large else 0.0
        clean = [e for e in self._rejected_tracks
                 if -overlap < t_start - e.t_end <= self.cfg.rejoin_gap_s
                 and e.track.t[0] < t_start and not self._patchy(e.track)]
        old = self._follows(tr, clean, _swing_slack(tr), overlap_s=overlap, swinging=True)
        if old is None:
            return None
        self._rejected_tracks = [e for e in self._rejected_tracks if e.track is not old]
        # where the two overlap (a cloth's pieces, each a track), ``tr`` goes on alone
        return _concat(_window(old, 0, int(np.searchsorted(old.t, t_start))), tr, old.id)

    def _size_m(self, tr: Track) -> float:
        """``tr``'s size on the wall (m, see ``Geometry.size_m``; 0 without a
        calibration)."""
        if self.geom.calibration is None:
            return 0.0
        return self.geom.size_m(tr, self.geom.track_gravity_px(tr, self._g0))

    def _follows(self, tr: Track, ended: list[Ended], slack: float = 0.0,
                 overlap_s: float = 0.0, swinging: bool = False, head: int = 1) -> Track | None:
        """The track of ``ended`` (see ``_extrapolation``) that ``tr`` continues, or None.

        It must end at most ``rejoin_gap_s`` before ``tr`` starts, and its extrapolation
        meet ``tr``'s first point within ``rejoin_radius`` work px (plus growth with the
        gap, plus ``slack``); the closest wins. With ``overlap_s``, ``tr`` may also start
        up to that long before the other track ended (a second blob on the same object).
        With ``swinging``, a straight line through its last second, or its last point, may
        meet it instead: the quadratic through a swinging cloth's last points flies off with
        the swing, and at the turn of the swing the line does too.
        With ``head`` > 1, any of ``tr``'s first ``head`` points may be the one that meets
        it (each held to the same bounds by its own time): a stray blob near a fragmented
        object may have started ``tr``."""
        cfg = self.cfg
        th, xh, yh = tr.t[:head], tr.x[:head], tr.y[:head]
        best: tuple[float, Track] | None = None
        for t_end, cx, cy, old, line in ended:
            gaps = th - t_end
            ok = (gaps > -overlap_s) & (gaps <= cfg.rejoin_gap_s)
            if not ok.any():
                continue
            gaps, px, py = gaps[ok], xh[ok], yh[ok]
            dist = np.hypot(np.polyval(cx, gaps) - px, np.polyval(cy, gaps) - py)
            if swinging and line is not None:
                lx, ly = line
                dist = np.minimum(dist, np.hypot(np.polyval(lx, gaps) - px,
                                                 np.polyval(ly, gaps) - py))
            if swinging:
                # at the turn of its swing a cloth's extrapolations fly off either way,
                # and it is next seen near where it was last
                dist = np.minimum(dist, np.hypot(float(old.x[-1]) - px, float(old.y[-1]) - py))
            reach = cfg.rejoin_radius * (1.0 + 4.0 * np.maximum(gaps, 0.0)) + slack
            met = dist <= reach
            if met.any():
                d = float(dist[met].min())
                if best is None or d < best[0]:
                    best = (d, old)
        return None if best is None else best[1]

    @staticmethod
    def _extrapolation(tr: Track) -> Ended:
        """``tr`` with its end extrapolations (see ``Ended``), fitted once."""
        t_end = float(tr.t[-1])
        line = None
        last = tr.t >= t_end - 1.0
        tl = tr.t[last] - t_end
        # a line needs two times (a track may have been unseen for most of its last second)
        if len(tr) >= 6 and float(np.ptp(tl)) > 0.0:
            line = np.polyfit(tl, tr.x[last], 1), np.polyfit(tl, tr.y[last], 1)
        return Ended(t_end, *_end_fit(tr, 12), tr, line)

    def _trimmed(self, tr: Track) -> tuple[Track, Verdict, str] | None:
        """A window of the rejected ``tr`` that passes the physics (with its verdict and
        which points it holds), or None.

        Cuts of half and all of ``trim_max_frac`` of the points are tried off the end, off
        the start and off both ends (in that order; the shorter cuts first). The tracker
        hands a falling object's blob over to a neighbour (a sill, a leaf, a lit window)
        or picks the object up late with a few foreign points before it, and those points
        fail the whole track. Only tracks of at least twice ``min_points`` are tried: each
        try is one more ``judge``. A window is a weaker witness than a whole track (a
        leaf's steady descent has stretches that look like a fall), so the caller offers
        it to the learned classifier only.
        """
        cfg = self.cfg
        n = len(tr)
        if cfg.trim_max_frac <= 0.0 or n < 2 * cfg.min_points:
            return None
        tried: set[tuple[int, int]] = set()
        for frac in (0.5 * cfg.trim_max_frac, cfg.trim_max_frac):
            k = round(n * frac)
            if k < 1:
                continue
            for a, b in ((0, n - k), (k, n), (k // 2, n - (k - k // 2))):
                # a cut of one point off "both ends" is the cut off the end again
                if b - a < cfg.min_points or (a, b) in tried:
                    continue
                tried.add((a, b))
                window = _window(tr, a, b)
                v = self._verdict(window, cfg)
                if v.accepted:
                    return window, v, f"{a}:{b} of {n}"
        return None

    def _remember_rejected(self, tr: Track, piece: Track | None = None) -> None:
        """Keep a rejected track (with its end extrapolation) for ``_rejoin``; when it
        (or ``piece``, the last of the pieces joined in it) continues an emitted event,
        the event goes on through it."""
        if len(tr) >= 4:
            ext = self._extrapolation(tr)
            self._rejected_tracks.append(ext)  # _rejoin trims it
            # a cloth lost and found again several times: each piece carries the event on
            # (else the piece after a refused one passed as a second event of the same fall)
            if self._goes_on_from_event(tr, piece):
                self._emitted.append(ext)

    def _continues_event(self, tr: Track) -> bool:
        """True when ``tr`` continues the track of an emitted event (or of a piece that
        carried one on). A big object (a cloth) swings, and its blob's centre with it: the
        radius grows with the blob's size, as for duplicates."""
        return self._follows(tr, self._emitted, _swing_slack(tr), overlap_s=0.5,
                             swinging=True, head=CONTINUE_HEAD) is not None

    def _goes_on_from_event(self, tr: Track, piece: Track | None) -> bool:
        """``_continues_event`` for ``tr`` or for ``piece``, the last of the pieces joined
        in it: a joined track starts where its first piece did, and its last piece may be
        the one that goes on from an event."""
        return self._continues_event(tr) or (
            piece is not None and piece is not tr and self._continues_event(piece))

    def _describe(self, tr: Track, v: Verdict) -> None:
        """Fill ``tr.meta``: what a classifier needs to know beside the track itself."""
        g_px = self.geom.track_gravity_px(tr, self._g0)
        calibrated = v.accel_units == "m/s^2"
        accel_g = v.accel / 9.81 if calibrated else v.accel / max(g_px * self.geom.scale, 1e-6)
        tr.meta = {
            "g_px": g_px,
            "fps": self.fps,
            "calibrated": float(calibrated),
            "physics_score": float(v.score),
            "accel_g": float(np.clip(accel_g, -5.0, 5.0)),
            "fall_m": float(np.log1p(max(v.fall_m or 0.0, 0.0))),
            "fall_h": float(v.fall_px / self.height),
            "residual": float(np.log1p(max(v.residual, 0.0))),
            "inlier_frac": float(np.mean(v.inliers)) if v.inliers.size else 0.0,
            "left_frame": float(tr.left_frame),
        }

    def _before_gap(self, tr: Track) -> Track | None:
        """The part of ``tr`` before it was lost and taken up again late in its life, or
        None.

        Unseen for ``reacquire_misses`` frames and more, a track's gate has grown wide: in
        rain, a faint object lost for a third of a second is taken up by a drop tens of
        pixels off, and then by drops further on (seen: a can and three cloths whose last
        two or three points were drops 37-45 work px off where the object was heading;
        fitted through them, a 4 m fall read as 14 m up). The points before the earliest
        such gap in the last third of the track (``gap_tail_share``) are judged alone, if
        the first point after it is more than ``gap_foreign_px`` (or twice the blob's
        size) off where they were heading: a track that goes on where it was heading is
        one thing throughout, and a part of it is no fall that the whole is not (a speck
        near the top edge of a hard development scene, 2 px from its heading, passed so).
        """
        share = self.cfg.gap_tail_share
        n = len(tr)
        if share <= 0 or n < 2 * self.cfg.min_points:
            return None
        gaps = np.flatnonzero(np.diff(tr.t) * self.fps > self.cfg.reacquire_misses + 0.5) + 1
        gaps = gaps[(gaps >= max(self.cfg.min_points, (1.0 - share) * n)) & (gaps < n)]
        if gaps.size == 0:
            return None
        cut = int(gaps[0])
        head = _window(tr, 0, cut)
        cx, cy = _end_fit(head, 10)  # where it was heading
        dt = float(tr.t[cut] - head.t[-1])
        off = float(np.hypot(np.polyval(cx, dt) - tr.x[cut], np.polyval(cy, dt) - tr.y[cut]))
        size = float(np.sqrt(np.median(head.area[-10:])))
        if off <= max(self.cfg.gap_foreign_px, 2.0 * size):
            return None
        return head

    def _reject(self, tr: Track, reason: str) -> None:
        log.debug("track %d (%d points from %.2f s) rejected: %s", tr.id, len(tr), tr.t[0], reason)
        self.rejected.append((tr.id, reason))
        del self.rejected[:-200]

    def _event(self, tr: Track, v: Verdict, score: float, cls_score: float | None,
               faint: int = 0) -> Event:
        """The event of the accepted track ``tr`` (its inliers; the first ``faint`` of its
        points were found by looking back)."""
        keep = v.inliers
        traj = np.stack([tr.t[keep], self.geom.to_input(tr.x[keep]),
                         self.geom.to_input(tr.y[keep])], axis=1)
        start, end = float(traj[0, 0]), float(traj[-1, 0])
        return Event(
            id=f"{start:.2f}-{tr.id}",
            start_s=start,
            end_s=end,
            score=float(np.clip(score, 0.0, 1.0)),
            trajectory=traj,
            origin=Origin(v.origin_t, v.origin_x, v.origin_y, v.floor),
            accel=v.accel,
            accel_units=v.accel_units,
            fall_px=v.fall_px,
            fall_m=v.fall_m,
            n_points=int(keep.sum()),
            physics_score=v.score,
            classifier_score=cls_score,
            faint_points=int(keep[:faint].sum()),
        )

    def _seen_before(self, before: Track) -> bool:
        """True when points found by looking back lie on an event already emitted: the
        track picks up an object that an earlier track followed (and lost), not the
        faint start of a fall of its own."""
        radius = (self.cfg.dedup_radius + 2.0 * float(np.sqrt(np.median(before.area)))) \
            * self.geom.scale
        t_tol = 1.5 / self.fps
        x, y = self.geom.to_input(before.x), self.geom.to_input(before.y)
        return any(_near_in_time(before.t, x, y, old.trajectory, radius, t_tol).any()
                   for old in self._recent)

    def _duplicate(self, ev: Event, size: float) -> bool:
        """True when most of ``ev`` retraces an event already emitted, and the two have
        not parted by the end of the time they share; or when the two were on one blob
        in ``SAME_BLOB_POINTS`` frames in a row, parted or not."""
        # a big object (cloth, a bag) breaks into several blobs, each tracked: the radius
        # grows with the blob size (``size``: work px, the root of its area)
        radius = (self.cfg.dedup_radius + 2.0 * size) * self.geom.scale
        t_tol = 2.5 / self.fps  # a trailing ghost of the same object lags a frame or two
        # the same blob: in the same frame, within the object's size
        same_r = (1.0 + size) * self.geom.scale
        a = ev.trajectory
        for old in self._recent:
            if old.end_s < ev.start_s or old.start_s > ev.end_s:
                continue
            b = old.trajectory
            same = _near_in_time(a[:, 0], a[:, 1], a[:, 2], b, same_r, 0.5 / self.fps)
            if _longest_run(same) >= SAME_BLOB_POINTS:
                # two tracks on one blob for that long are one object: where they part,
                # one of them strayed (a bag's two tracks, the earlier one jumping to
                # where the other was not, 1001801_0019)
                return True
            near = _near_in_time(a[:, 0], a[:, 1], a[:, 2], b, radius, t_tol)
            during = (a[:, 0] >= b[0, 0] - t_tol) & (a[:, 0] <= b[-1, 0] + t_tol)
            last = near[during][-PARTED_POINTS:]
            if last.size == PARTED_POINTS and last.all() and old.end_s < ev.end_s:
                # a second track on the same object (picked up on a stray blob beside
                # it) that goes on from where the other was last seen: however little of
                # their time they shared, they are one object
                return True
            if int(near.sum()) < max(3, min(a.shape[0], b.shape[0]) // 2):
                continue
            # two objects thrown one after the other from neighbouring windows share the
            # start of their paths (a bright one's radius is wide) and then go apart: the
            # last points of ``ev`` while both were seen are all far from the other
            if last.size == PARTED_POINTS and not last.any():
                continue
            return True
        return False
