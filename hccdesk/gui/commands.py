"""CLI wiring of the app: ``hccdesk gui [PROJECT]``, ``hccdesk demo [DIR]``, ``hccdesk screenshot OUTDIR``,
``hccdesk bench gui``.

Only argparse and the standard library at import time; Qt is imported inside the handlers.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _run_gui(args: argparse.Namespace) -> int:
    from hccdesk.errors import InputError

    project = Path(args.project) if args.project else None
    if project is not None and not project.is_dir():
        raise InputError(f"no project folder at {project}; create one with File > New project in the app")
    from hccdesk.gui.app import run

    return run(project)


def _run_demo(args: argparse.Namespace) -> int:
    from hccdesk.phantom.commands import prepare_demo

    folder = prepare_demo(args.dir, rebuild=args.rebuild)
    print(folder)
    if args.no_gui:
        return 0
    from hccdesk.gui.app import run

    return int(run(folder) or 0)


def _run_screenshot(args: argparse.Namespace) -> int:
    from hccdesk.gui.screenshot import take_screenshots

    for path in take_screenshots(Path(args.outdir), Path(args.project) if args.project else None, args.cv):
        print(path)
    return 0


def _run_bench(args: argparse.Namespace) -> int:
    from hccdesk.gui.bench import run_bench

    return run_bench(json_output=args.json, train=not args.no_training)


def register(subparsers: argparse._SubParsersAction) -> None:
    gui = subparsers.add_parser(
        "gui", help="open the desktop app (also: `hccdesk` alone or `hccdesk PROJECT`)"
    )
    gui.add_argument("project", nargs="?", help="a NAME.hccdesk project folder (default: the last one)")
    gui.set_defaults(handler=_run_gui)
    demo = subparsers.add_parser(
        "demo",
        help="build (once) and open the demo project: 46 phantom lesions, 21 low and 25 high grade",
        description=(
            "Build the demo project through the same import path a user takes (phantom DICOM -> manifest "
            "import -> lesion CSV import -> save), once, then open it in the app."
        ),
    )
    demo.add_argument(
        "dir",
        nargs="?",
        type=Path,
        metavar="DIR",
        help="where the demo lives (default $HCCDESK_HOME/demo or ~/.local/share/hccdesk/demo)",
    )
    demo.add_argument("--no-gui", action="store_true", help="only build the project and print its path")
    demo.add_argument("--rebuild", action="store_true", help="delete the demo project and build it again")
    demo.set_defaults(handler=_run_demo)
    shot = subparsers.add_parser("screenshot", help="render the main window in a few states to PNG files")
    shot.add_argument("outdir", help="folder for the PNG files")
    shot.add_argument(
        "--project", help="project to show (default: build the small demo in a temporary folder)"
    )
    shot.add_argument(
        "--cv",
        choices=("smoke", "none"),
        default="smoke",
        help="run a smoke cross-validation for the results screenshot when the project has no run (default)",
    )
    shot.set_defaults(handler=_run_screenshot)


def register_bench(bench_subparsers: argparse._SubParsersAction) -> None:
    bench = bench_subparsers.add_parser(
        "gui", help="cold start, slice-change latency (4 x 512x512) and event-loop stalls during training"
    )
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.add_argument(
        "--no-training", action="store_true", help="skip the stall measurement during training"
    )
    bench.set_defaults(handler=_run_bench)
