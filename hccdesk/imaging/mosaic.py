"""Siemens MOSAIC: one file holding a whole stack as tiles of one image, un-packed via its CSA header."""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from typing import Any

from hccdesk.imaging.dicom_planes import NotAnImage, PixelLayout, Plane, geometry
from hccdesk.imaging.dicom_values import as_float


def mosaic_planes(ds: Any, common: dict[str, Any]) -> list[Plane]:
    """Un-pack a Siemens MOSAIC: tile positions from the CSA header's NumberOfImagesInMosaic and slice normal.

    DICOM's ImagePositionPatient of a mosaic is that of the whole mosaic's first pixel; the first tile's first
    pixel sits half the unused mosaic extent further along r and c (the centre of the mosaic is the centre of
    each tile).  Tile k lies k x SpacingBetweenSlices along the CSA SliceNormalVector, which may point
    against r x c (sagittal), so planes carry positions and the series builder sorts them like any stack.
    """
    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from nibabel.nicom import csareader

    try:
        csa = csareader.get_csa_header(ds, "image")
        count = int(csareader.get_n_mosaic(csa)) if csa else 0
        normal = csareader.get_slice_normal(csa) if csa else None
    except Exception as error:  # a damaged CSA header is a damaged file, whatever nibabel raises
        raise NotAnImage(f"a Siemens MOSAIC with an unreadable CSA header ({error})") from error
    if count <= 0 or normal is None:
        raise NotAnImage(
            "a Siemens MOSAIC without NumberOfImagesInMosaic/SliceNormalVector in its CSA header"
        )
    orientation, position, spacing = geometry(ds)
    layout: PixelLayout = common["layout"]
    tile_layout = replace(layout, offset=None, mosaic_tiles=count)
    _, tile_rows, tile_columns = mosaic_tile_shape(tile_layout)
    step = abs(common["spacing_between_slices"] or as_float(ds.get("SliceThickness")) or 0.0)
    if not step:
        raise NotAnImage("a Siemens MOSAIC without SpacingBetweenSlices or SliceThickness")
    row_cosine, column_cosine = np.array(orientation[:3]), np.array(orientation[3:])
    first = (
        np.array(position)
        + column_cosine * spacing[0] * (layout.rows - tile_rows) / 2
        + row_cosine * spacing[1] * (layout.columns - tile_columns) / 2
    )
    normal = np.asarray(normal, dtype=np.float64) / np.linalg.norm(normal)
    fields = {**common, "layout": tile_layout}
    return [
        Plane(
            frame=None,
            tile=tile,
            orientation=orientation,
            position=tuple(float(v) for v in first + tile * step * normal),  # type: ignore[arg-type]
            pixel_spacing=spacing,
            **fields,
        )
        for tile in range(count)
    ]


def mosaic_tile_shape(layout: PixelLayout) -> tuple[int, int, int]:
    """``(grid, tile_rows, tile_columns)`` of a mosaic layout."""
    grid = math.ceil(math.sqrt(layout.mosaic_tiles))
    return grid, layout.rows // grid, layout.columns // grid
