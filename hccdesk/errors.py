"""Expected failures of HCC Desk.

Every error a user can cause (a bad file, a locked project, a missing phase, a model that does not fit the
project) is a subclass of :class:`HccdeskError`.  Its message is one line that says what happened and what to
do about it.  The CLI prints it and exits with status 2; the GUI shows it in a dialog and keeps running.
Anything else that escapes is a bug and is allowed to produce a traceback (exit status 1).
"""

from __future__ import annotations


class HccdeskError(Exception):
    """An expected failure whose message is meant for the user."""


class InputError(HccdeskError):
    """A path, argument or value given by the user cannot be used (missing file, bad option value)."""


class ImportRefused(HccdeskError):
    """An image series cannot be turned into a trustworthy volume.

    Parameters
    ----------
    reason
        A machine-readable reason, one of :data:`REJECT_REASONS` (tests and ``inspect --json`` use it).
    message
        The one-line explanation for the user.
    series_uid, paths
        Which series and files were refused, so the report can name them.
    """

    REJECT_REASONS = (
        "gap_or_uneven_spacing",
        "too_few_slices",
        "gantry_tilt",
        "mixed_orientation",
        "not_a_volume",
        "undecodable_transfer_syntax",
        "unsupported",
    )

    def __init__(self, reason: str, message: str, series_uid: str = "", paths: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.reason = reason
        self.series_uid = series_uid
        self.paths = tuple(paths)


class ProjectError(HccdeskError):
    """A project folder cannot be opened, read or saved."""


class ProjectLocked(ProjectError):
    """Another HCC Desk instance holds the project's write lock."""


class SchemaTooNew(ProjectError):
    """The project was written by a newer HCC Desk than this one."""


class CsvError(HccdeskError):
    """A CSV file has bad rows; the message lists them with their line numbers and nothing was imported."""

    def __init__(self, path: str, problems: list[tuple[int, str]]) -> None:
        self.path = path
        self.problems = list(problems)
        shown = "; ".join(f"line {line}: {text}" for line, text in self.problems[:10])
        more = f" (and {len(self.problems) - 10} more)" if len(self.problems) > 10 else ""
        super().__init__(f"{path}: {len(self.problems)} bad row(s), nothing imported: {shown}{more}")


class ModelError(HccdeskError):
    """A model or variant is unknown, missing, or does not fit the project."""


class JobError(HccdeskError):
    """A background job (training, cross-validation, grading) failed; the project is unchanged."""


class JobCancelled(HccdeskError):
    """A background job was cancelled by the user; finished work was kept."""
