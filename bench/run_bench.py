#!/usr/bin/python3
"""Builds bench_softmax_ce (the bench preset: Release, -march=native), runs it
with repetitions and prints, per shape and precision, the median time per
element of the bound, the fused kernel, the composed graph and the stable
composed graph, and the ratios fused/bound (target <= 1.5), composed/fused and
stable/fused (target <= 3); then the two composed graphs again evaluated with
faithful exp and log (Math::Faithful, the fused kernel's own) and their
ratios to fused.

Usage: bench/run_bench.py [--build-dir DIR | --binary PATH] [--repetitions N]
                          [--rounds N] [--filter REGEX] [--json FILE]
Times are CPU time (Google Benchmark's default), so a shared machine slows
the numbers less than wall-clock time would. Each precision and shape runs
in a process of its own, its kinds back to back, so that the two times of a
ratio are measured seconds apart. With --rounds N everything runs N times
and each benchmark keeps the smallest of its N medians: the round least
slowed by whatever else the machine ran.
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


NAME = re.compile(r"BM_(\w+)<(\w+)>/B:(\d+)/n:(\d+)")


def parse(name):
    """(kind, precision, B, n) of a benchmark's name, or None for another name."""
    m = NAME.fullmatch(name)
    if not m or m.group(2) not in PRECISIONS:
        return None
    return m.group(1).lower(), m.group(2), int(m.group(3)), int(m.group(4))


def groups(binary, bench_filter=None):
    """The benchmarks the binary runs (matching bench_filter), grouped by
    (precision, shape) in the table's order: each group a list of names."""
    command = [binary, "--benchmark_list_tests"]
    if bench_filter:
        command.append(f"--benchmark_filter={bench_filter}")
    listed = subprocess.run(command, check=True, capture_output=True, text=True).stdout.split()
    by_key = {}
    for name in listed:
        if key := parse(name):
            _, precision, rows, classes = key
            by_key.setdefault((PRECISIONS.index(precision), rows * classes, rows), []).append(name)
    return [by_key[k] for k in sorted(by_key)]


def run_once(binary, repetitions, names, show_context):
    """Google Benchmark's JSON output for one run of exactly these benchmarks.
    What the binary says of the machine (its stderr) is shown for the first
    run only, or when it fails."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        path = out.name
    command = [binary, f"--benchmark_repetitions={repetitions}", "--benchmark_report_aggregates_only=true",
               f"--benchmark_out={path}", "--benchmark_out_format=json",
               "--benchmark_filter=^(" + "|".join(names) + ")$"]
    try:
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if show_context or done.returncode != 0:
            sys.stderr.write(done.stderr)
        done.check_returncode()
        with open(path) as f:
            return json.load(f)
    finally:
        os.unlink(path)


def run(binary, repetitions, bench_filter=None, keep_json=None, rounds=1):
    """Runs the benchmark; returns {(kind, precision, B, n): ns per element},
    the median of the repetitions, and with several rounds the smallest of
    the rounds' medians (the round least slowed by whatever else the machine
    ran). Each (precision, shape) runs in a process of its own, its kinds
    back to back, so that the two times of a ratio are measured seconds
    apart, not minutes. The JSON output of the round kept for each benchmark
    (its aggregates, in Google Benchmark's format) goes to keep_json when
    given."""
    kept = {}  # run_name -> (median ns per element, its aggregate entries)
    context = None
    listed = groups(binary, bench_filter)
    for _ in range(rounds):
        for names in listed:
            data = run_once(binary, repetitions, names, show_context=context is None)
            context = context or data.get("context")
            entries = {}
            for b in data["benchmarks"]:
                entries.setdefault(b["run_name"], []).append(b)
            for run_name, ns in median_times(data).items():
                if run_name not in kept or ns < kept[run_name][0]:
                    kept[run_name] = (ns, entries[run_name])
    data = {"context": context, "benchmarks": [b for _, entries in kept.values() for b in entries]}
    if keep_json:
        with open(keep_json, "w") as f:
            json.dump(data, f, indent=1)
    return medians(data)


def load(path):
    """The medians of a JSON output file written by run()."""
    with open(path) as f:
        return medians(json.load(f))


def median_times(data):
    """{benchmark name: median ns per element} of a Google Benchmark JSON output."""
    result = {}
    for b in data["benchmarks"]:
        single = b.get("run_type") == "iteration" and b.get("repetitions") == 1  # --repetitions 1: no aggregates
        if (b.get("aggregate_name") == "median" or single) and parse(b["run_name"]):
            result[b["run_name"]] = 1e9 / b["items_per_second"]
    return result


def medians(data):
    """{(kind, precision, B, n): median ns per element} of a Google Benchmark JSON output."""
    return {parse(name): ns for name, ns in median_times(data).items()}


def at_least_one(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_timing_arguments(parser):
    """--repetitions and --rounds, as both benchmark scripts take them."""
    parser.add_argument("--repetitions", type=at_least_one, default=5)
    parser.add_argument("--rounds", type=at_least_one, default=1,
                        help="run everything this many times and keep, per benchmark, the smallest median")


def kept(rounds, medians_of="medians"):
    """What a table of these rounds holds."""
    return f"the smallest of {rounds} rounds' {medians_of}" if rounds > 1 else medians_of


def shapes(ns):
    """The (rows, classes) the benchmark ran (bench_softmax_ce.cpp lists them), smallest first."""
    return sorted({(rows, classes) for (_, _, rows, classes) in ns}, key=lambda s: (s[0] * s[1], s))


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(x, digits=3):
    return "-" if x is None else f"{x:.{digits}g}"


def print_rows(ns, times, ratios, label):
    """One row per precision and shape: the medians of the benchmark kinds in
    `times` (column title -> kind) and the ratios in `ratios` (column title ->
    the titles of the numerator and the denominator)."""
    widths = {title: max(8, len(title)) for title in list(times) + list(ratios)}
    print(f"{'shape':>12} {'precision':>9} " + " ".join(f"{t:>{widths[t]}}" for t in list(times) + list(ratios))
          + f"   (ns per element, {label})")
    for precision in PRECISIONS:
        for rows, classes in shapes(ns):
            value = {t: ns.get((kind, precision, rows, classes)) for t, kind in times.items()}
            value.update({t: ratio(value[a], value[b]) for t, (a, b) in ratios.items()})
            print(f"{f'{rows}x{classes}':>12} {precision:>9} "
                  + " ".join(f"{fmt(value[t]):>{widths[t]}}" for t in list(times) + list(ratios)))


def print_table(ns, label="medians"):
    ratios = {"composed/fused": ("composed", "fused"), "stable/fused": ("stable", "fused")}
    print_rows(ns, {"bound": "bound", "fused": "fused", "composed": "composed", "stable": "stablecomposed"},
               {"fused/bound": ("fused", "bound"), **ratios}, label)
    print("targets: fused/bound <= 1.5, composed/fused <= 3 (stable: the stable composed graph)")
    if not any(kind.endswith("faithful") for (kind, _, _, _) in ns):
        return
    print()
    print("with faithful exp and log (Math::Faithful: within 1 ulp, the fused kernel's own exp and log)")
    print_rows(ns, {"fused": "fused", "composed": "composedfaithful", "stable": "stablecomposedfaithful"}, ratios, label)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", help="build here instead of the bench preset's build-bench/")
    parser.add_argument("--binary", help="an already built bench_softmax_ce (skips the build)")
    add_timing_arguments(parser)
    parser.add_argument("--filter", help="Google Benchmark filter regex")
    parser.add_argument("--json", help="keep Google Benchmark's JSON output here (compare_pytorch.py --ddx-json reads it)")
    args = parser.parse_args()
    binary = args.binary or build(args.build_dir)
    ns = run(binary, args.repetitions, args.filter, args.json, args.rounds)
    if not ns:
        print("no benchmark matched" + (f" --filter {args.filter}" if args.filter else ""), file=sys.stderr)
        return 1
    print_table(ns, kept(args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
