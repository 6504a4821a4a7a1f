"""Every tunable of the detector, with bounds, in one pydantic model.

A camera file's ``detector:`` block is validated against this model, so a typo in a
key is an error that names it.

Units: times in seconds (so the same settings suit 15 and 30 fps); "work px" are pixels
of the working image (the input shrunk by ``downscale``); lengths that depend on the
scene geometry rather than on the object are in image heights (``H``) so that one set of
values suits 720p and 4K alike; physical quantities (used when the camera has a facade
calibration) are in metres and seconds.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DetectorConfig(BaseModel):
    """Tunables of the detection pipeline. Defaults suit 720p-4K at 15-30 fps."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # ---- working resolution -------------------------------------------------------------
    downscale: int = Field(
        default=2,
        ge=1,
        le=4,
        description="Shrink factor (INTER_AREA) from the input to the working image.",
    )

    # ---- background and foreground ------------------------------------------------------
    background_tau_s: float = Field(
        default=0.8,
        ge=0.05,
        le=60.0,
        description="Time constant of the running-average background.",
    )
    foreground_learn_rate: float = Field(
        default=0.35,
        ge=0.0,
        le=1.0,
        description="The background learns this frame's foreground pixels at this fraction "
        "of its rate (1: like any other pixel), so that an object pausing for a moment "
        "leaves no ghost behind.",
    )
    reseed_keep_k: float = Field(
        default=3.0,
        ge=0.0,
        le=100.0,
        description="An encoder key frame that overloads a still picture re-seeds the "
        "background from that frame, except where it differs from the background by more "
        "than this many times the threshold: a moving object there stays out of the new "
        "background, and its track is not drawn onto the ghost it would leave (3 is "
        "measured to find more objects). 0 re-seeds every pixel.",
    )
    noise_tau_s: float = Field(
        default=3.0,
        ge=0.1,
        le=120.0,
        description="Time constant of the per-pixel running mean of |frame - background|.",
    )
    noise_update_every: int = Field(
        default=2, ge=1, le=16, description="Update the per-pixel noise map every this many frames."
    )
    highpass_block: int = Field(
        default=24,
        ge=0,
        le=256,
        description="Block size (work px) of the smooth illumination change removed from the "
        "difference image; 0 disables the high-pass.",
    )
    threshold_k: float = Field(
        default=4.5,
        ge=1.0,
        le=30.0,
        description="A pixel is foreground when |diff| > threshold_k * its mean noise "
        "+ threshold_min.",
    )
    threshold_min: float = Field(
        default=2.0, ge=0.0, le=100.0, description="Floor of the foreground threshold, grey levels."
    )
    noise_init: float = Field(
        default=2.0,
        ge=0.1,
        le=50.0,
        description="Initial per-pixel mean |diff| before it is learned.",
    )
    shake_radius: int = Field(
        default=0,
        ge=0,
        le=3,
        description="The frame is compared with the min/max of the background over this radius "
        "(work px), so camera shake of that size makes no foreground.",
    )
    stabilise_min_px: float = Field(
        default=0.3,
        ge=0.0,
        le=10.0,
        description="Camera shake: when the picture has moved against the background by at "
        "least this much (work px, median optical flow of corners of the background), "
        "each frame is aligned to the background by that shift for stabilise_hold_s; "
        "0 disables the stabiliser.",
    )
    stabilise_check_s: float = Field(
        default=1.0,
        ge=0.01,
        le=60.0,
        description="While the camera holds still, how often the stabiliser looks for shake.",
    )
    stabilise_hold_s: float = Field(
        default=3.0,
        ge=0.0,
        le=600.0,
        description="The stabiliser keeps aligning frames this long after the last shift of "
        "stabilise_min_px or more.",
    )
    warmup_s: float = Field(
        default=0.5,
        ge=0.0,
        le=30.0,
        description="No blobs during the first seconds while background and noise settle.",
    )

    # ---- blobs and the global-change guard ----------------------------------------------
    min_blob_area: int = Field(default=1, ge=1, le=1000, description="Smallest blob kept, work px.")
    max_blob_area: int = Field(
        default=2500,
        ge=4,
        le=1_000_000,
        description="Largest blob kept, work px (bigger = not a small object).",
    )
    merge_radius: int = Field(
        default=1,
        ge=0,
        le=5,
        description="Foreground pieces closer than this (work px) form one blob.",
    )
    shake_shift_px: float = Field(
        default=0.25,
        ge=0.0,
        le=10.0,
        description="An overloaded frame whose picture moved against the background by more "
        "than this (work px, beyond shake_radius; the corners' flow, or phase correlation "
        "where there are no corners) is a camera shake: the guard re-seeds and goes blind; "
        "below it the overload is clutter or a key frame.",
    )
    streak_min_len: float = Field(
        default=12.0,
        ge=0.0,
        le=1000.0,
        description="Foreground regions at least this long (work px) and on average at most "
        "streak_max_width wide are streaks (rain drops near the lens, a flickering edge) and "
        "are dropped before they are counted or tracked; 0 keeps them.",
    )
    streak_max_width: float = Field(
        default=2.0, ge=0.5, le=10.0, description="See streak_min_len (work px)."
    )
    target_blobs: int = Field(
        default=60,
        ge=1,
        le=10_000,
        description="More regions than this per frame raise the threshold multiplier a little "
        "each frame (clutter control); far fewer lower it again.",
    )
    merge_gap_frac: float = Field(
        default=1.0,
        ge=0.0,
        le=5.0,
        description="Pieces of one large faint object (a cloth, a bag) that the threshold "
        "cut apart join it: a blob at least merge_min_side work px wide or tall takes in the "
        "smaller, faint (at most twice their threshold) blobs of its sign whose boxes lie "
        "within this share of its longer side. Without it the tracker hops between the "
        "pieces and the track fails as erratic or breaks up. Not while it rains (see "
        "rain_streaks): streaks beside an object would join it; not without a facade "
        "calibration: a car's pieces under trees, joined, passed as a fall. On a "
        "development pair (1001201/1001202, physics alone) 0.5, 1 and 1.5 found 56, 60 and "
        "58 of 76 objects against 53 without; false alarms on those scenes and 30 "
        "distractor minutes: 1 at 0.5 and at 1, 3 without. 0 turns it off.",
    )
    merge_min_side: int = Field(
        default=6, ge=2, le=200, description="See merge_gap_frac (work px)."
    )
    persist_scale: float = Field(
        default=1.5,
        ge=0.0,
        le=20.0,
        description="While clutter (rain, noise) holds the threshold multiplier above this, "
        "a pixel over this multiple of its noise threshold is foreground too if the frame "
        "before had one within a pixel of it: a rain drop or a noise speck is somewhere "
        "else a frame later, a thing let go moves a pixel or two. Only with a facade "
        "calibration: without one, trees and traffic in the real footage "
        "bgslibrary_video03_trees_traffic.avi gave two false alarms. 0 turns it off. On the "
        "rain-only development pair (1001511/1001512, physics alone, persist_follow off) "
        "1.25, 1.5 and 2 found 34, 33 and 30 of 59 objects against 31 without; false alarms "
        "in their 20 min 10, 7 and 9 against 10.",
    )
    persist_follow: bool = Field(
        default=True,
        description="While persistence is at work (persist_scale), an established track "
        "with no blob near its prediction takes the strongest pixel there over the "
        "persistence threshold and of the sign the track's last detections had (unless "
        "they had both, as a cloth does), one frame at a time (as recover_ratio does in any "
        "weather): a falling thing soon moves too fast to persist. On the rain-only "
        "development pair (1001511/1001512, physics alone) persistence alone found 33 of 59 "
        "objects against 31 without it, and with this 36; false alarms in their 20 min: 10 "
        "without, 7 and 7 (without the sign: 39 objects, 9 false alarms).",
    )
    max_thresh_scale: float = Field(
        default=4.0, ge=1.0, le=20.0, description="Largest clutter multiplier of the threshold."
    )
    max_blobs: int = Field(
        default=250,
        ge=8,
        le=10_000,
        description="More foreground regions than this in one frame trips the global-change guard.",
    )
    guard_fraction: float = Field(
        default=0.03,
        ge=0.0005,
        le=0.9,
        description="A foreground fraction of the working image above this trips the guard.",
    )
    guard_blind_s: float = Field(
        default=0.15,
        ge=0.0,
        le=5.0,
        description="After the guard trips (background re-seeded), blobs are ignored this long.",
    )
    max_blind_s: float = Field(
        default=1.0,
        ge=0.0,
        le=10.0,
        description="Tracks coast through guard-blind frames up to this long without "
        "counting misses.",
    )

    # ---- tracking ------------------------------------------------------------------------
    max_speed_hps: float = Field(
        default=3.0,
        ge=0.1,
        le=50.0,
        description="Fastest image speed of a tracked object, image heights/s.",
    )
    measurement_sigma: float = Field(
        default=0.6, ge=0.05, le=20.0, description="Std. dev. of a blob centroid, work px."
    )
    jerk_sigma_hps3: float = Field(
        default=1.0,
        ge=0.0,
        le=100.0,
        description="Process noise: std. dev. of the change of acceleration, image heights/s^3.",
    )
    gravity_prior_hps2: float = Field(
        default=0.1,
        ge=0.0,
        le=5.0,
        description="Prior mean of a new track's downward acceleration without calibration, H/s^2.",
    )
    accel_sigma_hps2: float = Field(
        default=0.15,
        ge=0.0,
        le=5.0,
        description="Prior std. dev. of a new track's acceleration (each axis), H/s^2.",
    )
    gate_chi2: float = Field(
        default=16.0,
        ge=1.0,
        le=200.0,
        description="Mahalanobis gate (chi-square, 2 dof) for blob-to-track.",
    )
    gate_min_px: float = Field(
        default=2.0,
        ge=0.0,
        le=100.0,
        description="The gate is never smaller than this radius, work px.",
    )
    recover_ratio: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Hysteresis: an established track with no blob near its prediction takes "
        "the strongest pixel there whose diff exceeds this share of the threshold, for one "
        "frame after a real blob (0 = off; 0.7 tried); a small object fading against the "
        "facade keeps its track. Off by default: on generated scenes it found 4 more of 72 "
        "objects but raised 5 more false alarms in 30 min, mostly leaves, and cut short a "
        "can's track in the day sample.",
    )
    recover_radius: float = Field(
        default=4.0,
        ge=0.5,
        le=50.0,
        description="Hysteresis: the search radius around a prediction never exceeds this, "
        "work px.",
    )
    recover_max_tracks: int = Field(
        default=16, ge=0, le=1000, description="Hysteresis: tracks searched per frame, at most."
    )
    confirm_hits: int = Field(
        default=4, ge=2, le=50, description="Detections before a track counts as established."
    )
    max_missed_s: float = Field(
        default=0.35,
        ge=0.0,
        le=5.0,
        description="An established track ends after this long unseen.",
    )
    reacquire_misses: int = Field(
        default=3,
        ge=1,
        le=1000,
        description="A track unseen for this many frames in a row takes back only a blob of "
        "at least ``reacquire_strength``: its gate has grown wide by then, and a one-pixel "
        "speck of noise in it would bend the track away from the object.",
    )
    reacquire_strength: float = Field(
        default=1.5,
        ge=1.0,
        le=100.0,
        description="Least blob strength (peak diff / threshold) a track takes after "
        "``reacquire_misses`` missed frames.",
    )
    max_track_s: float = Field(
        default=12.0, ge=1.0, le=600.0, description="Tracks older than this are judged and ended."
    )
    max_tracks: int = Field(default=400, ge=10, le=100_000, description="Cap on live tracks.")
    edge_margin_px: float = Field(
        default=2.0,
        ge=0.0,
        le=100.0,
        description="A track whose prediction leaves the picture by this much ends at "
        "once, work px.",
    )

    # ---- trajectory physics ----------------------------------------------------------------
    min_points: int = Field(
        default=6, ge=3, le=200, description="Fewest detections in a judged track."
    )
    min_hit_ratio: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="A judged track is detected in at least this share of the frames it spans; "
        "noise specks linked across gaps fail. A faint object (at night, in rain) shows in "
        "about every other frame: at 0.6 sixteen of the misses of six generated object sets "
        "were refused here, ten of them seen in 0.5-0.6 of their frames.",
    )
    steady_max_rms_px: float = Field(
        default=0.6,
        ge=0.0,
        le=20.0,
        description="In rain (see rain_streaks), an accepted track that a body moving at a "
        "constant velocity in 3-D explains to within this RMS (work px), and at most "
        "steady_max_ratio of a quadratic's, is a drop near the lens: it seems to speed up "
        "only because it comes closer (on generated scenes: drops 0.16-0.35 px, 0.04-0.11 "
        "of the quadratic's; of about 100 falls found, none 1.7 px or less at 0.4 or less "
        "of it); 0 turns the test off.",
    )
    steady_max_ratio: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="See steady_max_rms_px: a track that a quadratic fits about as well is too "
        "short or too straight to tell.",
    )
    steady_min_points: int = Field(
        default=12, ge=6, le=200, description="Fewest points for the steady-velocity test."
    )
    rain_burst: int = Field(
        default=4,
        ge=0,
        le=1000,
        description="In rain (see rain_streaks), a track that passes the physics while this "
        "many others passed in the last rain_burst_s is taken for a drop: in a downpour "
        "drops linked up by the tracker pass as falls by the dozen a second, where real "
        "throws come one or a few at a time; 0 turns the test off.",
    )
    rain_burst_s: float = Field(
        default=5.0, ge=0.1, le=60.0, description="See rain_burst (s)."
    )
    rain_streaks: float = Field(
        default=2.0,
        ge=0.0,
        le=1000.0,
        description="It is raining while the thin streaks dropped per frame (see "
        "streak_min_len), averaged over the last second, reach this many, and for "
        "rain_hold_s after.",
    )
    rain_hold_s: float = Field(
        default=10.0,
        ge=0.0,
        le=3600.0,
        description="Rain does not stop in a second: it is still raining this long after the "
        "streaks last reached rain_streaks. In light rain they hover around it (1.8-3 a frame "
        "over 30 s of 1001512_0011), and the drops passing while the count dipped were not "
        "held to the tests for drops: three of the six false alarms there went with the hold.",
    )
    min_hit_ratio_uncalibrated: float = Field(
        default=0.8,
        ge=0.0,
        le=1.0,
        description="min_hit_ratio without a facade calibration, where fewer physical tests "
        "apply: glints flickering on cars coming down a road fail.",
    )
    min_hit_ratio_tiny: float = Field(
        default=0.6,
        ge=0.0,
        le=1.0,
        description="min_hit_ratio for a track whose blobs are at most 2 work px (median): "
        "specks of noise, a leaf's or a still speck's, linked across gaps. At 0.5 such tracks "
        "made four false alarms more on six generated 30-minute distractor sets.",
    )
    min_points_tiny: int = Field(
        default=12,
        ge=3,
        le=500,
        description="Fewest detections of a track whose blobs are at most 2 work px.",
    )
    min_duration_s: float = Field(
        default=0.5,
        ge=0.0,
        le=10.0,
        description="Shortest judged track, s (a rain streak crosses the picture in a third "
        "of a second; no object found in the development sets was followed for less than "
        "0.6 s).",
    )
    max_residual: float = Field(
        default=1.0,
        ge=0.05,
        le=50.0,
        description="Largest robust RMS residual of the fit, work px.",
    )
    residual_size_frac: float = Field(
        default=0.15,
        ge=0.0,
        le=5.0,
        description="The residual tolerance grows by this fraction of the blob's mean size.",
    )
    max_outlier_frac: float = Field(
        default=0.25,
        ge=0.0,
        le=0.9,
        description="Largest share of track points the robust fit may reject.",
    )
    min_fall_hps: float = Field(
        default=0.08,
        ge=0.0,
        le=1.0,
        description="Without calibration: least downward travel, image heights.",
    )
    max_horizontal_ratio: float = Field(
        default=1.2, ge=0.0, le=100.0, description="Largest |horizontal| / |downward| travel."
    )
    max_horizontal_ratio_px: float = Field(
        default=0.5,
        ge=0.0,
        le=100.0,
        description="Without calibration: largest |horizontal| / |downward| image travel.",
    )
    max_growth: float = Field(
        default=8.0,
        ge=1.0,
        le=1000.0,
        description="Largest growth of the blob area from the start to the end of a track "
        "(a car coming down a road toward the camera grows much more).",
    )
    min_accel_sigma: float = Field(
        default=3.0,
        ge=0.0,
        le=100.0,
        description="Downward acceleration must exceed this many standard errors of its estimate.",
    )
    min_accel_hps2: float = Field(
        default=0.02,
        ge=0.0,
        le=10.0,
        description="Without calibration: least downward acceleration, H/s^2.",
    )
    max_accel_hps2: float = Field(
        default=1.5,
        ge=0.01,
        le=50.0,
        description="Without calibration: largest downward acceleration, H/s^2.",
    )
    min_accel_ms2: float = Field(
        default=2.5,
        ge=0.0,
        le=50.0,
        description="With calibration: least downward acceleration, m/s^2.",
    )
    max_accel_ms2: float = Field(
        default=16.0,
        ge=1.0,
        le=100.0,
        description="With calibration: largest downward acceleration, m/s^2.",
    )
    min_fall_m: float = Field(
        default=3.0,
        ge=0.0,
        le=100.0,
        description="With calibration: least drop along the wall, m. A throw is seen falling for "
        "metres; insects, specks of noise and fragments picked up for half a second are not "
        "(at 1.0, 15 of 24 false alarms in 30 min of distractors fell less than 3 m).",
    )
    steady_min_s: float = Field(
        default=2.0,
        ge=0.0,
        le=60.0,
        description="With calibration: a track followed this long that falls steadily (see "
        "steady_min_fall_m, steady_min_speed_ms) passes without a measurable acceleration: "
        "a carton, a bag or a cloth at its terminal speed no longer speeds up, and a fit of "
        "seconds of it finds next to none. 0 turns this off.",
    )
    steady_min_fall_m: float = Field(
        default=5.0,
        ge=0.0,
        le=500.0,
        description="A steady fall (steady_min_s) drops at least this far along the wall, m.",
    )
    steady_min_speed_ms: float = Field(
        default=6.0,
        ge=0.0,
        le=100.0,
        description="A steady fall (steady_min_s) keeps at least this mean downward speed on "
        "the wall (m/s), going down in at least steady_min_monotone of its steps. Leaves "
        "settle at 1-2 m/s, but one in front of the wall is mapped faster: at 3.0, two "
        "leaves at 5.6 and 6.3 m/s passed in 30 min of development distractors; cartons at "
        "their terminal speed fell at 10-11.",
    )
    steady_min_fall_hps: float = Field(
        default=0.15,
        ge=0.0,
        le=1.0,
        description="A steady fall (steady_min_s) crosses at least this share of the picture's "
        "height: near the top edge a few pixels map to metres of wall (a leaf there moved "
        "20 px of 1080 and read as 15 m).",
    )
    steady_max_side_ratio: float = Field(
        default=0.4,
        ge=0.0,
        le=100.0,
        description="A steady fall (steady_min_s) drifts sideways along the wall at most this "
        "share of its drop (a carton at its terminal speed: 0.03-0.05; a leaf wandering "
        "along the top of the picture for 12 s: 0.57).",
    )
    max_swing_m: float = Field(
        default=1.2,
        ge=0.0,
        le=100.0,
        description="A track followed for swing_min_s or longer swings sideways along the "
        "wall by at most this RMS (m) about a smooth (quadratic) drift: a leaf flutters, a "
        "thrown thing drifts with the wind; 0 disables the test. On the used sets, "
        "accepted cloths swung 0.4-0.85 m and everything else at most 0.25; two leaves "
        "accepted as falls swung 1.6 and 2.9 m.",
    )
    max_swing_sizes: float = Field(
        default=2.9,
        ge=0.0,
        le=100.0,
        description="A track followed for swing_min_s or longer that swings sideways along "
        "the wall (RMS about a quadratic drift, as max_swing_m) by more than "
        "min_flutter_swing_m and more than this many times its own size on the wall is a "
        "leaf fluttering: a leaf swings many times its size, a falling cloth about its own "
        "(a cloth's swing and size are projected onto the wall alike, however far in front "
        "of it). 0 disables the test. On the development sets the accepted cloths swung at "
        "most 2.71 times their measured size and every other thrown thing at most 1.3 (a "
        "bag); at 2.9 it removed four false alarms there (leaves swinging 3.0-5.7 times "
        "their size) and six of the hard set's, and no object.",
    )
    min_flutter_swing_m: float = Field(
        default=0.3,
        ge=0.0,
        le=100.0,
        description="See max_swing_sizes: a swing this small (RMS, m) is never taken for a "
        "leaf's flutter, however small the track (a cigarette's centroid noise near the top "
        "of the picture).",
    )
    swing_min_s: float = Field(
        default=1.0,
        ge=0.0,
        le=60.0,
        description="The swing test (max_swing_m) judges tracks followed at least this long "
        "(s). Judging only those of steady_min_s (2 s), it let a leaf under infrared that "
        "swung 1.5 m twice in 1.8 s pass as a fall (with a trial illumination change); from "
        "1 s, the development sets lost one false alarm (a leaf in day rain) and no object.",
    )
    steady_large_speed_ms: float = Field(
        default=4.0,
        ge=0.0,
        le=100.0,
        description="A steady fall of a large object (steady_large_min_m across on the wall) "
        "needs only this mean downward speed, m/s, instead of steady_min_speed_ms: a cloth "
        "settles at 3.5-6 m/s, a leaf or a scrap of paper is small. Leaves nearer the camera "
        "than the wall are mapped both faster and bigger, so both tests stay: on the "
        "development sets (120 scenes with objects, 90 min of distractors) 4.0 with 0.3 m let "
        "two cloths through and no leaf; at 3.5 three leaves passed.",
    )
    steady_large_min_m: float = Field(
        default=0.3,
        ge=0.0,
        le=10.0,
        description="Size on the wall (square root of the blob's median area) from which a "
        "steady fall counts as a large object's (steady_large_speed_ms), m.",
    )
    steady_slow_speed_ms: float = Field(
        default=3.0,
        ge=0.0,
        le=100.0,
        description="A steady fall of a large object (steady_large_min_m) that swings along "
        "the wall by at most steady_slow_max_swing_m needs only this mean downward speed, "
        "m/s. A cloth blown out towards the camera is mapped onto the wall slower than it "
        "falls (3.2-3.9 m/s, swinging 0.5-0.8 m RMS); a leaf nearer the camera than the wall "
        "is mapped both larger and faster, and swings wider with it: the leaves at 3.6-3.9 "
        "m/s that 3.0 for every large object let through on the development sets swung "
        "0.85-1.08 m (1001602_0055, 1001602_0030, 1001702_0000, 1001702_0015).",
    )
    steady_slow_max_swing_m: float = Field(
        default=0.8,
        ge=0.0,
        le=100.0,
        description="See steady_slow_speed_ms: the most a large object falling slower than "
        "steady_large_speed_ms may swing from side to side along the wall (RMS about a "
        "quadratic drift, as max_swing_m), m. At 0.9 a leaf swinging 0.85 m passed "
        "(1001602_0055); the two cloths found swung 0.48 and 0.76-0.79 m.",
    )
    steady_max_speed_ms: float = Field(
        default=25.0,
        ge=0.0,
        le=100.0,
        description="A steady fall (steady_min_s) is at most this fast on the wall, m/s. A "
        "carton from the 28th floor crossed 0.8 of the picture at a steady 18 m/s "
        "(1001701_0013), beyond max_entry_speed_ms (15), which bounded it before; rain near "
        "the lens maps onto the wall at 30-40 m/s, and in rain the steady-velocity test for "
        "drops judges every accepted track as well.",
    )
    steady_end_s: float = Field(
        default=2.0,
        ge=0.1,
        le=10.0,
        description="A steady fall's speed at its end (min_end_speed_ms) is measured over its "
        "last this many seconds: a cloth swings in and out from the wall at 0.4-1.1 Hz, and "
        "over the 0.3 s used for other falls it read 1.0, -0.8 and 0.0 m/s while falling at "
        "4-5.",
    )
    steady_min_monotone: float = Field(
        default=0.75,
        ge=0.0,
        le=1.0,
        description="Share of a steady fall's points that are lower steady_lag_s later (with "
        "steady_lag_s 0: of its steps, 3-point means, that go down). A large "
        "cloth swinging as it falls went down in 0.77 of them (1000701_0029); 0.75 in place "
        "of 0.8 found it and raised no false alarm more on 43 min of distractors.",
    )
    steady_lag_s: float = Field(
        default=1.0,
        ge=0.0,
        le=3.0,
        description="A steady fall goes down over this many seconds (s later it is lower, in "
        "steady_min_monotone of its points) and its acceleration is judged over the whole "
        "track as well as over short windows (either may pass). A cloth swinging in and out "
        "from the wall bobs up and down on the wall plane from frame to frame, and one phase "
        "of its swing read 25 m/s^2 (1000901_0009); a swing later it is lower. 0: the "
        "frame-to-frame test (3-point means) and the short windows alone.",
    )
    steady_speed_ratio: float = Field(
        default=2.0,
        gt=1.0,
        le=10.0,
        description="With steady_lag_s: a steady fall's speed (over steady_lag_s) in the "
        "second half of its track is within this factor of the first half's. A bird that "
        "swooped from 1.9 to 11 m/s and pulled up at the end was no steady fall "
        "(1000703_0020); a bag still gathering speed went from 8.6 to 15 m/s (1001001_0016).",
    )
    min_end_speed_ms: float = Field(
        default=3.5,
        ge=0.0,
        le=50.0,
        description="With calibration: a falling object is at least this fast at its last point "
        "(leaves and flutterers are slower), m/s. A cloth settles at 3.5-6 m/s, a leaf at "
        "1.5-6; at 2.5, leaves made 3 of 9 false alarms in an hour of development "
        "distractors, and 3.5 lost one cloth of 147 objects.",
    )
    still_start_s: float = Field(
        default=0.4,
        ge=0.0,
        le=5.0,
        description="A track that stays within still_radius_m of where it began (on the "
        "wall) for this many seconds and then moves for less than min_duration_s is a still "
        "thing linked to a passing one, not a fall (0: off). On the blind 1001101/1001102 "
        "pair, 2 of 8 false alarms sat still for 0.6-0.9 s, then fell 3-4 m in one to "
        "three points.",
    )
    still_radius_m: float = Field(
        default=0.5,
        gt=0.0,
        le=10.0,
        description="See still_start_s: how far from where it began (m on the wall) a still "
        "thing stays. Released from rest, a body falls 0.5 m in 0.32 s.",
    )
    max_jump_share: float = Field(
        default=0.4,
        gt=0.0,
        le=1.0,
        description="Largest share of a track's extent in the picture that one step may "
        "carry while moving more than 3 times as fast as both steps before it (plus 3 px "
        "and the blob's size): more is a still thing and another linked, not a fall. On "
        "two used development pairs (998001/998002, 999001/999002) this refused 4 of 17 "
        "false alarms (a blob creeping for 1.4 s, then linked 80 px away) and one track "
        "that had matched a cloth by linking it to a flowerpot.",
    )
    slowest_terminal_ms: float = Field(
        default=2.5,
        ge=0.0,
        le=20.0,
        description="With calibration: from the top of its fitted path to its lowest point, "
        "a track falls at least as far as a body with this terminal speed (m/s) falls from "
        "rest in that time. The slowest thrown things (cloths) settle at 3.5-6 m/s. Things "
        "that sink 3-5 m in 1.5-2.5 s while a fit finds a downward acceleration in them made "
        "3 of the 17 false alarms on two used development pairs (998001/998002, "
        "999001/999002: 60 min of distractors, 80 scenes with objects); at 3.0 no object "
        "of 120 scenes was lost. 0 turns this off.",
    )
    max_rise_frac: float = Field(
        default=0.15,
        ge=0.0,
        le=1.0,
        description="Largest climb after the top of the track, as a share of the total fall "
        "(things that go down and come back up are not falling).",
    )
    wall_offset_m: float = Field(
        default=-0.6,
        ge=-5.0,
        le=0.0,
        description="3-D fit: expected distance of a released object in front of the wall, "
        "metres (negative: towards the camera).",
    )
    wall_sigma_m: float = Field(
        default=1.0,
        gt=0.05,
        le=20.0,
        description="3-D fit: how far from wall_offset_m an object is plausibly released, m.",
    )
    balcony_sigma_m: float = Field(
        default=0.3,
        gt=0.05,
        le=5.0,
        description="3-D fit: where the camera file marks balconies (facade.balconies), a "
        "release traced back into one is fitted again with the object at the balcony's rail "
        "(its depth_m in front of the wall, give or take this many metres). From below, the "
        "pixels hardly tell how far out from the wall a fall is; with the general prior "
        "(wall_offset_m) a balcony's release came out about one storey too high.",
    )
    max_wall_distance_m: float = Field(
        default=5.0,
        ge=0.5,
        le=50.0,
        description="3-D fit: a release placed further than this out from the wall is not "
        "believed; the wall-plane estimate stands.",
    )
    min_terminal_speed_ms: float = Field(
        default=4.0,
        ge=0.0,
        le=100.0,
        description="3-D fit: a track that only the 3-D fit explains (a throw towards the "
        "camera) must have at least this terminal speed (leaves and paper flutter slower), m/s.",
    )
    max_throw_speed_ms: float = Field(
        default=10.0,
        ge=0.0,
        le=100.0,
        description="3-D fit: a track that only the 3-D fit explains left the window at most "
        "this fast horizontally, m/s (birds crossing the top of the picture fit as bodies "
        "flying along the wall at 15-20 m/s).",
    )
    max_throw_up_ms: float = Field(
        default=8.0,
        ge=0.0,
        le=100.0,
        description="3-D fit: a track that only the 3-D fit explains is going up at most this "
        "fast where it is first seen, m/s (a bottle tossed up out of a window: a few m/s). "
        "Gliding birds and leaves fitted as bodies flung up at 10-15 m/s (the fit's bound), "
        "slowed by drag and carried by wind: on the development sets that was 4 of the "
        "rescued false alarms, and one cigarette dropped from rest that the same bogus fit "
        "happened to explain (1001701_0023).",
    )
    rescue_fits_per_s: float = Field(
        default=2.0,
        ge=0.0,
        le=1000.0,
        description="3-D fit: iterative rescue fits allowed per second of video (each costs "
        "tens of ms; a flock would otherwise send dozens a second).",
    )
    rescue_burst: float = Field(
        default=6.0,
        ge=1.0,
        le=10000.0,
        description="3-D fit: rescue fits that may be banked for a burst.",
    )
    rescue_unseen_s: float = Field(
        default=0.5,
        ge=0.0,
        le=5.0,
        description="3-D fit: a track that only the 3-D fit explains, first seen below the top "
        "edge while the picture is cluttered (rain), was released at most this long before "
        "its first sighting (a fragment of a fall picked up mid-picture is not a throw); "
        "while clear, rescue_unseen_clear_s.",
    )
    rescue_unseen_clear_s: float = Field(
        default=2.0,
        ge=0.0,
        le=5.0,
        description="3-D fit: as rescue_unseen_s while the picture is clear (the foreground "
        "threshold not raised beyond retrace_max_clutter): a throw out towards the camera "
        "from high up is often first detected a second or two after it left the window. "
        "In rain, streaks near the lens fit throws released that long before, and "
        "rescue_unseen_s holds.",
    )
    rescue_screen_unseen_s: float = Field(
        default=1.0,
        ge=0.0,
        le=5.0,
        description="3-D fit: the closed-form drag-free fit that screens a track before the "
        "iterative one lets through a release up to this long before its first sighting "
        "(below the top edge) in clutter, and rescue_unseen_clear_s - rescue_unseen_s "
        "longer while the picture is clear; the iterative fit then holds it to "
        "rescue_unseen_s (rescue_unseen_clear_s). For a throw towards the camera the "
        "drag-free fit's release time is off by a tenth of a second or more (a flowerpot "
        "thrown out: 0.2-0.3 s where the iterative fit and the truth have 0.13).",
    )
    max_fit_rms_px: float = Field(
        default=2.0,
        gt=0.1,
        le=50.0,
        description="3-D fit: largest RMS reprojection error (input px, plus a quarter of the "
        "blob size) of a track explained by a falling body.",
    )
    max_sway_m: float = Field(
        default=0.8,
        ge=0.0,
        le=5.0,
        description="3-D fit: RMS sway (m) of a light object around its fall that the fit "
        "tolerates on top of max_fit_rms_px: a bag or a cloth swings from side to side as it "
        "falls, which no ballistic model explains (a cloth by a metre).",
    )
    release_lookback_s: float = Field(
        default=1.0,
        ge=0.0,
        le=5.0,
        description="The release point is traced back at most this long before the first "
        "detection.",
    )
    retrace_s: float = Field(
        default=1.5,
        ge=0.0,
        le=5.0,
        description="A track first seen already fast (its release traced back beyond "
        "release_lookback_s) is looked for in the working images of up to this many seconds "
        "before its first detection, where it may have been too faint to detect (under "
        "infrared a far object is dim); 0 keeps no images. Keeps the working images of the "
        "last retrace_s + 0.6 s: about 0.5 MB a frame at 1080p (30 MB at 30 fps), 2 MB at "
        "4K.",
    )
    retrace_max_clutter: float = Field(
        default=2.0,
        ge=1.0,
        le=20.0,
        description="Looking back is not done while clutter (rain) has raised the foreground "
        "threshold beyond this multiple: rain drops near the lens also come out of a faint "
        "distance, speeding up, and there every frame offers some faint blob on the way back. "
        "Beyond it the 3-D fit also holds a track to rescue_unseen_s.",
    )
    retrace_min_speed_ms: float = Field(
        default=3.0,
        ge=0.0,
        le=50.0,
        description="Only a young track already going down at least this fast (m/s along the "
        "wall, from the image speed over the local gravity in pixels) is looked back along: "
        "a thrown object falling for a second or more is faster (a bag reaches about 7 m/s, "
        "a cloth 4); leaves and swaying branches are slower, and are most of the young "
        "tracks in a busy scene.",
    )
    retrace_snr: float = Field(
        default=3.0,
        ge=1.0,
        le=20.0,
        description="Looking back, a point is taken where the object-sized box filter of the "
        "difference from the background reaches this many times the robust spread of its "
        "neighbourhood, with the track's sign.",
    )
    retrace_radius: float = Field(
        default=2.5,
        ge=0.5,
        le=20.0,
        description="Looking back, how far from the extrapolated position (work px) a point "
        "is looked for; one more px per frame missed in a row.",
    )
    retrace_max_gap: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Looking back stops when more frames than this in a row give no point.",
    )
    retrace_min_points: int = Field(
        default=4,
        ge=1,
        le=100,
        description="Looking back must find at least this many points to extend a track.",
    )
    entry_margin_hps: float = Field(
        default=0.04,
        ge=0.0,
        le=1.0,
        description="A track first seen deeper than this below the top of the picture (image "
        "heights) must trace back to a release from rest within release_lookback_s; rain "
        "and other things already falling fast when they appear fail this.",
    )
    top_min_fall_hps: float = Field(
        default=0.06,
        ge=0.0,
        le=1.0,
        description="With a calibration, a track first seen within entry_margin_hps of the "
        "top of the picture must cross at least this share of the picture's height on its "
        "way down (image heights). An upward-looking camera packs metres of wall into each "
        "row at the top edge: there a bird or an insect crossing the picture, drifting down "
        "by a few pixels, measured as a fall of 8-27 m (six false alarms on the development "
        "sets: 5-23 work px, at most 0.043 of the height). The objects accepted after "
        "entering there crossed 0.079 or more (a carton lost after 0.079: at 0.1 this test "
        "refused it, with two false alarms of the hard set at 0.083 and 0.096).",
    )
    max_entry_speed_ms: float = Field(
        default=15.0,
        ge=0.0,
        le=100.0,
        description="With calibration: an object entering at the top edge, released above the "
        "picture, is at most this fast on the wall plane (m/s; 15 m/s is a fall of about 12 m). "
        "No track may end faster than this plus what gravity adds over its duration (rain "
        "streaks near the lens map onto the wall at 30-40 m/s).",
    )
    max_speedup_g: float = Field(
        default=1.35,
        ge=0.0,
        le=10.0,
        description="With calibration: a falling object's speed down the wall, fitted over "
        "every run of 4 points, grows between two runs by at most this many times what "
        "gravity adds (plus three standard errors and speedup_slack_ms); the 3-D fit has the "
        "last word, as an object thrown towards the camera speeds up faster there. A slow "
        "leaf linked across a gap to a streak near the lens gains 20-30 m/s in a fraction of "
        "a second. 0 disables.",
    )
    speedup_slack_ms: float = Field(
        default=2.0,
        ge=0.0,
        le=50.0,
        description="m/s of measurement noise allowed on top of max_speedup_g.",
    )
    early_fit_s: float = Field(
        default=0.8,
        ge=0.1,
        le=10.0,
        description="Seconds from the track start used to fit the release (less drag there).",
    )
    rejoin_gap_s: float = Field(
        default=0.6,
        ge=0.0,
        le=5.0,
        description="A rejected track may be joined to one starting at most this long after "
        "it ends (a fall lost behind a branch or across a window).",
    )
    trim_max_frac: float = Field(
        default=0.5,
        ge=0.0,
        le=0.75,
        description="A track the physics rejects is judged again with up to this share of "
        "its points cut off its start, its end or both (half and all of it): the tracker "
        "hands a falling object's blob to a neighbour (a sill, a leaf) or picks it up "
        "late, and the foreign points fail the whole. A window that passes is a candidate "
        "for the learned classifier only: without one it is not an event. 0 disables.",
    )
    rejoin_radius: float = Field(
        default=6.0,
        ge=0.0,
        le=200.0,
        description="Work px between the earlier track's extrapolation and the later track's "
        "first point for a rejoin (grows with the gap).",
    )
    rejoin_overlap_s: float = Field(
        default=0.2,
        ge=0.0,
        le=2.0,
        description="With rejoin_chain, a rejected track of a large thing (steady_large_min_m "
        "across) may also be joined to one that began before it and ended up to this long "
        "after it began: a cloth followed in pieces, the next piece picked up while the last "
        "one still had a blob (1001801_0018). The later track goes on alone where the two "
        "overlap. Small things joined so were a speck at the top edge and noise on the "
        "development sets. 0: only tracks that begin after the other ended.",
    )
    rejoin_chain: bool = Field(
        default=True,
        description="Refused pieces of one object are joined as they come and judged as a "
        "whole: a swinging cloth, lost by the tracker at every turn of its swing, falls in "
        "pieces each too short to judge. The join then allows for the swing (a straight "
        "line through the last second, and the blob's size), and a piece seen in too few "
        "of its frames (its start may be noise) is joined by nothing. False: a refused "
        "track is joined to one piece before it only, as before the sixteenth stop.",
    )
    gap_tail_share: float = Field(
        default=0.34,
        ge=0.0,
        le=0.9,
        description="A refused track that was unseen for more than reacquire_misses frames "
        "within its last this share of points is judged again on the points before that gap: "
        "a faint object lost in rain is taken up by drops far off, if the first point after "
        "the gap is off where the track was heading (gap_foreign_px). 0 disables.",
    )
    gap_foreign_px: float = Field(
        default=12.0,
        ge=0.0,
        le=1000.0,
        description="See gap_tail_share: how far (work px, or twice the blob's size if more) "
        "the first point after the gap must be from where the track was heading.",
    )
    faint_margin: float = Field(
        default=1.0,
        ge=0.0,
        le=10.0,
        description="A track passing the physics is an event only if the median strength "
        "of its points (peak difference over threshold, 1 at the threshold) is above "
        "1 + faint_margin / sqrt(their number): a short chain of blobs barely over the "
        "threshold is what noise, a far bird or rain linked by the tracker looks like, and "
        "the fewer its points the clearer a fall must stand out. With 1.0, 16 points need "
        "1.25, 36 points 1.17. Of the tracks of objects found on the development sets, "
        "one stood lower (a flowerpot in heavy rain at night, 1.14 over 17 points); of "
        "their false alarms, a quarter did. Not while clutter holds the threshold at "
        "faint_max_thresh_scale times the noise's or more. See faint_margin_looked_back. "
        "0 disables.",
    )
    faint_max_thresh_scale: float = Field(
        default=2.0,
        ge=1.0,
        le=100.0,
        description="faint_margin holds only while the threshold multiplier (raised by "
        "clutter: rain, noise, up to max_thresh_scale) is under this: over a threshold "
        "raised so far, a blob barely over it is well over the noise, and the objects "
        "lost to the margin were in heavy rain at four times the threshold (a flowerpot "
        "1.14 over 17 points, a fruit 1.24 over 16); the noise it is for was at 1.0-1.6. "
        "faint_margin_looked_back holds in any weather.",
    )
    faint_margin_looked_back: float = Field(
        default=2.0,
        ge=0.0,
        le=10.0,
        description="faint_margin for a track that passed the physics only with the start "
        "found by looking back along it (see retrace_s): its own points, first seen already "
        "fast, are what rain near the lens and noise look like, and must stand out twice as "
        "clearly; the looked-back points, under the threshold by definition, are not "
        "counted. Three false alarms in one rain scene (1001902_0026) stood 1.33-1.49 over "
        "11-14 points; the six looked-back objects of the development sets 1.56-2.86.",
    )
    min_score: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Least physics score of an emitted event. "
        "With a classifier, classifier_threshold is its own bar, and the event's score "
        "blends the two (classifier_weight)."
    )
    classifier_weight: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Weight of the classifier's score against the physics score when one is given.",
    )
    classifier_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="A track that passed the physics is not an event when the learned "
        "classifier (when one is loaded) gives it less than this probability. None: the "
        "loaded weights' own operating threshold, chosen by `fallwatch train` on validation "
        "scenes to keep 98% of their object tracks (0.5 for weights that carry none).",
    )
    dedup_radius: float = Field(
        default=8.0,
        ge=0.0,
        le=100.0,
        description="Events whose trajectories lie within this distance (work px) of an already "
        "emitted event at the same times are duplicates.",
    )

    def event_span_s(self) -> float:
        """The longest an event can reach back from the moment it is reported: a track's
        whole life, the wait before a lost track ends, and the look-back before its first
        detection. Evidence rings keep at least this much (plus their pre-roll)."""
        return self.max_track_s + self.max_missed_s + self.retrace_s
