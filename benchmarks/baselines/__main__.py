"""``python -m benchmarks.baselines [--quick] --out DIR``."""

from benchmarks.baselines.part import main

main()
