"""Schema versions of ``project.h5`` and the forward migrations between them.

A project file is read into a *document* first: ``{"attrs": {...root attributes...}, "collections": {kind:
[record dicts]}}``.  Migrations work on that plain document, before any record class sees it, so a record
class can change freely as long as a migration maps the old dicts onto the new fields.  Each entry of
:data:`MIGRATIONS` turns version ``v`` into ``v + 1``; opening an old project applies them in order (the
file itself is only rewritten at the next save, and the previous file stays as ``project.h5.bak``).  A file
newer than :data:`SCHEMA_VERSION` is refused: an old app cannot know which fields it would silently drop.

Version history
---------------
1
    Root attributes ``format``, ``schema_version``, ``app_version``, ``generation``, ``saved``,
    ``id_counters`` (JSON); one group per record kind with ``encoding-type = "json-records"``,
    ``encoding-version = "1"`` and a ``records`` dataset of UTF-8 JSON strings, one per record.
2
    Root attribute ``records_sha256``: a SHA-256 over the records and id counters, verified when the file is
    read, so a hand edit or silent corruption is detected instead of believed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hccdesk.errors import ProjectError, SchemaTooNew

FORMAT = "hccdesk-project"
SCHEMA_VERSION = 2

Document = dict[str, Any]


class UnknownSchemaError(ProjectError):
    """An older schema that no migration starts from (not damage: the backup would not be any better)."""


Migration = Callable[[Document], Document]


def _add_records_checksum(doc: Document) -> Document:
    """1 -> 2: the records are unchanged; the checksum over them is written with the next save."""
    return doc


MIGRATIONS: dict[int, Migration] = {1: _add_records_checksum}
"""``{v: function}`` where ``function`` turns a version-``v`` document into a version-``v + 1`` one."""


def refuse_newer(attrs: dict[str, Any], source: str) -> int:
    """The schema version in root ``attrs``; raises :class:`SchemaTooNew` when this app is too old for it.

    Called before anything else is read, because a newer layout may not even parse the way this version
    expects.
    """
    version = int(attrs["schema_version"])
    if version > SCHEMA_VERSION:
        app = attrs.get("app_version", "a newer version")
        raise SchemaTooNew(
            f"{source} uses project schema {version}, written by HCC Desk {app}; this HCC Desk reads schema "
            f"{SCHEMA_VERSION} or older: update HCC Desk to open it"
        )
    return version


def migrate(doc: Document, source: str) -> Document:
    """Bring ``doc`` (read from ``source``) to :data:`SCHEMA_VERSION`.

    Raises
    ------
    SchemaTooNew
        The document was written by a newer HCC Desk.
    UnknownSchemaError
        The document is from a version no migration path starts from.
    """
    version = refuse_newer(doc["attrs"], source)
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise UnknownSchemaError(
                f"{source} uses project schema {version}, which this HCC Desk cannot migrate"
            )
        doc = step(doc)
        version += 1
        doc["attrs"]["schema_version"] = version
    return doc
