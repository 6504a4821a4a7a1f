import numpy as np

from detector.blobs import Blobs
from detector.config import DetectorConfig
from detector.tracking import Tracker, predict, process_noise, transition, update

FPS = 25.0
SIZE = (320, 180)


def _blobs(points) -> Blobs:
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    n = p.shape[0]
    i32 = np.zeros(n, np.int32)
    one = np.ones(n, np.int32)
    return Blobs(p[:, 0], p[:, 1], i32, i32.copy(), one, one.copy(), np.full(n, 4, np.int32),
                 np.full(n, -30.0, np.float32), np.full(n, 3.0, np.float32))


def test_predict_moves_stacked_states_with_constant_acceleration():
    mean = np.array([[0.0, 0.0, 1.0, 2.0, 0.0, 10.0], [5.0, 5.0, 0.0, 0.0, 0.0, 0.0]])
    cov = np.stack([np.eye(6)] * 2)
    m2, c2 = predict(mean, cov, 0.5, q=1.0)
    np.testing.assert_allclose(m2[0], [0.5, 1.0 + 1.25, 1.0, 7.0, 0.0, 10.0])
    np.testing.assert_allclose(m2[1], mean[1])
    assert c2.shape == (2, 6, 6)
    assert np.all(np.linalg.eigvalsh(c2) > 0) and np.all(c2[:, 0, 0] > 1.0)
    np.testing.assert_allclose(transition(0.0), np.eye(6))


def test_repeated_steps_reuse_matrices_that_cannot_be_changed_by_accident():
    mean = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    cov = np.stack([np.eye(6) * 2.0])
    dt, q = 1.0 / 25.0, 7.0
    f = transition(dt)
    expect_m, expect_c = mean @ f.T, f @ cov @ f.T + process_noise(dt, q)
    for _ in range(3):  # built once, then served from the cache: the same numbers each time
        m2, c2 = predict(mean, cov, dt, q)
        assert np.array_equal(m2, expect_m) and np.array_equal(c2, expect_c)
    m3, _ = predict(mean, cov, 2 * dt, q)  # another step gets its own matrices
    assert not np.array_equal(m3, m2)
    from detector.tracking import _step_matrices
    for a in _step_matrices(dt, q):
        assert not a.flags.writeable


def test_update_pulls_the_state_toward_the_measurement_and_shrinks_the_covariance():
    mean = np.zeros((1, 6))
    cov = np.eye(6)[None] * 100.0
    m2, c2 = update(mean, cov, np.array([[10.0, -4.0]]), np.array([1.0]))
    np.testing.assert_allclose(m2[0, :2], [10.0 * 100 / 101, -4.0 * 100 / 101])
    assert c2[0, 0, 0] < 1.0 and c2[0, 1, 1] < 1.0
    np.testing.assert_allclose(c2[0], c2[0].T)


def _fall(t, x0, y0, g=60.0):
    return x0, y0 + 0.5 * g * t * t


def test_two_objects_at_once_keep_their_own_tracks():
    tr = Tracker(SIZE, FPS, DetectorConfig())
    ended = []
    for i in range(30):
        t = i / FPS
        ended += tr.step(_blobs([_fall(t, 100, 20), _fall(t, 130, 30)]), t)
    assert len(tr) == 2
    ended += tr.finish()
    assert len(ended) == 2
    for track in ended:
        assert len(track) == 30
        assert np.ptp(track.x) < 1e-9  # never swapped to the other object


def test_a_track_survives_a_few_missed_frames():
    tr = Tracker(SIZE, FPS, DetectorConfig())
    ended = []
    for i in range(30):
        t = i / FPS
        pts = [] if 12 <= i < 16 else [_fall(t, 100, 20)]  # hidden behind a branch
        ended += tr.step(_blobs(pts), t)
    ended += tr.finish()
    assert len(ended) == 1 and len(ended[0]) == 26


def test_a_lost_track_ends_and_is_reported_at_once():
    cfg = DetectorConfig(max_missed_s=0.2)
    tr = Tracker(SIZE, FPS, cfg)
    reported_at = None
    for i in range(40):
        t = i / FPS
        out = tr.step(_blobs([_fall(t, 100, 20)] if i < 20 else []), t)
        if out:
            reported_at = i
            break
    assert reported_at is not None and 20 <= reported_at <= 20 + round(0.2 * FPS) + 1


def test_a_track_leaving_the_picture_ends_and_says_so():
    tr = Tracker(SIZE, FPS, DetectorConfig())
    out = []
    for i in range(60):
        t = i / FPS
        y = 40 + 120 * t
        out += tr.step(_blobs([(50.0, y)] if y < SIZE[1] else []), t)
        if out:
            break
    assert len(out) == 1 and out[0].left_frame


def test_a_track_whose_last_detection_takes_it_out_of_the_picture_ends_in_that_step():
    """An object crossing the right edge at 8 px a frame: its blob is clipped at the edge
    while the track's prediction is already past it, and the update leaves the track
    outside the picture. It ends in the step that gave it that detection, which is in
    the track and in ``updated``; its history is then gone (the detector once asked for
    it and crashed)."""
    tr = Tracker(SIZE, FPS, DetectorConfig())
    ended = []
    for i in range(40):
        x = min(203.5 + 8.0 * i, SIZE[0] - 0.6)  # the object's blob, clipped at the edge
        ended = tr.step(_blobs([(x, 90.0)]), i / FPS)
        if ended:
            break
    assert len(ended) == 1 and ended[0].left_frame
    tid = ended[0].id
    assert tid in tr.updated[0].tolist()
    assert ended[0].x[-1] == SIZE[0] - 0.6 and len(ended[0]) == i + 1
    assert tr.history(tid) is None


def test_blind_frames_do_not_count_as_misses():
    cfg = DetectorConfig(max_missed_s=0.1, max_blind_s=1.0)
    tr = Tracker(SIZE, FPS, cfg)
    for i in range(10):
        t = i / FPS
        assert tr.step(_blobs([_fall(t, 100, 20)]), t) == []
    for i in range(10, 18):
        assert tr.step(Blobs.empty(), i / FPS, blind=True) == []
    t = 18 / FPS
    assert tr.step(_blobs([_fall(t, 100, 20)]), t) == []
    assert len(tr.finish()[0]) == 11


def test_ids_are_per_tracker():
    a, b = Tracker(SIZE, FPS, DetectorConfig()), Tracker(SIZE, FPS, DetectorConfig())
    for tr in (a, b):
        tr.step(_blobs([(10.0, 10.0)]), 0.0)
    assert a.ids.tolist() == b.ids.tolist() == [1]


def _with_strength(b: Blobs, strength: float) -> Blobs:
    return Blobs(b.x, b.y, b.x0, b.y0, b.w, b.h, b.area, b.contrast,
                 np.full(len(b), strength, np.float32))


def test_after_missed_frames_only_a_clear_blob_takes_the_track_back():
    """A speck of noise in the wide gate of a track unseen for a while does not bend the
    track; the object itself, seen clearly again, does take it back."""
    for strength, taken in ((1.1, False), (4.0, True)):
        tr = Tracker(SIZE, FPS, DetectorConfig())
        for i in range(12):
            t = i / FPS
            tr.step(_blobs([_fall(t, 100, 20)]), t)
        tid = int(tr.ids[0])
        for i in range(12, 16):  # four frames unseen
            tr.step(Blobs.empty(), i / FPS)
        t = 16 / FPS
        x, y = _fall(t, 100, 20)
        tr.step(_with_strength(_blobs([(x + 3.0, y + 2.0)]), strength), t)
        assert (tid in tr.updated[0].tolist()) is taken
