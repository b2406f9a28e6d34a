"""Who is in the cohort: patients, studies, lesions and their recorded Edmondson grades.

Grades follow the paper's cohort (Edmondson I:II:III:IV = 1:20:24:1, 21 low and 25 high of 46 lesions)
scaled to any size, so ``46`` reproduces it exactly.  Like the paper, each patient has one study with one
lesion.  The recorded grade is the pathologist's; with probability ``label_noise`` the lesion's biology is of
the other class (sampling error of a biopsy or a heterogeneous resection), which caps any classifier below the
Bayes rate of the hidden variable.  Every study gets its own seed spawned from the cohort seed, so a study
renders identically whatever order or process renders it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hccdesk.errors import InputError
from hccdesk.phantom.traits import REFERENCE_DELTA, LesionTraits, sample_traits

PAPER_GRADES: dict[int, int] = {1: 1, 2: 20, 3: 24, 4: 1}
"""Edmondson grade -> lesions in the paper's 46-lesion cohort."""

LABEL_NOISE = 0.04
"""Chance that a lesion's biology is of the other class than its grade (docs/design/phantom.md: 3-5 %)."""


@dataclass(frozen=True)
class LesionPlan:
    lesion_id: str
    grade: int
    traits: LesionTraits


@dataclass(frozen=True)
class StudyPlan:
    patient_id: str
    study_id: str
    index: int
    seed: np.random.SeedSequence
    lesions: tuple[LesionPlan, ...]


def allocate_grades(n: int) -> list[int]:
    """Grades for ``n`` lesions in the paper's proportions (largest remainders), low and high counts first.

    The low/high split is rounded from 21/46 so 46 gives exactly 21 low and 25 high; within each class the
    grades keep the paper's ratio (I:II = 1:20, III:IV = 24:1).
    """
    n_low = round(n * 21 / 46)
    grades: list[int] = []
    for count, (a, b) in ((n_low, (1, 2)), (n - n_low, (3, 4))):
        total = PAPER_GRADES[a] + PAPER_GRADES[b]
        n_a = round(count * PAPER_GRADES[a] / total)
        grades += [a] * n_a + [b] * (count - n_a)
    return grades


def plan_cohort(
    n_lesions: int, seed: int, *, delta: float = REFERENCE_DELTA, label_noise: float = LABEL_NOISE
) -> list[StudyPlan]:
    """The cohort: one patient, study and lesion per recorded grade, in random order."""
    if n_lesions < 1:
        raise InputError(f"a phantom cohort needs at least one lesion, got {n_lesions}")
    if seed < 0:
        raise InputError(f"the phantom seed must be a non-negative integer, got {seed}")
    root = np.random.SeedSequence(seed)
    cohort_seed, *study_seeds = root.spawn(n_lesions + 1)
    rng = np.random.default_rng(cohort_seed)
    grades = rng.permutation(allocate_grades(n_lesions))
    plans = []
    for index, (grade, study_seed) in enumerate(zip(grades, study_seeds, strict=True)):
        recorded_high = grade >= 3
        truly_high = recorded_high != (rng.random() < label_noise)
        traits = sample_traits(rng, truly_high, delta)
        number = f"{index + 1:04d}"
        lesion = LesionPlan(f"L{number}", int(grade), traits)
        plans.append(StudyPlan(f"PH{number}", f"PH{number}-MR1", index, study_seed, (lesion,)))
    return plans
