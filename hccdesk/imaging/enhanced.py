"""Enhanced (multi-frame) DICOM: one plane per frame from the shared and per-frame functional groups.

Geometry (PlanePosition, PlaneOrientation, PixelMeasures), rescale (PixelValueTransformation, which pydicom's
``apply_modality_lut`` ignores for functional groups, pydicom#2353), FrameType, TemporalPositionIndex,
StackID and echo time are read per frame, with the shared group as the fallback, as the standard defines.
"""

from __future__ import annotations

from typing import Any

from hccdesk.imaging.dicom_planes import NotAnImage, PixelLayout, Plane, check_orientation, rescale
from hccdesk.imaging.dicom_values import as_float, as_int, as_list, floats, item_value


def enhanced_planes(path: str, ds: Any, layout: PixelLayout) -> list[Plane]:
    """One plane per frame of an Enhanced multi-frame object, from shared + per-frame functional groups."""
    shared = ds.get("SharedFunctionalGroupsSequence")
    shared_item = shared[0] if shared else None
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    if len(per_frame) not in (0, layout.number_of_frames):
        raise NotAnImage(f"{len(per_frame)} per-frame functional groups for {layout.number_of_frames} frames")
    image_type = tuple(str(v) for v in as_list(ds.get("ImageType")))
    base_slope, base_intercept = rescale(ds)
    planes = []
    for index in range(layout.number_of_frames):
        item = per_frame[index] if per_frame else None

        def group(keyword: str, item: Any = item) -> Any:
            for source in (item, shared_item):
                if source is not None and keyword in source and source[keyword].value:
                    return source[keyword].value[0]
            return None

        position = floats(item_value(group("PlanePositionSequence"), "ImagePositionPatient"), 3)
        orientation = floats(item_value(group("PlaneOrientationSequence"), "ImageOrientationPatient"), 6)
        measures = group("PixelMeasuresSequence")
        spacing = floats(item_value(measures, "PixelSpacing"), 2)
        if position is None or orientation is None or spacing is None or min(spacing) <= 0:
            raise NotAnImage(
                "an Enhanced multi-frame image without plane position, orientation or pixel spacing in its "
                "functional groups: its frames have no place in patient space"
            )
        check_orientation(orientation)
        transform = group("PixelValueTransformationSequence")
        slope = as_float(item_value(transform, "RescaleSlope"))
        intercept = as_float(item_value(transform, "RescaleIntercept"))
        content = group("FrameContentSequence")
        frame_type = _frame_type(item) or _frame_type(shared_item) or image_type
        echo = group("MREchoSequence")
        acquired = str(item_value(content, "FrameAcquisitionDateTime") or "")
        planes.append(
            Plane(
                path=path,
                frame=index,
                tile=None,
                study_uid=str(ds.get("StudyInstanceUID", "")),
                series_uid=str(ds.get("SeriesInstanceUID", "")),
                series_description=str(ds.get("SeriesDescription", "") or ""),
                image_type=tuple(str(v) for v in as_list(frame_type)),
                orientation=orientation,
                position=position,  # type: ignore[arg-type]
                pixel_spacing=spacing,  # type: ignore[arg-type]
                slope=base_slope if slope is None else slope,
                intercept=base_intercept if intercept is None else intercept,
                layout=layout,
                temporal_position=as_float(item_value(content, "TemporalPositionIndex")),
                trigger_time=as_float(
                    item_value(group("CardiacSynchronizationSequence"), "NominalCardiacTriggerDelayTime")
                ),
                acquisition_time=acquired[8:]
                if len(acquired) > 8
                else str(ds.get("AcquisitionTime", "") or ""),
                acquisition_number=as_int(ds.get("AcquisitionNumber")),
                instance_number=as_int(ds.get("InstanceNumber")),
                echo=as_float(item_value(echo, "EffectiveEchoTime")),
                stack_id=str(item_value(content, "StackID") or ""),
                spacing_between_slices=as_float(item_value(measures, "SpacingBetweenSlices")),
                sop_instance_uid=str(ds.get("SOPInstanceUID", "")),
            )
        )
    return planes


def _frame_type(item: Any) -> Any:
    """FrameType from whichever ``*FrameTypeSequence`` (MR, CT, ...) the functional group item holds."""
    if item is None:
        return None
    for element in item:
        if element.VR == "SQ" and element.keyword.endswith("FrameTypeSequence") and element.value:
            return element.value[0].get("FrameType")
    return None
