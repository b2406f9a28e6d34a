"""The documentation holds together: every relative link in the README and ``docs/`` (and the other
top-level pages) reaches a file of the repository, every ``#anchor`` a heading of its page, the README stays a
front page, and nothing in code, docs or tests points outside the repository."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOP_LEVEL_PAGES = ("README.md", "CONTRIBUTING.md", "CHANGELOG.md", "models/README.md")
PAGES = sorted([*(REPO / name for name in TOP_LEVEL_PAGES), *(REPO / "docs").rglob("*.md")])
README_LIMIT_BYTES = 12 * 1024

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _prose(text: str) -> str:
    """The text without fenced code blocks and code spans, where brackets are not links."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def slugs(markdown: str) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to hyphens,
    repeats numbered ``-1``, ``-2``."""
    seen: Counter[str] = Counter()
    anchors = set()
    for heading in _HEADING.findall(_FENCE.sub("", markdown)):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").replace("*", "")
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        anchors.add(slug if not seen[slug] else f"{slug}-{seen[slug]}")
        seen[slug] += 1
    return anchors


def broken_links(page: Path) -> list[str]:
    """Every relative link of ``page`` that does not resolve inside the repository, with the reason."""
    problems = []
    for target in _LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if _SCHEME.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        if not resolved.is_relative_to(REPO):
            problems.append(f"{target}: outside the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
        elif (
            anchor and resolved.suffix == ".md" and anchor not in slugs(resolved.read_text(encoding="utf-8"))
        ):
            problems.append(f"{target}: no heading with anchor #{anchor}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_the_checker_finds_broken_links_and_anchors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(f"{__name__}.REPO", tmp_path)
    (tmp_path / "other.md").write_text(
        "# Other page\n\n## A `code` heading: twice\n\n## A code heading twice\n"
    )
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#a-code-heading-twice-1) [ok](#local) ![img](other.md) [web](https://example.org/x)\n"
        "`[not a link](missing.md)`\n```\n[nor this](missing.md)\n```\n# Local\n"
        "[bad](missing.md) [bad anchor](other.md#nowhere) [escape](../outside.md)\n"
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#nowhere: no heading with anchor #nowhere",
        "../outside.md: outside the repository",
    ]


def test_readme_is_a_front_page() -> None:
    assert len((REPO / "README.md").read_bytes()) <= README_LIMIT_BYTES


def test_nothing_points_outside_the_repository() -> None:
    """Design notes live in the repository, the paper is cited by its DOI: no path leads outside."""
    outside = re.compile(r"\.\./shared|/work/shared|\.\./paper/")
    roots = [REPO / "hccdesk", REPO / "tests", REPO / "docs", REPO / "models", REPO / "packaging"]
    files = [
        REPO / "README.md",
        *(
            p
            for root in roots
            for p in root.rglob("*")
            if p.suffix in {".py", ".md", ".json", ".sh", ".spec"}
        ),
    ]
    offenders = [
        f"{path.relative_to(REPO)}:{number}"
        for path in files
        if path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if outside.search(line)
    ]
    assert offenders == []
