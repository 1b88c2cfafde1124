#!/usr/bin/python3
"""Builds bench_softmax_ce (the bench preset: Release, -march=native), runs it
with repetitions and prints, per shape and precision, the median time per
element of the bound, the fused kernel, the composed graph and the stable
composed graph, and the ratios fused/bound (target <= 1.5), composed/fused and
stable/fused (target <= 3); then the two composed graphs again evaluated with
faithful exp and log (Math::Faithful, the fused kernel's own) and their
ratios to fused.

Usage: bench/run_bench.py [--build-dir DIR | --binary PATH] [--repetitions N]
                          [--filter REGEX] [--json FILE]
Times are CPU time (Google Benchmark's default), so a shared machine slows
the numbers less than wall-clock time would.
Uses the Python standard library only.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRECISIONS = ["float", "double"]  # the table's order


def build(build_dir):
    """Configures (with the bench preset's settings) and builds the benchmark;
    returns the binary's path."""
    if build_dir is None:
        subprocess.run(["cmake", "--preset", "bench"], cwd=SOURCE, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", "--preset", "bench"], cwd=SOURCE, check=True)
        build_dir = os.path.join(SOURCE, "build-bench")
    else:
        # The bench preset's settings in another directory.
        subprocess.run(["cmake", "--preset", "bench", "-B", build_dir], cwd=SOURCE, check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", build_dir, "--target", "bench_softmax_ce"], check=True)
    return os.path.join(build_dir, "bench", "bench_softmax_ce")


def run(binary, repetitions, bench_filter=None, keep_json=None):
    """Runs the benchmark; returns {(kind, precision, B, n): median ns per element}.
    Google Benchmark's JSON output is kept in keep_json when given."""
    if keep_json:
        path = keep_json
    else:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
            path = out.name
    command = [binary, f"--benchmark_repetitions={repetitions}", "--benchmark_report_aggregates_only=true",
               f"--benchmark_out={path}", "--benchmark_out_format=json"]
    if bench_filter:
        command.append(f"--benchmark_filter={bench_filter}")
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    with open(path) as f:
        data = json.load(f)
    if not keep_json:
        os.unlink(path)
    return medians(data)


def load(path):
    """The medians of a JSON output file written by run()."""
    with open(path) as f:
        return medians(json.load(f))


def medians(data):
    result = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        m = re.match(r"BM_(\w+)<(\w+)>/B:(\d+)/n:(\d+)", b["run_name"])
        if not m:
            continue
        kind, precision, rows, classes = m.group(1).lower(), m.group(2), int(m.group(3)), int(m.group(4))
        result[(kind, precision, rows, classes)] = 1e9 / b["items_per_second"]
    return result


def shapes(ns):
    """The (rows, classes) the benchmark ran (bench_softmax_ce.cpp lists them), smallest first."""
    return sorted({(rows, classes) for (_, _, rows, classes) in ns}, key=lambda s: (s[0] * s[1], s))


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(x, digits=3):
    return "-" if x is None else f"{x:.{digits}g}"


def print_rows(ns, times, ratios):
    """One row per precision and shape: the medians of the benchmark kinds in
    `times` (column title -> kind) and the ratios in `ratios` (column title ->
    the titles of the numerator and the denominator)."""
    widths = {title: max(8, len(title)) for title in list(times) + list(ratios)}
    print(f"{'shape':>12} {'precision':>9} " + " ".join(f"{t:>{widths[t]}}" for t in list(times) + list(ratios))
          + "   (ns per element, medians)")
    for precision in PRECISIONS:
        for rows, classes in shapes(ns):
            value = {t: ns.get((kind, precision, rows, classes)) for t, kind in times.items()}
            value.update({t: ratio(value[a], value[b]) for t, (a, b) in ratios.items()})
            print(f"{f'{rows}x{classes}':>12} {precision:>9} "
                  + " ".join(f"{fmt(value[t]):>{widths[t]}}" for t in list(times) + list(ratios)))


def print_table(ns):
    ratios = {"composed/fused": ("composed", "fused"), "stable/fused": ("stable", "fused")}
    print_rows(ns, {"bound": "bound", "fused": "fused", "composed": "composed", "stable": "stablecomposed"},
               {"fused/bound": ("fused", "bound"), **ratios})
    print("targets: fused/bound <= 1.5, composed/fused <= 3 (stable: the stable composed graph)")
    if not any(kind.endswith("faithful") for (kind, _, _, _) in ns):
        return
    print()
    print("with faithful exp and log (Math::Faithful: within 1 ulp, the fused kernel's own exp and log)")
    print_rows(ns, {"fused": "fused", "composed": "composedfaithful", "stable": "stablecomposedfaithful"}, ratios)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", help="build here instead of the bench preset's build-bench/")
    parser.add_argument("--binary", help="an already built bench_softmax_ce (skips the build)")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--filter", help="Google Benchmark filter regex")
    parser.add_argument("--json", help="keep Google Benchmark's JSON output here (compare_pytorch.py --ddx-json reads it)")
    args = parser.parse_args()
    binary = args.binary or build(args.build_dir)
    print_table(run(binary, args.repetitions, args.filter, args.json))
    return 0


if __name__ == "__main__":
    sys.exit(main())
