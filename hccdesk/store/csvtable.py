"""CSV files in and out: a user's CSV read into rows with line numbers (or one
:class:`~hccdesk.errors.CsvError` listing why not), and CSV text written so that no spreadsheet runs it.

Shared by the manifest and lesion imports and by every CSV the store writes.  The file is decoded as
UTF-8 (a spreadsheet's byte-order mark is accepted), the header is matched case- and space-insensitively,
rows that are entirely empty are skipped (a spreadsheet's trailing blank lines), quoting is strict (an
unclosed quote is an error, not a field that swallows the rest of the file), and every problem is reported
with the line it is on so the user can fix the file in one pass.  Nothing here touches the project:
callers validate everything before changing anything.

Formula injection (OWASP, "CSV Injection"): a spreadsheet runs a cell that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return as a formula, so a note such as ``=HYPERLINK(...)`` typed by one user could
act on the computer of whoever opens the export.  :func:`write_table` prefixes such a cell with a single quote
(which spreadsheets show as text and do not display); :func:`read_table` removes that one quote again, so an
export imports back unchanged.  The rule is a bijection: a cell is escaped when it starts with any number of
quotes followed by a trigger character, and a quote is removed when a cell starts with at least one quote
followed by a trigger character, so a note that itself starts with ``'=`` also survives the round trip.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hccdesk.errors import CsvError, InputError

FORMULA_TRIGGERS = "=+-@\t\r"
"""Characters that make a spreadsheet read a cell as a formula when they start it (OWASP)."""
_NEEDS_ESCAPE = re.compile(f"'*[{re.escape(FORMULA_TRIGGERS)}]")
_ESCAPED = re.compile(f"'+[{re.escape(FORMULA_TRIGGERS)}]")


def neutralise(cell: str) -> str:
    """``cell`` as written to a CSV: a leading quote added where a spreadsheet would run it as a formula."""
    return "'" + cell if _NEEDS_ESCAPE.match(cell) else cell


def restore(cell: str) -> str:
    """The text :func:`neutralise` was given, from what it wrote (the inverse on every written cell)."""
    return cell[1:] if _ESCAPED.match(cell) else cell


@dataclass(frozen=True)
class Row:
    """One data row: ``line`` is where it starts in the file, ``values`` maps column -> stripped text."""

    line: int
    values: dict[str, str]


def read_table(
    path: Path, required: Sequence[str], optional: Sequence[str] = (), verbatim: Sequence[str] = ()
) -> list[Row]:
    """The rows of CSV file ``path`` whose header names exactly ``required`` plus any of ``optional``.

    Values are stripped of surrounding white space except in the ``verbatim`` columns (free text such as
    notes, which must come back exactly as exported); every value has its formula escape removed.

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
        values = {
            name: restore(value if name in verbatim else value.strip())
            for name, value in zip(columns, fields, strict=True)
        }
        rows.append(Row(line, values))
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


def write_table(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text with a header and ``rows``; text cells are escaped with :func:`neutralise`.

    Lines end in CR LF (RFC 4180): the writer quotes a cell only when it holds a character of the line
    terminator, so with a bare LF a note holding a lone CR would be written unquoted and split its row.
    """
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(name) for name in columns])
    for row in rows:
        writer.writerow([neutralise(cell) if isinstance(cell, str) else cell for cell in row])
    return out.getvalue()
