"""Which contrast phase is each volume of one study: pre, arterial, portal (venous) or delayed.

Three sources of evidence, most trusted first; whatever stays ambiguous stays None (the user assigns it, and
can always override a guess):

1. **Keywords in the series description** (for NIfTI without a description: the file name), matched on whole
   words so that "art" never fires inside "part" or "start": ``pre``, ``native``, ``plain``, ``mask``,
   ``precontrast``, ``non contrast`` -> pre; ``art``, ``arterial``, ``hap``, ``late art``, ``early art``,
   ``eap``/``lap`` -> arterial; ``pv``, ``pvp``, ``portal``, ``venous``, ``portovenous`` -> portal;
   ``delay(ed)``, ``equil(ibrium)``, ``late`` (not followed by ``art``), ``transitional`` -> delayed.
   Subtraction images (``sub``) and hepatobiliary-phase images (``hbp``, ``hepatobiliary``) are never a
   phase; a description that names two phases (or "pre" and "post") is ambiguous.
2. **Temporal position** inside one dynamic series or 4D NIfTI file (TemporalPositionIdentifier /
   TemporalPositionIndex): the
   series' still unnamed volumes, in temporal order, take the still unclaimed phases in PHASES order, but
   only when their numbers match exactly (e.g. a pre series named "pre" plus a 3-volume dynamic series ->
   arterial, portal, delayed).
3. **Acquisition time order** of all volumes still unnamed, under the same exact-count rule.

Rules 2 and 3 skip echo-planar volumes (ScanningSequence EP, EchoPlanarPulseSequence YES): fMRI and DWI
time series are never contrast phases, however many time points they have.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from hccdesk.imaging.dicom_values import time_to_seconds
from hccdesk.imaging.volume import PHASES, Volume

_EXCLUDE = {"sub", "subtraction", "subtracted", "hbp", "hepatobiliary", "hb"}
_WORDS: dict[str, tuple[str, ...]] = {
    "pre": ("pre", "precontrast", "native", "nativ", "plain", "mask", "unenhanced", "noncontrast", "nc"),
    "arterial": ("art", "arterial", "arteriell", "arterielle", "arteriale", "hap", "eap", "lap"),
    "portal": ("pv", "pvp", "portal", "venous", "portovenous", "portalvenous", "ven", "venos", "venoes"),
    "delayed": ("delay", "delayed", "del", "equil", "equilibrium", "eq", "transitional", "late", "spaet"),
}
_PAIRS: dict[tuple[str, str], str] = {
    ("late", "art"): "arterial",
    ("late", "arterial"): "arterial",
    ("early", "art"): "arterial",
    ("early", "arterial"): "arterial",
    ("non", "contrast"): "pre",
    ("pre", "contrast"): "pre",
    ("portal", "venous"): "portal",
    ("porto", "venous"): "portal",
}


def phase_words() -> frozenset[str]:
    """Every word the phase reader looks for (so that cleaning a description never hides its phase)."""
    words = set(_EXCLUDE) | {"post", "postcontrast"}
    for names in _WORDS.values():
        words.update(names)
    for pair in _PAIRS:
        words.update(pair)
    return frozenset(words)


def phase_from_text(text: str) -> str | None:
    """The phase a description names; None when it names none, several, or a non-phase (HBP, subtraction)."""
    tokens = _tokens(text)
    if not tokens or _EXCLUDE.intersection(tokens):
        return None
    found: set[str] = set()
    used: set[int] = set()
    for index in range(len(tokens) - 1):
        phase = _PAIRS.get((tokens[index], tokens[index + 1]))
        if phase:
            found.add(phase)
            used.update((index, index + 1))
    for index, token in enumerate(tokens):
        if index in used:
            continue
        for phase, words in _WORDS.items():
            if token in words:
                found.add(phase)
    if found == {"pre"} and {"post", "postcontrast"}.intersection(tokens):
        return None
    return found.pop() if len(found) == 1 else None


def _tokens(text: str) -> list[str]:
    """Lower-case words, split at non-letters and at letter/digit boundaries ("t1pre" -> t, 1, pre)."""
    spaced = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", text.lower())
    return [token for token in re.split(r"[^a-z0-9]+", spaced) if token and not token.isdigit()]


def identify_phases(volumes: Sequence[Volume]) -> list[str | None]:
    """Guess the phase of each volume of ONE study (see the module docstring); None where unsure."""
    phases: list[str | None] = [phase_from_text(_text_of(volume)) for volume in volumes]
    for name in PHASES:
        if phases.count(name) > 1:
            phases = [None if phase == name else phase for phase in phases]
    dynamic: dict[str, list[int]] = {}
    for index, volume in enumerate(volumes):
        if phases[index] is None and _orderable(volume) and _temporal_position(volume) is not None:
            series = volume.source.series_uid or (volume.source.paths[0] if volume.source.paths else "")
            dynamic.setdefault(series, []).append(index)
    for members in dynamic.values():
        if len(members) > 1:
            _assign_in_order(phases, sorted(members, key=lambda i: _temporal_position(volumes[i])))  # type: ignore[arg-type, return-value]
    timed = [
        i for i, v in enumerate(volumes) if phases[i] is None and _orderable(v) and _acquired(v) is not None
    ]
    if len(timed) > 1 and len(timed) == phases.count(None):
        _assign_in_order(
            phases, sorted(timed, key=lambda i: (_acquired(volumes[i]), _temporal_position(volumes[i]) or 0))
        )
    return phases


def _assign_in_order(phases: list[str | None], ordered: list[int]) -> None:
    """Give ``ordered`` the unclaimed phases in PHASES order when there are exactly as many of each."""
    unclaimed = [name for name in PHASES if name not in phases]
    if len(unclaimed) == len(ordered):
        for index, name in zip(ordered, unclaimed, strict=True):
            phases[index] = name


def _orderable(volume: Volume) -> bool:
    """Whether order-based rules may name this volume: not echo-planar (fMRI, DWI)."""
    tags = volume.source.tags
    sequence = tags.get("ScanningSequence") or []
    sequences = [sequence] if isinstance(sequence, str) else list(sequence)
    return "EP" not in sequences and str(tags.get("EchoPlanarPulseSequence", "")).upper() != "YES"


def _text_of(volume: Volume) -> str:
    if volume.source.series_description:
        return volume.source.series_description
    if volume.source.series_uid or not volume.source.paths:
        return ""
    name = os.path.basename(volume.source.paths[0])
    return re.sub(r"\.nii(\.gz)?$", "", name, flags=re.IGNORECASE)


def _temporal_position(volume: Volume) -> float | None:
    tags = volume.source.tags
    for key in ("TemporalPositionIndex", "TemporalPositionIdentifier"):
        if tags.get(key) is not None:
            return float(tags[key])
    return None


def _acquired(volume: Volume) -> float | None:
    tags = volume.source.tags
    return time_to_seconds(str(tags.get("AcquisitionTime") or tags.get("SeriesTime") or ""))
