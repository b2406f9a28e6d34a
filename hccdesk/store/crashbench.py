"""Kill -9 during saves, repeated: the crash-safety check behind ``hccdesk bench crash-save`` and its test.

A child process opens the project, then edits and saves in a tight loop, printing ``saving`` before each
save and the new lesion's id after ``save()`` returned.  A random delay after its first save began, it gets
SIGKILL, like an app that crashes or is killed by the system.  Then the project must open without falling
back to its backup, and ``project.h5`` by itself (the journal not applied) must hold every lesion reported
saved; the journal must then apply on top of it.  The next child works on the same folder, so stale locks,
temp files and journals pile up as they would for a user whose app keeps crashing.
docs/design/architecture.md §9 sets the budget: 0 damaged projects in 100 tries.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hccdesk.imaging.volume import Volume
from hccdesk.store.project import Project
from hccdesk.store.records import RunRecord

_CHILD = """
import sys
from hccdesk.store.project import Project
from hccdesk.store.records import Box, Prediction
with Project.open(sys.argv[1], recover=True) as project:
    study = next(iter(project.studies))
    n = 0
    while True:
        lesion = project.add_lesion(study, Box(1, 1, 1, 3, 3, 3), grade=n % 4 + 1, notes=f"edit {n}")
        project.update_lesion(lesion.id, notes=f"edited {n}")
        project.add_predictions([Prediction(lesion.id, "run:bulk", 0.5, 0.1, 4)])
        print("saving", flush=True)
        project.save()
        print(lesion.id, flush=True)
        n += 1
"""


@dataclass
class Trial:
    """One kill: saves completed before it, whether it hit a save, and what went wrong (if anything)."""

    saves: int
    killed_in_save: bool
    problems: list[str] = field(default_factory=list)


def prepare(folder: Path) -> None:
    """A project with one small study and a bulky run record (~200 kB per save, so kills hit saves often)."""
    with Project.create(folder) as project:
        affine = np.diag([1.5, 1.5, 3.0, 1.0])
        array = np.zeros((8, 16, 16), dtype=np.int16)
        project.add_study("P1", "S1", {"arterial": Volume(array, affine, "arterial")})
        oof = [{"lesion_id": f"L{i}", "repeat": i % 10, "p_high": i / 4000} for i in range(4000)]
        project.put_run(RunRecord("bulk", "3d-cifa", {"folds": 4}, status="done", oof=oof))
        project.save()


def _kill_child(folder: Path, delay_s: float) -> list[str]:
    """Start a child, wait for its first save to begin, kill it ``delay_s`` later; returns what it printed.

    The delay counts from the first save, not from the start, so that on a busy machine, where starting
    Python and opening the project can take longer than the whole delay, the kills still land among saves.
    """
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    first = child.stdout.readline()  # "saving", or "" when the child died before its first save
    time.sleep(delay_s)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    return [*first.split(), *child.stdout.read().split()]


def _check(folder: Path, saved: set[str]) -> list[str]:
    """What is wrong with the project after a kill (an empty list when nothing is)."""
    problems = []
    try:
        with Project.open(folder) as project:
            problems += [w for w in project.warnings if "stale lock" not in w]
            lost = saved - set(project.lesions)
            if lost:
                problems.append(f"saved lesions missing from project.h5: {sorted(lost)}")
            if project.pending_recovery is not None:
                in_file = set(project.lesions)
                project.recover()
                if not in_file <= set(project.lesions):
                    problems.append("recovering the journal removed lesions that no edit deleted")
    except Exception as error:  # any failure to open is what this check reports
        problems.append(f"{type(error).__name__}: {error}")
    return problems


def crash_trials(folder: Path, tries: int, seed: int = 0, max_delay_s: float = 1.2) -> list[Trial]:
    """Run ``tries`` kills on a fresh project at ``folder``; one :class:`Trial` per kill."""
    prepare(folder)
    rng = random.Random(seed)
    saved: set[str] = set()
    trials = []
    for _ in range(tries):
        lines = _kill_child(folder, rng.uniform(0.25, max_delay_s))
        ids = [line for line in lines if line != "saving"]
        saved |= set(ids)
        trials.append(Trial(len(ids), bool(lines) and lines[-1] == "saving", _check(folder, saved)))
    return trials
