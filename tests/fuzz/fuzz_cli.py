"""Throw generated hostile files and lesion CSV rows at ``hccdesk inspect``, ``import``, ``lesions import``.

Usage::

    .venv/bin/python tests/fuzz/fuzz_cli.py [--cases 240] [--seed 11] [--timeout 60] [--jobs 2]
                                            [--memory-mib 1024] [--work DIR] [--json OUT]

Every command runs in its own process (the real CLI, ``python -m hccdesk``) under a timeout; its peak
resident memory is measured by GNU time (``/usr/bin/time``; not measured where it is missing).  A case
counts as

* a **hang** when a command outlives the timeout;
* a **traceback** when a command exits with anything but 0 or 2, or prints ``Traceback``;
* a **multi-line error** when a command exits 2 with other than exactly one stderr line;
* a **changed project** when a refused command did not leave the project byte-identical;
* a **non-finite stored value** when an accepted import stored NaN or infinity in the study images;
* an **identity leak** when an accepted import stored any of the identity strings typed into the files;
* **over memory** when a command's peak resident memory exceeds ``--memory-mib``.

The run prints one line per finding and a summary, and exits 1 when any count but the last is non-zero or
memory was exceeded.  The figures of a full run are in docs/developer/robustness-imaging.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hostile_inputs import AFFINE_RAS, IDENTITY_TEXT, Case, generate, smooth_volume

FINDINGS = ("hang", "traceback", "multi_line_error", "changed_project", "non_finite_stored", "identity_leak")
DEFAULT_MEMORY_MIB = 1024


@dataclass
class Run:
    """One command of one case."""

    case: str
    command: str
    status: int | None
    stderr: str
    seconds: float
    peak_mib: float
    findings: list[str] = field(default_factory=list)


GNU_TIME = Path("/usr/bin/time")
"""Measures each command's peak resident memory.  ``wait4`` from this process would not do: a child's
``ru_maxrss`` starts at this (numpy- and pydicom-laden) process's size when it is forked, before ``exec``."""


def run_command(args: list[str], timeout: float) -> tuple[int | None, str, float, float]:
    """(exit status or None on timeout, stderr, seconds, peak RSS in MiB or NaN) of ``hccdesk ARGS``."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        rss = Path(scratch) / "rss"
        command = [sys.executable, "-m", "hccdesk", *args]
        if GNU_TIME.exists():
            command = [str(GNU_TIME), "-q", "-f", "%M", "-o", str(rss), *command]
        with open(Path(scratch) / "stderr", "w+b") as err:
            process = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True
            )
            status: int | None
            try:
                status = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # the whole group: GNU time and hccdesk
                process.wait()
                status = None
            err.seek(0)
            stderr = err.read().decode("utf-8", "replace")
        text = rss.read_text().strip() if rss.exists() else ""
        peak = int(text.splitlines()[-1]) / 1024 if text and text.splitlines()[-1].isdigit() else float("nan")
    return status, stderr, time.monotonic() - start, peak


def fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def stored_problems(project: Path) -> list[str]:
    """Non-finite voxels in any study image, and identity strings in any byte of the project."""
    import h5py

    problems = []
    for images in sorted((project / "images").glob("*.h5")):
        with h5py.File(images, "r") as f:
            for name, dataset in f["phases"].items():
                data = dataset[()]
                if data.dtype.kind == "f" and not np.isfinite(data).all():
                    problems.append(f"non_finite_stored: {images.name}/{name}")
    for path in (p for p in project.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("latin-1").lower()
        problems += [f"identity_leak: {path.name} holds {s!r}" for s in IDENTITY_TEXT if s.lower() in text]
    return problems


def make_template(work: Path) -> Path:
    """A project with study S1 (arterial only), the starting point of every case."""
    import nibabel as nib

    template = work / "template.hccdesk"
    arterial = work / "template_arterial.nii.gz"
    nib.save(nib.Nifti1Image(smooth_volume(np.random.default_rng(0)), AFFINE_RAS), arterial)
    for args in (
        ["project", "create", str(template)],
        ["import", str(template), "--patient", "P1", "--study", "S1", "--phase", f"arterial={arterial}"],
    ):
        status, stderr, _, _ = run_command(args, 300)
        if status != 0:
            raise SystemExit(f"cannot build the template project: {stderr}")
    return template


def commands_of(case: Case, project: Path) -> list[tuple[str, list[str]]]:
    paths = [str(p) for p in case.paths]
    new_study = ["--patient", "P2", "--study", "S2"]
    if case.kind == "csv":
        return [("lesions import", ["lesions", "import", str(project), paths[0]])]
    if case.kind == "phases":
        phases = [arg for name, path in case.phases.items() for arg in ("--phase", f"{name}={path}")]
        return [("import", ["import", str(project), *new_study, *phases])]
    return [("inspect", ["inspect", *paths]), ("import", ["import", str(project), *new_study, *paths])]


def run_case(case: Case, template: Path, work: Path, timeout: float, memory_mib: float) -> list[Run]:
    project = work / "projects" / case.name[:80].replace("\n", "_")
    shutil.copytree(template, project)
    runs = []
    for label, args in commands_of(case, project):
        before = fingerprint(project)
        status, stderr, seconds, peak = run_command(args, timeout)
        run = Run(case.name, label, status, stderr, seconds, peak)
        if status is None:
            run.findings.append("hang")
        elif status not in (0, 2) or "Traceback" in stderr:
            run.findings.append("traceback")
        elif status == 2 and (not stderr.startswith("hccdesk: error: ") or stderr.count("\n") != 1):
            run.findings.append("multi_line_error")
        if status == 2 and label != "inspect" and fingerprint(project) != before:
            run.findings.append("changed_project")
        if status == 0 and label != "inspect":
            run.findings += [problem.split(":")[0] for problem in stored_problems(project)]
        if peak > memory_mib:
            run.findings.append("over_memory")
        runs.append(run)
    shutil.rmtree(project, ignore_errors=True)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=240)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per command")
    parser.add_argument(
        "--memory-mib", type=float, default=DEFAULT_MEMORY_MIB, help="peak RSS bound per command"
    )
    parser.add_argument("--work", type=Path, help="folder for the generated files (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="write every run's record here")
    parser.add_argument("--jobs", type=int, default=1, help="cases run at the same time")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="hccdesk-fuzz-"))
    work.mkdir(parents=True, exist_ok=True)
    template = make_template(work)
    cases = generate(args.cases, args.seed, work / "inputs")
    runs: list[Run] = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = pool.map(lambda case: run_case(case, template, work, args.timeout, args.memory_mib), cases)
        for number, case_runs in enumerate(results, 1):
            runs += case_runs
            for run, finding in ((r, f) for r in case_runs for f in r.findings):
                detail = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ""
                print(
                    f"[{number}/{len(cases)}] {finding}: {run.command} {run.case!r}: {detail[:300]}",
                    flush=True,
                )
    counts = Counter(finding for run in runs for finding in run.findings)
    kinds = Counter(case.family for case in cases)
    peaks = [run.peak_mib for run in runs if run.peak_mib == run.peak_mib]
    peak = max(peaks) if peaks else float("nan")
    statuses = Counter((run.command, run.status) for run in runs)
    mix = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    print(
        f"cases {len(cases)} ({mix}), commands {len(runs)}: "
        + ", ".join(f"{name} {counts[name]}" for name in FINDINGS)
        + f"; peak RSS {peak:.0f} MiB (bound {args.memory_mib:.0f} MiB); slowest command "
        f"{max(run.seconds for run in runs):.1f} s (timeout {args.timeout:.0f} s)"
    )
    print(
        "exit statuses: " + ", ".join(f"{c} -> {s}: {n}" for (c, s), n in sorted(statuses.items(), key=str))
    )
    if args.json:
        args.json.write_text(json.dumps([run.__dict__ for run in runs], indent=1))
    bad = sum(counts[name] for name in FINDINGS) + counts["over_memory"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
