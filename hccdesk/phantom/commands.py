"""``hccdesk phantom`` (write a synthetic cohort) and ``hccdesk demo`` (build and open the demo project)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hccdesk.phantom.presets import PRESETS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``phantom`` and ``demo`` subcommands."""
    phantom = subparsers.add_parser(
        "phantom",
        help="write a synthetic multi-phase liver MR cohort with graded HCC lesions",
        description=(
            "Write a synthetic cohort: images (DICOM and/or NIfTI), cohort.csv (the import manifest), "
            "lesions.csv (true boxes and Edmondson grades) and truth.json (everything behind the images). "
            "Import it with `hccdesk import PROJECT --manifest OUT/cohort.csv` and "
            "`hccdesk lesions import PROJECT OUT/lesions.csv`."
        ),
    )
    phantom.add_argument("out", type=Path, metavar="OUT", help="new or empty output folder")
    phantom.add_argument(
        "--lesions", type=int, default=46, help="number of lesions (one patient each; default 46)"
    )
    phantom.add_argument(
        "--seed", type=int, default=0, help="random seed; the same seed writes the same bytes"
    )
    phantom.add_argument("--format", choices=("dicom", "nifti", "both"), default="dicom", help="image format")
    phantom.add_argument(
        "--preset",
        choices=tuple(PRESETS),
        default="clinical",
        help="grid: small (tests), clinical (the demo) or thick (5 mm slices, 403 mm field of view)",
    )
    phantom.add_argument(
        "--dynamic-series",
        action="store_true",
        help="DICOM: one GE-style dynamic series per study (TemporalPositionIdentifier 1-4) instead of four",
    )
    phantom.add_argument(
        "--grade-effect",
        type=float,
        default=None,
        metavar="DELTA",
        help="high grade's shift of the hidden aggressiveness variable (default 2.5; 0: grade invisible)",
    )
    phantom.set_defaults(handler=_run_phantom)

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


def _run_phantom(args: argparse.Namespace) -> int:
    from hccdesk.errors import InputError
    from hccdesk.phantom.build import write_cohort
    from hccdesk.phantom.traits import REFERENCE_DELTA

    if args.lesions < 1:
        raise InputError(f"--lesions must be at least 1, got {args.lesions}")
    if args.dynamic_series and args.format == "nifti":
        raise InputError("--dynamic-series only applies to DICOM; use --format dicom or both")
    formats = ("dicom", "nifti") if args.format == "both" else (args.format,)
    delta = REFERENCE_DELTA if args.grade_effect is None else args.grade_effect
    started = time.perf_counter()
    files = write_cohort(
        args.out,
        lesions=args.lesions,
        seed=args.seed,
        preset=args.preset,
        formats=formats,
        dynamic=args.dynamic_series,
        delta=delta,
    )
    elapsed = time.perf_counter() - started
    print(f"wrote {args.lesions} studies to {files.folder} in {elapsed:.1f} s")
    for path in (*files.manifests.values(), files.lesions, files.truth):
        print(f"  {path}")
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    import shutil

    from hccdesk.phantom.demo import DEMO_NAME, build_demo, default_demo_dir, is_complete

    folder = (args.dir or default_demo_dir()) / DEMO_NAME
    if args.rebuild and folder.exists():
        shutil.rmtree(folder)
    if not is_complete(folder):
        print(f"building the demo project in {folder} (once; a few minutes) ...", file=sys.stderr)
        started = time.perf_counter()
        build_demo(folder)
        print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(folder)
    if args.no_gui:
        return 0
    from hccdesk.gui.app import run

    return int(run(folder) or 0)
