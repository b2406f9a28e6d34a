"""``hccdesk phantom`` (write a synthetic cohort) and the build step of ``hccdesk demo``.

``hccdesk demo`` opens the app, so its parser and GUI launch live on the GUI side
(:mod:`hccdesk.gui.commands`); the phantom package only builds the project (:func:`prepare_demo`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hccdesk.phantom.presets import PRESETS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``phantom`` subcommand."""
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


def prepare_demo(root: Path | None, *, rebuild: bool = False) -> Path:
    """Return the demo project's folder under ``root`` (default :func:`default_demo_dir`), building it once.

    The build takes minutes, so it says so on stderr first; stdout stays free for the folder's path, which
    scripts read.  ``rebuild`` deletes an existing demo and builds it again.
    """
    import shutil

    from hccdesk.phantom.demo import DEMO_NAME, build_demo, default_demo_dir, is_complete

    folder = (root or default_demo_dir()) / DEMO_NAME
    if rebuild and folder.exists():
        shutil.rmtree(folder)
    if not is_complete(folder):
        print(f"building the demo project in {folder} (once; a few minutes) ...", file=sys.stderr)
        started = time.perf_counter()
        build_demo(folder)
        print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return folder
