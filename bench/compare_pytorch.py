#!/usr/bin/python3
"""ddx against PyTorch on the gradient of a batched softmax-cross-entropy
(mean over rows, integer targets), one thread each, in the same run.

PyTorch fused:    F.cross_entropy(z, labels) forward + backward.
PyTorch composed: softmax as exp(z) / sum exp(z), then log, then the negative
                  mean of the one-hot-weighted sum (nll), forward + backward.
ddx fused / composed: bench_softmax_ce's Fused and Composed benchmarks
                  (bench/run_bench.py builds and runs it).

Prints ns per element (medians) and the ratios ddx/PyTorch, fused against
fused and composed against composed, and ends with the line
`worst ratio ddx/pytorch: R`, the largest ratio of ddx fused to PyTorch fused.
Needs Debian's python3-torch (scripts/setup.sh --bench); skips without it.

Usage: bench/compare_pytorch.py [--build-dir DIR | --binary PATH | --ddx-json FILE]
                                [--repetitions N] [--rounds N]
PyTorch's times are per-process CPU time, as Google Benchmark's are.
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench  # noqa: E402


def time_call(fn, repetitions, min_seconds=0.2):
    """Median over repetitions of the time per call (seconds); each repetition
    runs fn enough times to last min_seconds."""
    fn()  # warm up: allocator, first-touch pages
    start = time.process_time()
    fn()
    once = max(time.process_time() - start, 1e-6)
    calls = max(1, int(min_seconds / once))
    samples = []
    for _ in range(repetitions):
        start = time.process_time()
        for _ in range(calls):
            fn()
        samples.append((time.process_time() - start) / calls)
    return statistics.median(samples)


def pytorch_times(torch, repetitions, shapes, rounds=1):
    """{(kind, precision, B, n): median ns per element} for PyTorch, at ddx's
    shapes; with several rounds, the smallest of the rounds' medians."""
    F = torch.nn.functional
    result = {}
    generator = torch.Generator().manual_seed(42)

    def keep(key, ns):
        result[key] = min(ns, result.get(key, ns))

    for _ in range(rounds):
        for precision, dtype in (("float", torch.float32), ("double", torch.float64)):
            for rows, classes in shapes:
                z = (3 * torch.randn(rows, classes, generator=generator, dtype=dtype)).requires_grad_(True)
                labels = torch.randint(0, classes, (rows,), generator=generator)
                onehot = F.one_hot(labels, classes).to(dtype)

                def fused():
                    z.grad = None
                    F.cross_entropy(z, labels).backward()

                def composed():
                    z.grad = None
                    e = torch.exp(z)
                    p = e / e.sum(dim=1, keepdim=True)
                    (-(onehot * torch.log(p)).sum(dim=1).mean()).backward()

                elements = rows * classes
                keep(("fused", precision, rows, classes), time_call(fused, repetitions) * 1e9 / elements)
                keep(("composed", precision, rows, classes), time_call(composed, repetitions) * 1e9 / elements)
                del z
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", help="build bench_softmax_ce here instead of the bench preset's build-bench/")
    parser.add_argument("--binary", help="an already built bench_softmax_ce (skips the build)")
    parser.add_argument("--ddx-json", help="ddx's times from a run_bench.py --json file instead of a new run")
    run_bench.add_timing_arguments(parser)  # --rounds: PyTorch's times too
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print(f"skipped: PyTorch is not installed for {sys.executable} (Debian's python3-torch is for "
              "/usr/bin/python3: apt-get install python3-torch, or scripts/setup.sh --bench)")
        return 0
    torch.set_num_threads(1)
    if args.ddx_json:
        ddx = run_bench.load(args.ddx_json)
    else:
        binary = args.binary or run_bench.build(args.build_dir)
        ddx = run_bench.run(binary, args.repetitions, "BM_(Fused|Composed)<", rounds=args.rounds)
    shapes = run_bench.shapes(ddx)
    theirs = pytorch_times(torch, args.repetitions, shapes, args.rounds)

    kept = run_bench.kept(args.rounds, f"medians of {args.repetitions}")
    print(f"PyTorch {torch.__version__}, one thread; ns per element, {kept}")
    print(f"{'shape':>12} {'precision':>9} | {'ddx fused':>9} {'pt fused':>9} {'ratio':>6} |"
          f" {'ddx comp':>9} {'pt comp':>9} {'ratio':>6}")
    worst = None
    for precision in run_bench.PRECISIONS:
        for rows, classes in shapes:
            key = (precision, rows, classes)
            d_f, p_f = ddx.get(("fused",) + key), theirs.get(("fused",) + key)
            d_c, p_c = ddx.get(("composed",) + key), theirs.get(("composed",) + key)
            r_f, r_c = run_bench.ratio(d_f, p_f), run_bench.ratio(d_c, p_c)
            if r_f is not None:
                worst = r_f if worst is None else max(worst, r_f)
            f = run_bench.fmt
            print(f"{f'{rows}x{classes}':>12} {precision:>9} | {f(d_f):>9} {f(p_f):>9} {f(r_f):>6} |"
                  f" {f(d_c):>9} {f(p_c):>9} {f(r_c):>6}")
    print(f"worst ratio ddx/pytorch: {run_bench.fmt(worst)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
