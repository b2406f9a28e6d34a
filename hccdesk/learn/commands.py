"""CLI wiring of the learn area: the ``hccdesk bench train`` benchmark.

Training and grading commands belong to the jobs area (they run in worker processes); learn contributes no
top-level subcommand.  Only argparse and :mod:`hccdesk.learn.variants` (stdlib + JSON) are imported here;
the handler imports TensorFlow.
"""

from __future__ import annotations

import argparse

from hccdesk.learn.variants import VARIANTS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Learn adds no top-level command (see the module docstring)."""


def register_bench(bench_subparsers: argparse._SubParsersAction) -> None:
    """``hccdesk bench train [--variant NAME ...] [--steps N] [--batch-size N] [--json]``."""
    parser = bench_subparsers.add_parser(
        "train",
        help="training step time (model alone and whole fit loop), FLOP rate and its ratio to this machine's "
        "dense matmul rate, per variant",
        description="Time training steps of each variant (default: all 14) at its default batch size, count "
        "the FLOPs of a step from the layer shapes, and compare the achieved GFLOP/s with the dense float32 "
        "matmul rate measured in the same run. Also time the whole fit loop (data pipeline, augmentation and "
        "callbacks included) on synthetic patches: the step time a user waits for.",
    )
    parser.add_argument("--variant", action="append", dest="variants", metavar="NAME", help="repeatable")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per variant (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    parser.add_argument("--batch-size", type=int, default=None, help="override the variant's batch size")
    parser.add_argument(
        "--matmul-size",
        type=int,
        action="append",
        dest="matmul_sizes",
        metavar="N",
        help="square matmul size for the peak rate (repeatable; default 2048 and 4096)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=_run_bench_train)


def _run_bench_train(args: argparse.Namespace) -> int:
    import json

    from hccdesk.errors import InputError

    variants = args.variants or list(VARIANTS)
    unknown = [name for name in variants if name not in VARIANTS]
    if unknown:
        raise InputError(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    if args.steps < 1 or args.warmup < 0 or (args.batch_size is not None and args.batch_size < 2):
        raise InputError("--steps must be >= 1, --warmup >= 0 and --batch-size >= 2")
    if args.matmul_sizes and min(args.matmul_sizes) < 1:
        raise InputError("--matmul-size must be a positive matrix size")

    from hccdesk.learn.bench import MATMUL_SIZES, as_json, bench_train, format_report

    peak, rows = bench_train(
        variants,
        steps=args.steps,
        warmup=args.warmup,
        batch_size=args.batch_size,
        matmul_sizes=args.matmul_sizes or MATMUL_SIZES,
    )
    print(json.dumps(as_json(peak, rows), indent=2) if args.json else format_report(peak, rows))
    return 0
