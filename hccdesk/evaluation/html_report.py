"""The grading report as one self-contained HTML file: every picture embedded, no script, no external link.

A radiologist files it or mails it, so it must open anywhere, alone: images are ``data:`` PNG URIs, the style
is inline, nothing is fetched.  It carries no patient identity (the project holds only pseudonyms, and the
report shows lesion and study ids only), and results computed on synthetic studies say so at the top and on
every lesion they concern.  Every text from the project is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1100px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; padding-bottom: .2em; }
.synthetic { background: #fff3cd; border: 1px solid #e0b100; padding: .6em 1em; margin: 1em 0; }
.lesion { border: 1px solid #ddd; border-radius: 6px; padding: .8em 1em; margin: 1em 0; break-inside: avoid; }
.pictures { display: flex; flex-wrap: wrap; gap: .8em; }
figure { margin: 0; text-align: center; font-size: .85em; }
figure img { image-rendering: pixelated; width: 160px; height: auto; border: 1px solid #999; }
table { border-collapse: collapse; margin: .5em 0; } td, th { border: 1px solid #ccc; padding: .2em .6em; }
th { background: #f3f3f3; text-align: left; } .muted { color: #666; font-size: .9em; }
img.legend { width: 200px; height: 12px; vertical-align: middle; border: 1px solid #999; }
.tag { background: #e0b100; color: #000; border-radius: 3px; padding: 0 .4em; font-size: .8em; }
"""


@dataclass(frozen=True)
class LesionSection:
    """One lesion's part of the report.

    ``pictures`` are ``(caption, png bytes)``: the phases' middle slices with the box, then the heat map.
    """

    lesion_id: str
    study_id: str
    recorded_grade: str
    prediction: str
    pictures: Sequence[tuple[str, bytes]]
    synthetic: bool
    explanation: str = ""


@dataclass(frozen=True)
class ReportContent:
    """Everything the report shows; :func:`render` only lays it out."""

    project_name: str
    created: str
    software: str
    lesions: Sequence[LesionSection]
    model_card: Sequence[tuple[str, str]]
    metrics_title: str
    metrics_header: Sequence[str]
    metrics_rows: Sequence[Sequence[str]]
    legend: bytes = b""
    """PNG of the heat maps' colour ramp, 0 (left) to 1 (right)."""
    notes: Sequence[str] = field(default_factory=tuple)

    @property
    def any_synthetic(self) -> bool:
        return any(section.synthetic for section in self.lesions)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _png(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _lesion(section: LesionSection) -> str:
    tag = ' <span class="tag">synthetic data</span>' if section.synthetic else ""
    figures = "".join(
        f'<figure><img alt="{_e(caption)}" src="{_png(data)}"><figcaption>{_e(caption)}</figcaption></figure>'
        for caption, data in section.pictures
    )
    rows = [
        ("Study", section.study_id),
        ("Recorded grade", section.recorded_grade),
        ("Model", section.prediction),
    ]
    details = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    explanation = f'<p class="muted">{_e(section.explanation)}</p>' if section.explanation else ""
    return (
        f'<section class="lesion" id="{_e(section.lesion_id)}"><h3>Lesion {_e(section.lesion_id)}{tag}</h3>'
        f'<table>{details}</table><div class="pictures">{figures}</div>{explanation}</section>'
    )


def render(content: ReportContent) -> str:
    """The report as an HTML document (UTF-8 text)."""
    banner = (
        '<p class="synthetic"><strong>Synthetic data.</strong> Results marked <span class="tag">synthetic '
        "data</span> come from phantom studies, not from patients; they show how the tool works and say "
        "nothing about its accuracy on real images.</p>"
        if content.any_synthetic
        else ""
    )
    card = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in content.model_card)
    metrics = (
        _table(content.metrics_header, content.metrics_rows)
        if content.metrics_rows
        else "<p>No finished cross-validation run.</p>"
    )
    notes = "".join(f"<li>{_e(n)}</li>" for n in content.notes)
    lesions = "".join(_lesion(section) for section in content.lesions) or "<p>No lesions.</p>"
    legend = (
        f'<p class="muted">Heat-map scale: P(high) 0 <img class="legend" alt="colour scale from 0 to 1" '
        f'src="{_png(content.legend)}"> 1</p>'
        if content.legend
        else ""
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>HCC Desk report: {_e(content.project_name)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Lesion grading report: {_e(content.project_name)}</h1>"
        f'<p class="muted">Created {_e(content.created)} by {_e(content.software)}. Lesion and study ids are '
        "the project's pseudonyms; no patient identity is included.</p>"
        f"{banner}<h2>Model</h2><table>{card}</table>"
        f"<h2>{_e(content.metrics_title)}</h2>{metrics}"
        f"<h2>Lesions</h2>{legend}{lesions}"
        + (f"<h2>Notes</h2><ul>{notes}</ul>" if notes else "")
        + "</body></html>\n"
    )
