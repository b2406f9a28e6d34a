"""Cleaning free-text descriptors before they are stored: DICOM PS3.15 Annex E, Retain/Clean Descriptors.

Series descriptions, protocol names, contrast agents, image types and a NIfTI ``descrip`` are typed by people,
and people type patient names, record numbers and dates into them.  Annex E's Basic Profile removes these
attributes; its Retain/Clean Descriptors Option keeps them "cleaned": with identifying information removed.
HCC Desk keeps them cleaned, because the phase of a series is read from its description and the user needs
to recognise the series in the project, but cleans by **whitelist**, not by guessing what a name looks like
(no list of names is complete, and a record number can look like anything):

* the text is split into words at every character that is not a letter or digit; words with letters or
  digits outside ASCII are removed (no technical term needs them);
* a word is kept when each of its letter runs is a known technical word (:data:`VOCABULARY`: the phase
  reader's words, sequence, orientation, vendor, scanner-model, contrast-agent and DICOM defined terms) or a
  single letter, each of its digit runs is at most three digits and it has at least one letter (``t1``,
  ``fl3d1``, ``b800``, ``70s``, ``3D`` stay);
* every other word goes, and so does every number standing alone (``2023``, ``17.08.1923``, ``4471``: parts of
  dates and record numbers); separators between kept words are kept when harmless (blank, ``_-./+*:,()``).

So ``"t1_vibe_Quaxley_arterial MRN4471"`` is stored as ``"t1_vibe_arterial"``.  A technical word that is also
a surname ("Late", "Early") is kept: a single such word says nothing about which patient it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from hccdesk.imaging.phases import phase_words

MAX_LENGTH = 64
"""Longest cleaned descriptor kept (the DICOM LO limit)."""

_TECHNICAL_WORDS = """
t1w t2w pd pdw weighted flair stir dwi adc trace diffusion b map maps perfusion
vibe flash fl tfl fisp trufi vista space lava flex thrive ethrive mdixon dixon quick fame gre spgr fspgr bravo
twist disco star stack radial caipi caipirinha grappa sense asset arc cs compressed sensing
ssfse fse tse haste spin echo gradient turbo fast spoiled fiesta balanced ssfp mra angio tof
fs fatsat fat sat spair spir spec water wat opp in out ip op phase phases
bh breath hold fb free breathing nav navigator resp trig
tra trans transverse ax axial cor coronal sag sagittal obl oblique
dyn dynamic dce multi multiphase mph serial series scan sequence acq acquisition recon
post postcontrast contrast gd gad gado ce enh enhanced enhancement
liver hepatic abdomen abd abdominal upper pelvis chest thorax body whole
mr mri ct ot iso hr high low res resolution thin thick mpr mip sub subtraction
eob primovist eovist gadoxetate gadoxetic acid dtpa magnevist dotarem gadoterate gadavist gadovist gadobutrol
multihance gadobenate prohance gadoteridol omniscan gadodiamide clariscan elucirem vueway gadopiclenol
iv intravenous oral bolus injection inj sec min mm ms
localizer loc scout survey cal calibration ref reference
siemens healthineers ge gems medical systems healthcare philips toshiba canon hitachi fujifilm united imaging
uih esaote bruker
magnetom avanto aera skyra prisma verio trio espree symphony sonata vida sola altea lumina biograph
signa hdxt hdx excite discovery optima pioneer architect premier artist explorer voyager
ingenia achieva intera elition multiva panorama vantage titan orian galan echelon oasis
fsl spm afni dcm dcm2niix niix ants itk slicer nifti
original derived primary secondary other m p r i magnitude mag real imaginary norm dis dis2d dis3d nd fil
mosaic mfsplit projection image subtract moco motion corrected filtered
se ir gr ep rm sk mtc ss trss sp mp osp none per rg cg ppg fc pff pfp edr seq acc yes no
monochrome
phantom synthetic simulated
"""

VOCABULARY: frozenset[str] = frozenset(_TECHNICAL_WORDS.split()) | phase_words()
"""Lower-case words a cleaned descriptor may keep (beside single letters)."""

_WORD = re.compile(r"[^\W_]+")
_RUNS = re.compile(r"[A-Za-z]+|[0-9]+")
_HARMLESS_SEPARATORS = set(" _-./+*:,()")


def is_technical_word(word: str) -> bool:
    """Whether ``word`` (letters and digits) may stay in a cleaned descriptor (module docstring)."""
    if not word.isascii():
        return False
    runs = _RUNS.findall(word)
    if not any(run.isalpha() for run in runs):
        return False
    for run in runs:
        if run.isdigit():
            if len(run) > 3:
                return False
        elif len(run) > 1 and run.lower() not in VOCABULARY:
            return False
    return True


def clean_descriptor(text: str) -> str:
    """``text`` with every word that is not technical removed (see the module docstring); may be empty."""
    kept: list[str] = []
    position = 0
    for match in _WORD.finditer(str(text)):
        separator = str(text)[position : match.start()]
        position = match.end()
        if not is_technical_word(match.group()):
            continue
        harmless = "".join(c for c in separator if c in _HARMLESS_SEPARATORS)
        if kept and not harmless:
            harmless = " "
        kept.append(harmless + match.group())
    cleaned = "".join(kept).strip(" _-.,:")
    return cleaned[:MAX_LENGTH].rstrip(" _-.,:")


def clean_values(values: Iterable[str]) -> list[str]:
    """Each value of a multi-valued coded attribute (ImageType) cleaned; positions are kept, so a removed
    value becomes an empty string (value 3 of ImageType means what it means because it is the third)."""
    return [clean_descriptor(value) for value in values]
