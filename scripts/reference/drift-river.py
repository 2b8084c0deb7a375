#!/usr/bin/env python3
"""river's drift detectors on the drift benchmark's streams (bench/drift.ts runs this).

Usage: drift-river.py DIM STREAMS_JSON, where STREAMS_JSON is a list of
{"name", "file", "at", "end"}: each file holds the stream's records as float32, row-major,
DIM features per record; "at" is the change's first record (-1: stationary), "end" the end of
a gradual drift. Runs ADWIN, PageHinkley and KSWIN with river's defaults, one detector per
feature, and prints one JSON row per stream and detector: the delay from the change (gradual:
from its end) to the first alarm any feature raised at or after it, and the alarms (any
feature) after and before the change. river's detectors take one number at a time, so every
feature gets its own; an alarm is a raw alarm (no grouping into incidents).

KSWIN runs a two-sample KS test (scipy) at every update, about 0.5 ms: on 24 features it would
take some 17 minutes per stream, so it sees only the KSWIN_SLICE records around the change
(half before, half after; the first ones of a stationary stream), and its counts are for them.
"""
import json
import sys

import numpy as np
from river import drift

KSWIN_SLICE = 2_000

DETECTORS = {
    "ADWIN": lambda: drift.ADWIN(),
    "PageHinkley": lambda: drift.PageHinkley(),
    "KSWIN": lambda: drift.KSWIN(seed=1),
}


def main() -> None:
    dim = int(sys.argv[1])
    streams = json.loads(sys.argv[2])
    rows = []
    for s in streams:
        x = np.fromfile(s["file"], dtype=np.float32).reshape(-1, dim).astype(float)
        for name, make in DETECTORS.items():
            detectors = [make() for _ in range(dim)]
            alarms = []
            first, last = 0, x.shape[0]
            if name == "KSWIN":
                first = max(0, s["at"] - KSWIN_SLICE // 2) if s["at"] >= 0 else 0
                last = min(x.shape[0], first + KSWIN_SLICE)
            for i in range(first, last):
                row = x[i]
                hit = False
                for f in range(dim):
                    d = detectors[f]
                    d.update(row[f])
                    if d.drift_detected:
                        hit = True
                if hit:
                    alarms.append(i)
            at = s["at"]
            reference = s["end"] if at >= 0 else -1
            after = [a for a in alarms if at >= 0 and a >= at]
            rows.append(
                {
                    "stream": s["name"],
                    "detector": name,
                    "delay": (after[0] - reference) if after else None,
                    "alarmsAfter": len(after),
                    "alarmsBefore": len(alarms) - len(after),
                    "records": last - first,
                }
            )
            print(f"river: {s['name']} {name} done", file=sys.stderr)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
