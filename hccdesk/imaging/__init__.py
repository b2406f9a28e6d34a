"""Imaging: the Volume type, DICOM and NIfTI readers and writers, phase identification, resampling."""

from hccdesk.imaging.volume import PHASES, Volume, VolumeSource

__all__ = ["PHASES", "Volume", "VolumeSource"]
