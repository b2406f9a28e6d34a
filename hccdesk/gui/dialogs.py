"""Message boxes for errors, and the guard that turns any action's exception into one (the app keeps running).

An :class:`~hccdesk.errors.HccdeskError` is an expected failure whose message already says what to do, so it
is shown as it is.  Anything else is a bug: it is shown with its type and printed with its traceback to
stderr, and the app carries on with the project untouched (edits are applied only after an action succeeds).
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from typing import Any

from PySide6 import QtWidgets

from hccdesk.errors import HccdeskError


def show_error(parent: QtWidgets.QWidget | None, title: str, error: BaseException | str) -> None:
    """Show ``error`` in a critical message box titled ``title``."""
    if isinstance(error, BaseException) and not isinstance(error, HccdeskError):
        traceback.print_exception(error, file=sys.stderr)
        name = type(error).__name__
        text = f"Unexpected error ({name}): {error}\n\nThe action left the project unchanged."
    else:
        text = str(error)
    QtWidgets.QMessageBox.critical(parent, title, text)


def guarded(title: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a widget method so an exception it raises becomes an error dialog instead of a crash."""

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(self: QtWidgets.QWidget, *args: Any) -> Any:
            try:
                return method(self, *args)
            except Exception as error:
                show_error(self, title, error)
                return None

        return wrapper

    return decorate


def ask_unsaved(parent: QtWidgets.QWidget, what: str) -> QtWidgets.QMessageBox.StandardButton:
    """Save / Discard / Cancel before ``what`` (closing, opening another project)."""
    buttons = (
        QtWidgets.QMessageBox.StandardButton.Save
        | QtWidgets.QMessageBox.StandardButton.Discard
        | QtWidgets.QMessageBox.StandardButton.Cancel
    )
    return QtWidgets.QMessageBox.question(
        parent, "Unsaved changes", f"The project has unsaved changes. Save them before {what}?", buttons
    )
