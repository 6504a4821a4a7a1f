"""Every benchmark in one run: ``python -m benchmarks.run [--quick] --out DIR``.

Writes ``DIR/results.json`` (machine, mode, command and each part's numbers),
``DIR/results.md`` (the Markdown table) and ``DIR/throughput.png``, ``baselines.png``,
``scaling.png``. Each part also runs on its own (``python -m benchmarks.throughput
--out DIR``, ``benchmarks.baselines``, ``benchmarks.scaling``). ``--quick`` uses short,
small scenes and finishes in a few minutes on 2 cores (for CI); the full run is for
people. Inputs are generated from fixed seeds into ``benchmarks/.cache/`` and reused.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import scaling, throughput
from benchmarks.baselines import part as baselines
from benchmarks.common import machine, make_scene, part_arguments, setup_logging, write_part
from benchmarks.plots import write_plots
from benchmarks.report import PARTS, write_report
from pipelines.runtime import configure_process, worker_pool

log = logging.getLogger(__name__)

RUNNERS = {"throughput": throughput.run, "baselines": baselines.run, "scaling": scaling.run}


def _timed(name: str, quick: bool) -> tuple[dict[str, Any], float]:
    t0 = time.perf_counter()
    log.info("part %s", name)
    doc = RUNNERS[name](quick)
    return doc, round(time.perf_counter() - t0, 1)


def run_all(out: Path, quick: bool, parts: tuple[str, ...] = PARTS,
            jobs: int = 1) -> dict[str, Any]:
    """Run ``parts`` (in order, or ``jobs`` of them side by side in separate processes),
    write results.json, the table and the plots; return the results.

    Every number is process CPU time, measured inside one part; parts side by side share
    the cores, so their ratios hold but a core is less of a core.
    """
    out.mkdir(parents=True, exist_ok=True)
    cmd = ("python -m benchmarks.run" + (" --quick" if quick else "")
           + (f" --jobs {jobs}" if jobs > 1 else "") + " --out DIR")
    results: dict[str, Any] = {"meta": {"quick": quick, "command": cmd, "machine": machine(),
                                        "jobs": jobs, "seconds": {}},
                               "parts": {}}
    if jobs > 1:
        # scenes are generated before the parts fork, so no two processes write one file
        _prepare(quick, parts, jobs)
        with worker_pool(min(jobs, len(parts))) as pool:
            futures = {name: pool.submit(_timed, name, quick) for name in parts}
            done = {name: f.result() for name, f in futures.items()}
    else:
        done = {name: _timed(name, quick) for name in parts}
    for name in parts:
        results["parts"][name], results["meta"]["seconds"][name] = done[name]
    results["meta"]["plots"] = [p.name for p in write_plots(out, results)]
    write_report(out, results)
    write_part(out, "results", results)
    return results


def _prepare(quick: bool, parts: tuple[str, ...], jobs: int) -> None:
    """Generate every part's scenes (the cache), ``jobs`` at a time, each file once."""
    reqs = []
    if "throughput" in parts or "scaling" in parts:
        reqs += list(throughput.scenes(quick).values())
    if "baselines" in parts:
        reqs += baselines.scene_set(quick)
    if "scaling" in parts:
        reqs += scaling.scene_requests(quick)
    unique = list(dict.fromkeys(reqs))
    with worker_pool(jobs) as pool:
        list(pool.map(make_scene, unique))


def main() -> None:
    setup_logging()
    configure_process()
    p = part_arguments(__doc__.splitlines()[0])
    p.add_argument("--parts", default=",".join(PARTS),
                   help=f"comma-separated subset of {', '.join(PARTS)} (default: all)")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="run up to N parts side by side in separate processes (default 1)")
    args = p.parse_args()
    parts = tuple(x.strip() for x in args.parts.split(",") if x.strip())
    unknown = [x for x in parts if x not in RUNNERS]
    if unknown:
        sys.exit(f"benchmarks.run: unknown part(s) {', '.join(unknown)}; expected some of "
                 f"{', '.join(PARTS)}")
    run_all(args.out, args.quick, parts, max(1, args.jobs))
    log.info("wrote %s", args.out / "results.json")


if __name__ == "__main__":
    main()
