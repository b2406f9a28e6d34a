"""Project commands: ``hccdesk project``, ``import``, ``lesions`` and ``export-masks``.

Only argparse and the standard library are imported here; handlers import the store when they run.  A command
that changes the project opens it with the write lock, does its work, saves and closes; a command that only
reads (``lesions list``/``export``, ``export-masks``, ``project info``) opens it read-only, so it also works
while the app has the project open (it then sees the last saved state).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SUFFIX = ".hccdesk"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``project``, ``import``, ``lesions`` and ``export-masks``."""
    project = subparsers.add_parser("project", help="create a project; recover or inspect one")
    actions = project.add_subparsers(dest="project_action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create an empty project folder NAME.hccdesk")
    create.add_argument(
        "path", type=Path, metavar="PATH", help="the new folder (.hccdesk is added if missing)"
    )
    create.set_defaults(handler=_run_create)
    recover = actions.add_parser(
        "recover",
        help="keep (or --discard) the unsaved edits of a session that ended without saving",
        description="When the app or a command died before saving, its edits wait in the project's autosave "
        "journal. This applies and saves them, or with --discard deletes them.",
    )
    recover.add_argument("project", type=Path, metavar="PROJECT")
    recover.add_argument("--discard", action="store_true", help="delete the unsaved edits instead")
    recover.set_defaults(handler=_run_recover)
    info = actions.add_parser("info", help="studies, lesions, grades, runs and models of a project")
    info.add_argument("project", type=Path, metavar="PROJECT")
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(handler=_run_info)
    backup = actions.add_parser(
        "use-backup",
        help="make project.h5.bak the project file when project.h5 is refused as damaged or altered",
        description="The last save is lost; the refused project.h5 is kept as project.h5.rejected-<time>. "
        "The backup is checked first: nothing changes unless it opens.",
    )
    backup.add_argument("project", type=Path, metavar="PROJECT")
    backup.set_defaults(handler=_run_use_backup)

    study = subparsers.add_parser(
        "import",
        help="add one study (DICOM/NIfTI) or a whole cohort (--manifest) to a project",
        description="Add one study: phases are identified from the series unless named with --phase; the "
        "arterial phase is the reference grid. Or import a cohort manifest (CSV: patient_id,study_id,phase,"
        "path; paths relative to the CSV's folder or absolute); each study is imported whole or not at all.",
    )
    study.add_argument("project", type=Path, metavar="PROJECT")
    _add_import_options(study)
    # argparse (before Python 3.13) binds an nargs="*" positional at its first chance, so PATHs given after
    # the options would be refused; everything after PROJECT is therefore re-parsed intermixed in the handler.
    study.add_argument(
        "rest", nargs=argparse.REMAINDER, metavar="PATH", help="DICOM folders/files, NIfTI files"
    )
    study.set_defaults(handler=_run_import)

    lesions = subparsers.add_parser("lesions", help="import, export or list lesion boxes and grades")
    lesion_actions = lesions.add_subparsers(dest="lesions_action", metavar="ACTION", required=True)
    imp = lesion_actions.add_parser(
        "import",
        help="add the lesions of a CSV (lesion_id,study_id,z0,y0,x0,z1,y1,x1,grade,notes)",
        description="Boxes are half-open voxel indices on the study's arterial grid in array order (slice, "
        "row, column); grade is the Edmondson grade 1-4 or empty. Bad rows are listed with their line "
        "numbers and nothing is imported.",
    )
    imp.add_argument("project", type=Path, metavar="PROJECT")
    imp.add_argument("csv", type=Path, metavar="CSV")
    imp.set_defaults(handler=_run_lesions_import)
    exp = lesion_actions.add_parser("export", help="write every lesion to a CSV in the import format")
    exp.add_argument("project", type=Path, metavar="PROJECT")
    exp.add_argument("out", type=Path, metavar="OUT.csv")
    exp.set_defaults(handler=_run_lesions_export)
    show = lesion_actions.add_parser("list", help="print the lesions (with the latest prediction, if any)")
    show.add_argument("project", type=Path, metavar="PROJECT")
    show.add_argument("--json", action="store_true", help="print a JSON list (boxes also in LPS mm)")
    show.set_defaults(handler=_run_lesions_list)

    masks = subparsers.add_parser(
        "export-masks",
        help="write per study a NIfTI label map of the lesion boxes and the reference volume",
        description="For ITK-SNAP / 3D Slicer: OUTDIR/<study>_arterial.nii.gz and <study>_lesions.nii.gz "
        "(box k of the study painted with label k) plus lesion_labels.csv mapping labels to lesions.",
    )
    masks.add_argument("project", type=Path, metavar="PROJECT")
    masks.add_argument("outdir", type=Path, metavar="OUTDIR")
    masks.add_argument("--force", action="store_true", help="overwrite files of an earlier export in OUTDIR")
    masks.set_defaults(handler=_run_export_masks)


def register_bench(bench_subparsers: argparse._SubParsersAction) -> None:
    """Add ``bench crash-save``."""
    bench = bench_subparsers.add_parser(
        "crash-save",
        help="kill -9 a process in the middle of saves, repeatedly; count damaged projects and lost edits",
        description="Budget (docs/design/architecture.md §9): 0 damaged projects in 100 tries. "
        "Each try starts a process that edits and "
        "saves in a loop, kills it with SIGKILL after a random delay, and checks that the project opens "
        "(without its backup) holding every edit whose save had returned.",
    )
    bench.add_argument("--tries", type=int, default=100, help="number of kills (default 100)")
    bench.add_argument("--seed", type=int, default=0, help="seed of the random kill delays")
    bench.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary folder)")
    bench.add_argument("--json", action="store_true", help="print the result as JSON")
    bench.set_defaults(handler=_run_bench_crash)


def _add_import_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--patient", metavar="P", help="pseudonymous patient id (never a name)")
    parser.add_argument("--study", metavar="S", help="pseudonymous study id, unique in the project")
    parser.add_argument(
        "--phase",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="the series of one phase (pre, arterial, portal, delayed); repeatable",
    )
    parser.add_argument("--manifest", type=Path, metavar="CSV", help="import every study listed in CSV")


def _import_arguments(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with the options and PATHs that followed PROJECT parsed in any order."""
    parser = argparse.ArgumentParser(prog="hccdesk import PROJECT")
    _add_import_options(parser)
    parser.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="DICOM folders/files, NIfTI files"
    )
    return parser.parse_intermixed_args(args.rest, namespace=args)


# ------------------------------------------------------------------------------------------------- helpers
def _warn(message: str) -> None:
    print(f"hccdesk: warning: {message}", file=sys.stderr)


@contextmanager
def _opened(folder: Path, *, write: bool) -> Iterator[Any]:
    """The project, opened for one command: saved at the end when ``write``, closed in every case.

    A writing command is one :meth:`~hccdesk.store.project.Project.transaction`: all of its edits are saved,
    or none.  When it fails for any reason (an expected error, a bug, Ctrl-C) the project stays as it was
    before the command, journal included: nothing is left for ``project recover`` to replay half of.  Only a
    kill or power cut between the journal write and the save leaves the command's edits, whole, in the
    journal.  Unsaved edits of an earlier session make a writing command stop and say how to deal with them
    first.
    """
    from hccdesk.errors import ProjectError
    from hccdesk.store.project import Project

    project = Project.open(folder, read_only=not write)
    discard = False
    try:
        for warning in project.warnings:
            _warn(warning)
        if not write:
            yield project
            return
        if project.pending_recovery is not None:
            raise ProjectError(
                f"{folder} has {project.pending_recovery.describe()}; keep them with `hccdesk project "
                f"recover {folder}` (or drop them with --discard), then run this command again"
            )
        with project.transaction():
            yield project
        project.save()
    except BaseException:
        discard = True
        raise
    finally:
        project.close(discard_unsaved=discard)


# ------------------------------------------------------------------------------------------------ handlers
def _run_create(args: argparse.Namespace) -> int:
    from hccdesk.store.project import Project

    path: Path = (
        args.path if args.path.name.endswith(SUFFIX) else args.path.with_name(args.path.name + SUFFIX)
    )
    Project.create(path).close()
    print(path)
    return 0


def _run_recover(args: argparse.Namespace) -> int:
    from hccdesk.store.project import Project

    with Project.open(args.project) as project:
        for warning in project.warnings:
            _warn(warning)
        pending = project.pending_recovery
        if pending is None:
            print(f"{args.project}: no unsaved edits to recover")
            return 0
        if args.discard:
            project.discard_recovery()
            print(f"deleted {pending.describe()}")
        else:
            shown = len(project.warnings)
            project.recover()
            for warning in project.warnings[shown:-1]:  # edits left out; the last one is the summary
                _warn(warning)
            project.save()
            print(f"recovered and saved {pending.describe()}")
    return 0


def _summary(project: Any) -> dict[str, Any]:
    grades: dict[str, int] = {}
    for lesion in project.lesions.values():
        key = "unknown" if lesion.grade is None else str(lesion.grade)
        grades[key] = grades.get(key, 0) + 1
    return {
        "project": str(project.folder),
        "patients": len({s.patient_id for s in project.studies.values()}),
        "studies": {
            s.id: {"patient_id": s.patient_id, "phases": list(s.phases), "shape": list(s.shape)}
            for s in project.studies.values()
        },
        "lesions": len(project.lesions),
        "grades": dict(sorted(grades.items())),
        "runs": {r.id: {"variant": r.variant, "status": r.status} for r in project.runs.values()},
        "models": {
            m.id: {"variant": m.variant, "lesions": len(m.lesion_ids)} for m in project.models.values()
        },
        "predictions": len(project.predictions()),
        "unsaved_edits": len(project.pending_recovery.edits) if project.pending_recovery else 0,
    }


def _run_use_backup(args: argparse.Namespace) -> int:
    from hccdesk.errors import ProjectError
    from hccdesk.store import projectfile
    from hccdesk.store.lock import ProjectLock
    from hccdesk.store.project import Project, RecordsInvalid

    folder: Path = args.project
    if not (folder / projectfile.BACKUP_FILE).is_file():
        raise ProjectError(f"{folder} has no backup ({projectfile.BACKUP_FILE}) to go back to")
    lock, note = ProjectLock.acquire(folder)
    try:
        if note:
            _warn(note)
        backup = projectfile.read_document(folder / projectfile.BACKUP_FILE)
        try:
            Project(folder, backup, lock=None)
        except RecordsInvalid as error:
            raise ProjectError(
                f"the backup {projectfile.BACKUP_FILE} holds {error} too; nothing was changed"
            ) from None
        kept = projectfile.use_backup(folder)
    finally:
        lock.release()
    print(
        f"{folder}: the backup saved at {backup['attrs'].get('saved', '?')} is the project file now; "
        f"the refused file is kept as {kept.name}"
    )
    return 0


def _run_info(args: argparse.Namespace) -> int:
    with _opened(args.project, write=False) as project:
        summary = _summary(project)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(
        f"{summary['project']}: {summary['patients']} patient(s), {len(summary['studies'])} study(ies), "
        f"{summary['lesions']} lesion(s)"
    )
    grades = ", ".join(f"{k}: {n}" for k, n in summary["grades"].items()) or "none"
    print(
        f"grades {grades}; {len(summary['runs'])} run(s), {len(summary['models'])} model(s), "
        f"{summary['predictions']} prediction(s)"
    )
    if summary["unsaved_edits"]:
        print(f"{summary['unsaved_edits']} unsaved edit(s) waiting: see `hccdesk project recover`")
    return 0


def _phase_overrides(values: list[str]) -> dict[str, Path]:
    from hccdesk.errors import InputError

    overrides: dict[str, Path] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise InputError(f"--phase {value!r}: expected NAME=PATH, e.g. --phase arterial=series/5")
        if name.strip().lower() in overrides:
            raise InputError(f"--phase {name} is given twice")
        overrides[name.strip().lower()] = Path(path)
    return overrides


def _describe_study(study: Any) -> str:
    grid = "x".join(str(n) for n in study.shape)
    spacing = "x".join(f"{v:.2f}" for v in study.spacing)
    phases = ", ".join(study.phases)
    return f"study {study.id} (patient {study.patient_id}): {phases} on a {grid} grid of {spacing} mm"


def _run_import(args: argparse.Namespace) -> int:
    from hccdesk.errors import CsvError, InputError
    from hccdesk.store.import_export import import_manifest, import_study
    from hccdesk.store.manifest import ManifestImportError

    args = _import_arguments(args)
    if args.manifest is not None:
        if args.patient or args.study or args.phase or args.paths:
            raise InputError("--manifest imports a whole cohort: give no --patient, --study, --phase or PATH")
        with _opened(args.project, write=True) as project:
            try:
                studies = import_manifest(project, args.manifest)
            except ManifestImportError as error:
                # The command is all-or-nothing: the studies that did import are dropped with the rest.
                raise CsvError(str(args.manifest), error.problems) from None
        for study in studies:
            print(f"imported {_describe_study(study)}")
        print(f"imported {len(studies)} study(ies) from {args.manifest}")
        return 0
    if not args.patient or not args.study:
        raise InputError("give --patient and --study (pseudonymous ids), or --manifest CSV")
    overrides = _phase_overrides(args.phase)
    if not overrides and not args.paths:
        raise InputError("give the images: DICOM folders/files or NIfTI files, and/or --phase NAME=PATH")
    notes: list[str] = []
    with _opened(args.project, write=True) as project:
        study = import_study(project, args.patient, args.study, args.paths, overrides, notes)
    for note in notes:
        _warn(note)
    print(f"imported {_describe_study(study)}")
    return 0


def _run_lesions_import(args: argparse.Namespace) -> int:
    from hccdesk.store.import_export import import_lesions_csv

    with _opened(args.project, write=True) as project:
        lesions = import_lesions_csv(project, args.csv)
    print(f"imported {len(lesions)} lesion(s) from {args.csv}")
    return 0


def _run_lesions_export(args: argparse.Namespace) -> int:
    from hccdesk.store.import_export import export_lesions_csv

    with _opened(args.project, write=False) as project:
        export_lesions_csv(project, args.out)
        count = len(project.lesions)
    print(f"wrote {count} lesion(s) to {args.out}")
    return 0


def _lesion_rows(project: Any) -> list[dict[str, Any]]:
    from hccdesk.store.codec import to_dict

    rows = []
    for lesion in sorted(project.lesions.values(), key=lambda x: (x.study_id, x.id)):
        study = project.studies[lesion.study_id]
        row = to_dict(lesion)
        row["label"] = lesion.label
        row["box_lps_mm"] = lesion.box.world_corners(study.affine_array).round(3).tolist()
        latest = project.predictions(lesion.id)
        row["prediction"] = to_dict(latest[0]) if latest else None
        rows.append(row)
    return rows


def _run_lesions_list(args: argparse.Namespace) -> int:
    with _opened(args.project, write=False) as project:
        rows = _lesion_rows(project)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    print(
        f"{'lesion':<14} {'study':<12} {'box z0 y0 x0 z1 y1 x1':<26} {'grade':>5} {'label':<5} {'P(high)':>7}"
    )
    for row in rows:
        box = " ".join(str(row["box"][k]) for k in ("z0", "y0", "x0", "z1", "y1", "x1"))
        grade = "" if row["grade"] is None else str(row["grade"])
        p_high = f"{row['prediction']['p_high']:.2f}" if row["prediction"] else ""
        print(
            f"{row['id']:<14} {row['study_id']:<12} {box:<26} {grade:>5} {row['label'] or '':<5} {p_high:>7}"
        )
    return 0


def _run_export_masks(args: argparse.Namespace) -> int:
    from hccdesk.store.masks import export_masks

    with _opened(args.project, write=False) as project:
        written = export_masks(project, args.outdir, overwrite=args.force)
    print(f"wrote {len(written)} file(s) to {args.outdir}")
    return 0


def _run_bench_crash(args: argparse.Namespace) -> int:
    import tempfile

    from hccdesk.errors import InputError
    from hccdesk.store.crashbench import crash_trials

    if args.tries < 1:
        raise InputError(f"--tries {args.tries}: give at least 1 kill (the budget is 0 damaged in 100)")
    if args.dir is not None and not args.dir.is_dir():
        raise InputError(f"--dir {args.dir} is not a folder; give an existing folder to work in")
    with tempfile.TemporaryDirectory(dir=args.dir) as work:
        start = time.perf_counter()
        trials = crash_trials(Path(work) / "crash.hccdesk", args.tries, args.seed)
        elapsed = time.perf_counter() - start
    damaged = [t for t in trials if t.problems]
    result: dict[str, Any] = {
        "tries": len(trials),
        "damaged_or_lost": len(damaged),
        "kills_inside_a_save": sum(t.killed_in_save for t in trials),
        "saves_completed": sum(t.saves for t in trials),
        "problems": [p for t in damaged for p in t.problems],
        "seconds": round(elapsed, 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['tries']} kills ({result['kills_inside_a_save']} inside a save, "
            f"{result['saves_completed']} saves completed): {result['damaged_or_lost']} damaged project(s) "
            f"or lost edit(s); budget 0 in 100 [{result['seconds']} s]"
        )
        for problem in result["problems"]:
            print(f"  {problem}")
    return 0 if not damaged else 1
