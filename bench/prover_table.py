#!/usr/bin/env python3
"""Prints how long ddx takes to prove every component of dL/dz = p - y at
n = 10, 100, 256, 1000, 10000 (medians of repeated runs), beside GiNaC on the
same proof when libginac-dev is installed (scripts/setup.sh --bench), and the
ratio GiNaC/ddx.

Usage: bench/prover_table.py [--build build-bench] [--ginac-limit SECONDS]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = [10, 100, 256, 1000, 10000]


def mem_available_gb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    return 0.0


def build(build_dir):
    subprocess.run(["cmake", "-S", ROOT, "-B", build_dir, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                    "-DDDX_BUILD_TESTS=OFF", "-DDDX_BUILD_BENCH=ON"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build_dir, "--target", "bench_prover"], check=True, stdout=subprocess.DEVNULL)


def ddx_seconds(build_dir, n, repetitions):
    out = subprocess.run([os.path.join(build_dir, "bench", "bench_prover"), f"--benchmark_filter=/{n}/",
                          f"--benchmark_repetitions={repetitions}", "--benchmark_format=json",
                          "--benchmark_min_time=0.01"], check=True, capture_output=True, text=True).stdout
    runs = [b["real_time"] / 1000.0 for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"]
    return statistics.median(runs)


def ginac_binary():
    if not os.path.exists("/usr/include/ginac/ginac.h"):
        return None
    exe = os.path.join(tempfile.mkdtemp(), "ginac_softmax_ce")
    subprocess.run(["g++", "-O2", "-std=c++17", os.path.join(ROOT, "bench", "ginac_softmax_ce.cpp"), "-o", exe,
                    "-lginac", "-lcln"], check=True)
    return exe


def ginac_seconds(exe, n, limit, repetitions):
    times = []
    for _ in range(repetitions):
        try:
            out = subprocess.run([exe, str(n)], check=True, capture_output=True, text=True, timeout=limit).stdout
        except subprocess.TimeoutExpired:
            return None
        times.append(float(out.strip()))
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    parser.add_argument("--ginac-limit", type=float, default=600.0,
                        help="give up on a GiNaC run after this many seconds (default 600)")
    args = parser.parse_args()
    build(args.build)
    ginac = ginac_binary()
    if not ginac:
        print("GiNaC column skipped: libginac-dev is not installed (scripts/setup.sh --bench installs it)")
    print(f"{'n':>6}  {'ddx (median)':>14}  {'GiNaC (median)':>16}  {'GiNaC/ddx':>10}")
    for n in SIZES:
        # About 170 bytes per term and n² terms at the peak.
        need_gb = 180e-9 * n * n * 1.2
        if need_gb > 0.8 * mem_available_gb():
            print(f"{n:>6}  skipped: needs about {need_gb:.0f} GB, {mem_available_gb():.0f} GB available")
            continue
        reps = 5 if n <= 1000 else 1
        ours = ddx_seconds(args.build, n, reps)
        theirs = None
        if ginac and n <= 256:
            theirs = ginac_seconds(ginac, n, args.ginac_limit, 3 if n < 256 else 1)
        ginac_text = "-" if not ginac or n > 256 else (f"{theirs:.3f} s" if theirs else f"> {args.ginac_limit:.0f} s")
        ratio = f"{theirs / ours:.0f}x" if theirs else "-"
        print(f"{n:>6}  {ours:>12.4f} s  {ginac_text:>16}  {ratio:>10}")
    print("(GiNaC is run up to n = 256: its time grows as n³, about 34 s at n = 256 on this machine.)")


if __name__ == "__main__":
    sys.exit(main())
