"""Imaging: the Volume type, DICOM and NIfTI readers and writers, phase identification, resampling.

Modules, one concept each: :mod:`~hccdesk.imaging.volume` (Volume, LPS world), :mod:`~hccdesk.imaging.scan`
(``scan_paths``: the one entry point), :mod:`~hccdesk.imaging.dicom_headers` (header pass),
:mod:`~hccdesk.imaging.dicom_series` (grouping, splitting, checks), :mod:`~hccdesk.imaging.dicom_pixels`
(pixel pass, modality LUT), :mod:`~hccdesk.imaging.dicom_tags` (identity-free tag whitelist),
:mod:`~hccdesk.imaging.nifti`, :mod:`~hccdesk.imaging.phases`, :mod:`~hccdesk.imaging.resample`,
:mod:`~hccdesk.imaging.dicom_writer` (synthetic series) and :mod:`~hccdesk.imaging.bench`.

The package itself imports nothing, so building the CLI's parser (which imports ``hccdesk.imaging.commands``)
never loads numpy: ``hccdesk --version`` and ``hccdesk --help`` stay instant.
"""
