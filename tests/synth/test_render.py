"""The rendered picture agrees with the labels: objects are where the truth says."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from pipelines.synth.facade import Tree
from pipelines.synth.render import SceneRenderer
from pipelines.synth.scene import SceneSpec, SynthOptions, sample_scene

CLEAN = SynthOptions(
    distractor_share=0.0,
    duration_s=4.0,
    night_share=0.0,
    rain_share=0.0,
    resolutions=(("720p", 1.0),),
    fps_choices=((25.0, 1.0),),
    max_objects=3,
    tree_share=0.0,
    photo_share=0.0,
)


def _clean_scene(seed: int) -> SceneSpec:
    """An object scene without noise, shake, rain or distractors, so any change is an object."""
    spec = sample_scene(seed, 0, CLEAN, "t")
    spec.noise_sigma = 0.0
    spec.shake_px = 0.0
    spec.cloud_change = 0.0
    spec.light_toggles = []
    spec.curtains = []
    spec.movers = [m for m in spec.movers if m.role == "object"]
    assert spec.movers, "the clean scene must hold at least one falling object"
    return spec


def _render(spec: SceneSpec, tree: Tree | None = None) -> tuple[list[np.ndarray], SceneRenderer]:
    r = SceneRenderer(spec, tree=tree)
    return [f.astype(np.int16) for f in r.frames()], r


def _diff_near(a: np.ndarray, b: np.ndarray, x: float, y: float, rad: float) -> np.ndarray:
    h, w = a.shape[:2]
    x0, x1 = max(int(x - rad), 0), min(int(x + rad) + 1, w)
    y0, y1 = max(int(y - rad), 0), min(int(y + rad) + 1, h)
    return np.abs(a[y0:y1, x0:x1] - b[y0:y1, x0:x1]).max(axis=2)


@pytest.mark.parametrize("seed", [3, 4])
def test_object_pixels_differ_from_the_empty_scene_where_labelled(seed: int) -> None:
    spec = _clean_scene(seed)
    empty = copy.copy(spec)
    empty.movers = []
    with_obj, r = _render(spec)
    without, _ = _render(empty)
    truth = r.truth()
    rows_checked = 0
    for obj in truth["objects"]:
        assert obj["track"], f"{obj['kind']} never visible"
        for f, x, y, rad in obj["track"]:
            d = _diff_near(with_obj[f], without[f], x, y, max(rad, 1.0) + 1.5)
            assert d.max() >= 3, (
                f"frame {f}: nothing drawn at the labelled {obj['kind']} ({x}, {y})"
            )
            rows_checked += 1
    assert rows_checked >= 8
    # and nothing changes far away from every labelled object
    for f in range(spec.frames):
        changed = np.abs(with_obj[f] - without[f]).max(axis=2) > 2
        ys, xs = np.nonzero(changed)
        rows = [row for o in truth["objects"] for row in o["track"] if row[0] == f]
        for x, y in zip(xs, ys, strict=True):
            assert (
                any(
                    abs(x - r[1]) < 6 * max(r[3], 1) + 40 and abs(y - r[2]) < 6 * max(r[3], 1) + 40
                    for r in rows
                )
                or (not rows
                and _alive_unlabelled(spec, f))
            ), (f, x, y)


def _alive_unlabelled(spec: SceneSpec, f: int) -> bool:
    return any(m.alive[f] for m in spec.movers)


def test_no_label_where_the_object_is_hidden_and_nothing_shows_there() -> None:
    spec = _clean_scene(5)
    spec.movers = spec.movers[:1]
    W, H = spec.camera.width, spec.camera.height
    # a tree-like occluder as a full-width opaque band across the middle of the fall
    _, r0 = _render(spec)
    rows = r0.truth()["objects"][0]["track"]
    ys = [r[2] for r in rows]
    band = (int(np.percentile(ys, 30)), int(np.percentile(ys, 70)))
    alpha = np.zeros((H, W), np.float32)
    alpha[band[0] : band[1]] = 1.0
    tree = Tree(
        alpha=alpha,
        bgr=np.full((H, W, 3), 0.2, np.float32),
        ir=np.full((H, W), 0.5, np.float32),
        bbox=(0, band[0], W, band[1]),
        sway_px=0.0,
        sway_hz=0.1,
    )
    empty = copy.copy(spec)
    empty.movers = []
    with_obj, r = _render(spec, tree)
    without, _ = _render(empty, tree)
    labelled = {int(row[0]) for row in r.truth()["objects"][0]["track"]}
    hidden = [row for row in rows if row[0] not in labelled]
    assert hidden, "the band should hide part of the fall"
    for f, x, y, rad in hidden:
        assert (
            band[0] + rad < y < band[1] - rad
            or abs(y - band[0]) < 3 * rad
            or abs(y - band[1]) < 3 * rad
        )
        if band[0] + 2 * rad + 2 < y < band[1] - 2 * rad - 2:
            d = _diff_near(with_obj[f], without[f], x, y, rad + 2)
            assert d.max() <= 1, f"frame {f}: object shows through the occluder"
    for f in labelled:
        row = next(rw for rw in rows if rw[0] == f)
        assert not (band[0] + 2 * row[3] + 2 < row[2] < band[1] - 2 * row[3] - 2)
