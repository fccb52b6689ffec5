#!/usr/bin/env python3
"""Draws a soak's timeline: operations per second that answered as they should, errors
per second, and each node's resident memory, with the fault windows shaded.

    plot.py target/soak/timeline.csv target/soak/faults.csv docs/soak.png

`cargo xtask soak --plot` runs it with matplotlib from a virtual environment.
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

timeline_path, faults_path, out_path = sys.argv[1:4]
rows = list(csv.DictReader(open(timeline_path)))
faults = list(csv.DictReader(open(faults_path)))
seconds = [int(r["second"]) for r in rows]

figure, (load, memory) = plt.subplots(2, 1, sharex=True, figsize=(11, 6.5))
load.plot(seconds, [int(r["ok"]) for r in rows], label="operations/s answered as they should", lw=0.8)
load.plot(seconds, [int(r["errors"]) for r in rows], label="errors/s", color="tab:red", lw=0.8)
load.set_ylabel("per second")
for node in range(3):
    values = [float(r[f"rss{node}_mib"]) or float("nan") for r in rows]
    memory.plot(seconds, values, label=f"node {node} RSS", lw=0.8)
memory.set_ylabel("MiB")
memory.set_xlabel("seconds since the load started")
for axis in (load, memory):
    for fault in faults:
        axis.axvspan(float(fault["from"]), float(fault["to"]), color="tab:orange", alpha=0.25)
for fault in faults:
    load.annotate(fault["fault"], (float(fault["from"]), load.get_ylim()[1] * 0.92), fontsize=7)
load.legend(loc="lower left", fontsize=8)
memory.legend(loc="lower left", fontsize=8)
figure.suptitle("cargo xtask soak: three nodes on PostgreSQL, faults shaded")
figure.tight_layout()
figure.savefig(out_path, dpi=110)
