"""Reading a user's CSV file into rows with line numbers, or one :class:`~hccdesk.errors.CsvError` listing
why not.

Shared by the manifest and lesion imports.  The file is decoded as UTF-8 (a spreadsheet's byte-order mark is
accepted), the header is matched case- and space-insensitively, rows that are entirely empty are skipped (a
spreadsheet's trailing blank lines), quoting is strict (an unclosed quote is an error, not a field that
swallows the rest of the file), and every problem is reported with the line it is on so the user can fix the
file in one pass.  Nothing here touches the project: callers validate everything before changing anything.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hccdesk.errors import CsvError, InputError


@dataclass(frozen=True)
class Row:
    """One data row: ``line`` is where it starts in the file, ``values`` maps column -> stripped text."""

    line: int
    values: dict[str, str]


def read_table(path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> list[Row]:
    """The rows of CSV file ``path`` whose header names exactly ``required`` plus any of ``optional``.

    Raises
    ------
    InputError
        The file cannot be opened.
    CsvError
        Bad encoding, a bad header, a malformed row or a row with the wrong number of fields.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from error
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CsvError(str(path), [(line, "not UTF-8 text; save the file as CSV UTF-8")]) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise CsvError(str(path), [(1, f"unreadable header: {error}")]) from None
    if header is None:
        raise CsvError(str(path), [(1, f"the file is empty; expected the header {','.join(required)}")])
    columns = [name.strip().lower() for name in header]
    _check_header(path, columns, required, optional)
    rows: list[Row] = []
    problems: list[tuple[int, str]] = []
    start = reader.line_num + 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append((start, f"malformed CSV in the row starting here: {error}"))
            break
        line, start = start, reader.line_num + 1
        if not any(field.strip() for field in fields):
            continue
        if len(fields) != len(columns):
            problems.append(
                (line, f"expected {len(columns)} fields ({','.join(columns)}), found {len(fields)}")
            )
            continue
        rows.append(Row(line, {name: value.strip() for name, value in zip(columns, fields, strict=True)}))
    if problems:
        raise CsvError(str(path), problems)
    return rows


def _check_header(path: Path, columns: list[str], required: Sequence[str], optional: Sequence[str]) -> None:
    missing = [name for name in required if name not in columns]
    unknown = [name for name in columns if name not in required and name not in optional]
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s) {', '.join(repr(n) for n in unknown)}")
    if repeated:
        problems.append(f"repeated column(s) {', '.join(repeated)}")
    if problems:
        expected = ",".join([*required, *optional])
        raise CsvError(str(path), [(1, f"{'; '.join(problems)} (the header must be {expected})")])
