#!/usr/bin/env python3
"""Summarise a V8 .cpuprofile (node --cpu-prof, e.g. Azurite started with AZURITE_NODE_ARGS, see scripts/azurite.sh).

Usage: scripts/cpuprofile-summary.py PROFILE [--top N] [--stall-ms MS] [--marker SUBSTRING ...] [--from S] [--to S]

Prints:
  * self time by function (the top N), with the share of the busy time;
  * busy stretches: runs of consecutive non-idle samples of at least --stall-ms (default 200 ms) — while one runs, a
    single-threaded server answers nothing else — each with its start (seconds into the profile), length, and the
    frames matching a --marker that it spent most time under (default markers: Azurite's table, queue and blob
    handlers and persistence, Loki, garbage collection);
  * busy time by marker (the innermost matching frame of each sample's stack; "(other)" when none matches).
--from/--to (seconds into the profile) keep only the samples in that window, e.g. the last minutes of a long run.
"""
import argparse
import collections
import json
import sys

DEFAULT_MARKERS = [
    "queryTableEntities", "queryTableEntitiesWithPartitionAndRowKey", "insertTableEntity", "insertOrUpdateTableEntity",
    "insertOrMergeTableEntity", "updateTableEntity", "mergeTableEntity", "deleteTableEntity", "batch", "Batch",
    "listMessages", "insertMessage", "getMessages", "deleteMessage", "updateMessage",
    "getBlob", "uploadBlob", "commitBlockList", "stageBlock", "listBlobs",
    "saveDatabase", "serialize", "(garbage collector)", "gc",
]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--stall-ms", type=float, default=200)
    parser.add_argument("--marker", action="append")
    parser.add_argument("--from", dest="start", type=float, default=0, help="seconds into the profile")
    parser.add_argument("--to", dest="end", type=float, default=float("inf"), help="seconds into the profile")
    args = parser.parse_args()
    markers = args.marker or DEFAULT_MARKERS

    with open(args.profile, encoding="utf-8") as f:
        profile = json.load(f)
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {}
    for n in profile["nodes"]:
        for c in n.get("children", []):
            parent[c] = n["id"]

    def name(node_id):
        frame = nodes[node_id]["callFrame"]
        fn = frame.get("functionName") or "(anonymous)"
        url = frame.get("url", "")
        short = url.rsplit("/", 2)[-2:] if url else []
        return f"{fn} {'/'.join(short)}:{frame.get('lineNumber', -1) + 1}" if url else fn

    def stack(node_id):
        while node_id is not None:
            yield node_id
            node_id = parent.get(node_id)

    samples, deltas = profile["samples"], profile["timeDeltas"]
    idle = {i for i, n in nodes.items() if n["callFrame"].get("functionName") in ("(idle)", "(program)")}
    self_us = collections.Counter()
    t = 0.0
    times = []
    for s, d in zip(samples, deltas):
        t += d
        times.append(t)
    # A sample's time is the gap to the next sample.
    durations = [times[i + 1] - times[i] for i in range(len(times) - 1)] + [0]
    if times and (args.start > 0 or args.end != float("inf")):
        first = times[0]
        keep = [i for i, at in enumerate(times) if args.start * 1e6 <= at - first < args.end * 1e6]
        samples, times, durations = [samples[i] for i in keep], [times[i] for i in keep], [durations[i] for i in keep]
        print(f"window: {args.start:.0f}-{min(args.end, (times[-1] - first) / 1e6 if times else 0):.0f} s into the profile")
    busy_total = 0.0
    for s, d in zip(samples, durations):
        if s in idle:
            continue
        self_us[name(s)] += d
        busy_total += d

    span = (times[-1] - times[0]) / 1e6 if times else 0
    print(f"profile: {span:.1f} s, busy {busy_total / 1e6:.1f} s ({100 * busy_total / 1e6 / span if span else 0:.0f} %)")
    print(f"\nself time, top {args.top}:")
    for fn, us in self_us.most_common(args.top):
        print(f"  {us / 1e3:10.0f} ms  {100 * us / busy_total:5.1f} %  {fn}")

    def marked(node_id):
        for frame in stack(node_id):
            fn = nodes[frame]["callFrame"].get("functionName", "")
            for m in markers:
                if m == fn or (len(m) > 3 and m in fn):
                    return m
        return "(other)"

    stretches = []
    start = None
    under = collections.Counter()
    for i, (s, d) in enumerate(zip(samples, durations)):
        if s in idle:
            if start is not None:
                stretches.append((start, times[i] - times[start], under))
                start, under = None, collections.Counter()
            continue
        if start is None:
            start = i
        under[marked(s)] += d
    by_marker = collections.Counter()
    for s, d in zip(samples, durations):
        if s not in idle:
            by_marker[marked(s)] += d
    print("\nbusy time by marker:")
    for m, us in by_marker.most_common():
        print(f"  {us / 1e3:10.0f} ms  {100 * us / busy_total:5.1f} %  {m}")

    long_ones = [(times[s0] - times[0], length, u) for s0, length, u in stretches if length >= args.stall_ms * 1e3]
    print(f"\nbusy stretches of {args.stall_ms:.0f} ms or more: {len(long_ones)}")
    for at, length, u in long_ones[:60]:
        top = ", ".join(f"{m} {us / 1e3:.0f}" for m, us in u.most_common(4))
        print(f"  at {at / 1e6:8.1f} s  {length / 1e3:7.0f} ms  [{top}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
