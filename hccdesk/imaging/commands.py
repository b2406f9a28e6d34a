"""Imaging commands: ``hccdesk inspect``, ``hccdesk convert`` and ``hccdesk bench import``.

Only argparse and the standard library are imported here; the handlers import the importer when they run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

DEFAULT_BENCH_CACHE = Path("~/.cache/hccdesk/bench-import")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``inspect`` and ``convert``."""
    inspect = subparsers.add_parser(
        "inspect",
        help="list the volumes, refused series and skipped files found in DICOM/NIfTI files and folders",
        description="Scan files and folders (recursively) for DICOM series and NIfTI files and list what "
        "would be imported. Exit 0 when at least one volume was found, 2 when none.",
    )
    inspect.add_argument("paths", nargs="+", metavar="PATH", help="DICOM/NIfTI files or folders")
    inspect.add_argument("--json", action="store_true", help="print the machine-readable report on stdout")
    inspect.set_defaults(handler=_run_inspect)

    convert = subparsers.add_parser(
        "convert",
        help="write every volume found as DIR/<id>.nii.gz plus DIR/volumes.json",
        description="Import DICOM series and NIfTI files and write each volume as NIfTI (RAS affine) with a "
        "volumes.json report (the inspect --json document).",
    )
    convert.add_argument("paths", nargs="+", metavar="PATH", help="DICOM/NIfTI files or folders")
    convert.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder (created)")
    convert.set_defaults(handler=_run_convert)


def register_bench(bench_subparsers: argparse._SubParsersAction) -> None:
    """Add ``bench import``."""
    parser = bench_subparsers.add_parser(
        "import",
        help="time DICOM import of a 4-phase study (4 x 88 x 512^2) against SimpleITK's ImageSeriesReader",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_BENCH_CACHE,
        metavar="DIR",
        help=f"where the generated study is kept between runs (default {DEFAULT_BENCH_CACHE})",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs of each importer (best is reported)"
    )
    parser.set_defaults(handler=_run_bench)


def _scan(paths: list[str]) -> Any:
    from hccdesk.imaging.scan import scan_paths

    return scan_paths(paths)


def _nothing_found(result: Any) -> Exception:
    from hccdesk.errors import InputError

    detail = f"; first refusal: {result.rejected[0].message}" if result.rejected else ""
    counts = f"{len(result.rejected)} series refused, {len(result.skipped)} files skipped"
    return InputError(f"no volume found ({counts}){detail}")


def _run_inspect(args: argparse.Namespace) -> int:
    import json

    result = _scan(args.paths)
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_report(result)
    sys.stdout.flush()
    if not result.volumes:
        raise _nothing_found(result)
    return 0


def _print_report(result: Any) -> None:
    print(f"{len(result.volumes)} volume(s)")
    for volume in result.volumes:
        spacing = " x ".join(f"{v:.4g}" for v in volume.spacing)
        shape = " x ".join(str(n) for n in volume.shape)
        print(
            f"  {volume.id:<16} {volume.phase or '-':<9} {shape:<14} {spacing:<22} mm  {volume.array.dtype}"
            f"  {len(volume.source.paths)} file(s)  {volume.source.series_description!r}"
        )
        for warning in volume.warnings:
            print(f"      warning: {warning}")
    if result.rejected:
        print(f"{len(result.rejected)} refused series")
        for rejected in result.rejected:
            print(f"  [{rejected.reason}] {rejected.message} ({len(rejected.paths)} file(s))")
    if result.skipped:
        print(f"{len(result.skipped)} skipped file(s)")
        for skipped in result.skipped:
            print(f"  {skipped.path}: {skipped.reason}")


def _run_convert(args: argparse.Namespace) -> int:
    import json

    from hccdesk.errors import InputError
    from hccdesk.imaging.nifti import write_nifti

    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder; give --out a folder")
    result = _scan(args.paths)
    if not result.volumes:
        raise _nothing_found(result)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for volume in result.volumes:
            path = write_nifti(volume, out / f"{volume.id}.nii.gz")
            print(f"{path}  ({volume.phase or 'phase unknown'}, {' x '.join(map(str, volume.shape))})")
        (out / "volumes.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    except OSError as error:
        raise InputError(f"{out}: cannot write ({error.strerror or error})") from error
    print(f"{len(result.volumes)} volume(s) written to {out}; report in {out / 'volumes.json'}")
    return 0


def _run_bench(args: argparse.Namespace) -> int:
    from hccdesk.errors import InputError

    try:
        import SimpleITK  # noqa: F401  (only to fail early with a clear message)
    except ImportError as error:
        raise InputError(
            "the import benchmark needs SimpleITK: install the dev extra (pip install -e .[dev])"
        ) from error
    from hccdesk.imaging import bench

    if args.repeats < 1:
        raise InputError("--repeats must be at least 1")
    cache = Path(os.path.expanduser(args.cache))
    print(
        f"study: {len(bench.BENCH_PHASES)} series x {bench.SLICES} slices of {bench.SIZE}^2 int16 in {cache}"
    )
    result = bench.run(cache, repeats=args.repeats)
    for name, seconds in (("hccdesk", result.ours_s), ("SimpleITK", result.simpleitk_s)):
        print(
            f"  {name:<10} {seconds:7.3f} s  {result.files / seconds:7.0f} files/s  "
            f"{result.megabytes / seconds:7.0f} MB/s"
        )
    verdict = "faster" if result.ratio < 1.0 else "slower"
    print(
        f"  ratio hccdesk/SimpleITK = {result.ratio:.2f} (hccdesk is {verdict}; best of {args.repeats}, "
        f"{result.files} files, {result.megabytes:.0f} MB)"
    )
    return 0
