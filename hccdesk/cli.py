"""The ``hccdesk`` command line.

Every GUI action has a command here that calls the same core function.  This module imports nothing heavy:
each area of the application contributes its subcommands through a small ``commands`` module whose
``register(subparsers)`` only builds argparse parsers; the handlers import numpy, h5py, TensorFlow or Qt
lazily, so ``hccdesk inspect`` never pays for TensorFlow and ``hccdesk`` (the GUI) never imports it at all.

Exit status: 0 success, 2 a user-facing error (one line on stderr, no traceback), 1 a bug, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from hccdesk import __version__
from hccdesk.errors import HccdeskError

COMMAND_MODULES: tuple[str, ...] = (
    "hccdesk.imaging.commands",
    "hccdesk.store.commands",
    "hccdesk.phantom.commands",
    "hccdesk.jobs.commands",
    "hccdesk.learn.commands",
    "hccdesk.gui.commands",
    "hccdesk.gui.review_commands",
    "hccdesk.desktop_install",
)
"""Modules that contribute subcommands via ``register(subparsers)`` and, optionally, benchmarks via
``register_bench(bench_subparsers)``."""


def build_parser() -> argparse.ArgumentParser:
    """Assemble the parser from every area's command module."""
    parser = argparse.ArgumentParser(
        prog="hccdesk",
        description="HCC Desk: multi-phase liver MR lesion grading with local + non-local feature fusion.",
        epilog="Run `hccdesk` alone (or `hccdesk PROJECT.hccdesk`) to open the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"hccdesk {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    bench = subparsers.add_parser("bench", help="measure speed against peers and physical limits")
    bench_subparsers = bench.add_subparsers(dest="bench", metavar="WHAT", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue
        module.register(subparsers)
        if hasattr(module, "register_bench"):
            module.register_bench(bench_subparsers)
    return parser


def _wants_gui(argv: Sequence[str], commands: set[str]) -> bool:
    """True for ``hccdesk`` alone or ``hccdesk PATH`` where PATH is not a subcommand (open it in the app)."""
    if not argv:
        return True
    first = argv[0]
    if first.startswith("-") or first in commands:
        return False
    return first.endswith(".hccdesk") or Path(first).exists()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    if _wants_gui(args_list, commands) and "gui" in commands:
        args_list = ["gui", *args_list]
    args = parser.parse_args(args_list)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except HccdeskError as error:
        print(f"hccdesk: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hccdesk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
