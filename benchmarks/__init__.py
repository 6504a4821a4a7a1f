"""Benchmarks: throughput, baselines side by side, scaling; ``python -m benchmarks.run``.

Measuring sticks, not product code: each part generates its inputs from fixed seeds
into ``benchmarks/.cache/`` and writes a JSON section; ``benchmarks.report`` and
``benchmarks.plots`` turn ``results.json`` into a Markdown table and PNG plots.
"""
