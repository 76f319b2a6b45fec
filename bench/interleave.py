#!/usr/bin/env python3
"""Compares Google Benchmark binaries (builds of the same program) on a noisy machine.

Usage: bench/interleave.py FILTER ROUNDS BINARY...

Each round runs every binary once over the benchmarks FILTER selects (--benchmark_min_time=0.15),
the binaries alternating, so that a slow phase of the host falls on all of them alike. Prints,
per benchmark and binary, the median and the minimum of the rounds' wall times in microseconds,
and the first binary's median over this one's (above 1: this one is faster).
"""
import collections
import csv
import io
import statistics
import subprocess
import sys


def run_once(binary, benchmark_filter):
    """{benchmark name: wall time in ns} of one run of `binary`."""
    out = subprocess.run(
        [binary, f"--benchmark_filter={benchmark_filter}", "--benchmark_min_time=0.15",
         "--benchmark_format=csv"],
        capture_output=True, text=True, check=True).stdout
    rows = [line for line in out.splitlines() if line.startswith('"')]
    # CSV columns: name, iterations, real_time, cpu_time, time_unit, ...; times in the
    # benchmark's own unit (matmul_bench reports milliseconds).
    ns_per_unit = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
    return {row[0]: float(row[2]) * ns_per_unit[row[4]]
            for row in csv.reader(io.StringIO("\n".join(rows)))}


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    benchmark_filter, rounds, binaries = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    times = collections.defaultdict(list)  # (benchmark, binary) -> wall times
    for _ in range(rounds):
        for binary in binaries:
            for name, ns in run_once(binary, benchmark_filter).items():
                times[(name, binary)].append(ns)
    for name in sorted({name for name, _ in times}):
        first = statistics.median(times[(name, binaries[0])])
        cells = []
        for binary in binaries:
            median = statistics.median(times[(name, binary)])
            cells.append(f"{binary}: median {median / 1000:.1f} min "
                         f"{min(times[(name, binary)]) / 1000:.1f} ({first / median:.3f}x)")
        print(f"{name} | " + " | ".join(cells))


if __name__ == "__main__":
    main()
