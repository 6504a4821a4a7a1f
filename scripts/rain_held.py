"""How long the detector holds each labelled scene of a set to be raining, against its truth.

``.venv/bin/python scripts/rain_held.py DIR [JOBS]`` prints, per scene of DIR (NAME.mp4,
NAME.yaml, NAME.truth.json), its light, resolution, whether the generator put rain in it,
and the share of its frames that the detector (physics alone) held it raining
(``Detector.raining``: the streaks, or the hold after them) and streaky (the streaks of
the last second alone). A diagnostic for the rain tests, not a score.
"""

from __future__ import annotations

import glob
import json
import sys
from multiprocessing import get_context


def held(base: str) -> tuple[str, str, str, bool, float, float]:
    from detector.pipeline import Detector
    from pipelines.camera import load_camera
    from pipelines.runtime import configure_process
    from pipelines.sources import open_video

    configure_process()
    cam = load_camera(base + ".yaml")
    with open(base + ".truth.json", encoding="utf-8") as fh:
        truth = json.load(fh)
    rain = any(d["kind"] == "rain" for d in truth.get("distractors", []))
    n = raining = streaky = 0
    with open_video(base + ".mp4") as src:
        det = Detector(src.info.width, src.info.height, src.info.fps, cam.detector,
                       cam.calibration(), cam.exclude, None)
        for fr in src.frames():
            det.process(fr.luma, fr.t_s)
            n += 1
            raining += det.raining
            streaky += det.streaky
    name = base.rsplit("/", 1)[-1]
    scene = truth["scene"]
    return name, scene["lighting"], scene["resolution"], rain, raining / n, streaky / n


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    bases = sorted(f[: -len(".truth.json")] for f in glob.glob(sys.argv[1] + "/*.truth.json"))
    if not bases:
        raise SystemExit(f"{sys.argv[1]}: no NAME.truth.json here")
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    dry = dry_held = 0
    with get_context("spawn").Pool(jobs) as pool:
        for name, light, res, rain, raining, streaky in pool.imap(held, bases):
            print(f"{name} {light:5s} {res:5s} rain in truth {int(rain)}  held raining "
                  f"{raining:.2f}  streaky {streaky:.2f}", flush=True)
            if not rain:
                dry += 1
                dry_held += raining >= 0.5
    print(f"dry scenes held raining for half their frames or more: {dry_held} of {dry}")


if __name__ == "__main__":
    main()
