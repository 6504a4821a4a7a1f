"""A contact sheet: one labelled frame per scene, so a person can see what the generator makes."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import av
import cv2
import numpy as np


def _frame_at(video: Path, index: int) -> np.ndarray:
    with av.open(str(video)) as c:
        for i, fr in enumerate(c.decode(video=0)):
            if i == index:
                return fr.to_ndarray(format="bgr24")
    raise ValueError(f"{video}: has no frame {index}")


def scene_tile(video: Path, tile_w: int = 640) -> np.ndarray:
    """A frame of the scene (mid-track of its first object, else mid-scene), labels drawn on it."""
    truth = json.loads((video.parent / (video.stem + ".truth.json")).read_text())
    objs = [o for o in truth["objects"] if o["track"]]
    if objs:
        track = objs[0]["track"]
        idx = int(track[len(track) // 2][0])
    else:
        idx = truth["frames"] // 2
    img = _frame_at(video, idx)
    s = tile_w / img.shape[1]
    out = cv2.resize(img, (tile_w, int(img.shape[0] * s)), interpolation=cv2.INTER_AREA)
    for o in truth["objects"]:
        pts = [(r[1] * s, r[2] * s) for r in o["track"] if r[0] <= idx]
        for (x0, y0), (x1, y1) in itertools.pairwise(pts):
            cv2.line(out, (int(x0), int(y0)), (int(x1), int(y1)), (0, 255, 255), 1, cv2.LINE_AA)
        now = [r for r in o["track"] if r[0] == idx]
        if now:
            x, y, r = now[0][1] * s, now[0][2] * s, now[0][3] * s
            cv2.circle(out, (int(x), int(y)), int(max(6, 3 * r)), (0, 0, 255), 1, cv2.LINE_AA)
            cv2.putText(
                out,
                f"{o['kind']} fl{o['origin_floor']}",
                (int(x) + 8, int(y)),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.4,
                (0, 0, 255),
                1,
                cv2.LINE_AA,
            )
    sc = truth.get("scene", {})
    kinds = sorted({d["kind"] for d in truth["distractors"]})
    label = f"{video.stem} {sc.get('resolution', '')} {sc.get('lighting', '')} frame {idx}"
    label2 = ", ".join(kinds)[:90] or "no distractors"
    for k, text in enumerate((label, label2)):
        cv2.putText(
            out, text, (6, 16 + 16 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA
        )
        cv2.putText(
            out,
            text,
            (6, 16 + 16 * k),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
    return out


def contact_sheet(videos: list[Path], out: Path, cols: int = 3, tile_w: int = 640) -> None:
    tiles = [scene_tile(v, tile_w) for v in videos]
    th = max(t.shape[0] for t in tiles)
    tiles = [
        cv2.copyMakeBorder(t, 0, th - t.shape[0] + 4, 0, 4, cv2.BORDER_CONSTANT) for t in tiles
    ]
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i : i + cols]) for i in range(0, len(tiles), cols)]
    cv2.imwrite(str(out), np.vstack(rows))
