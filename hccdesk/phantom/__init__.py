"""A synthetic multi-phase liver MR cohort whose HCC lesions depend on grade (see ``docs/design/phantom.md``).

No public data set pairs multi-phase liver MR with Edmondson grade, so the app demos, tests and benchmarks on
this phantom.  The task it poses is honest: both classes overlap, the grade signal is spread over many lesion
features through one hidden aggressiveness variable, and nuisance factors (position, gain, noise, bias,
misregistration, timing) are independent of grade.  Modules, in the order a study is made:
:mod:`.presets` (matrix and voxel size), :mod:`.cohort` (who has which grade), :mod:`.traits` (lesion
features from the hidden variable), :mod:`.anatomy` and :mod:`.lesion` (tissue layers), :mod:`.enhancement`
(signal per tissue and phase), :mod:`.acquisition` (what the scanner does to it), :mod:`.study` (one study),
:mod:`.writers` (DICOM, NIfTI), :mod:`.build` (a cohort on disk) and :mod:`.demo` (the demo project).
"""
