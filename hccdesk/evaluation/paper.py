"""The paper's Tables 1 and 2: which variant each row is, and the numbers the paper published for it.

Dou et al., MICCAI 2018, 46 HCCs of 46 patients, arterial phase, 4-fold cross-validation repeated 10 times,
mean ± std in percent.  These are the published values, shown beside our results for reference only: our
runs are on another cohort (by default the synthetic demo cohort), so the numbers are not comparable as
evidence for or against the paper.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperRow:
    label: str
    variant: str
    accuracy: tuple[float, float]
    sensitivity: tuple[float, float]
    specificity: tuple[float, float]


TABLES: dict[int, tuple[PaperRow, ...]] = {
    1: (
        PaperRow("2D local", "2d-local", (84.61, 7.25), (87.60, 11.81), (83.00, 17.19)),
        PaperRow("2D non-local", "2d-nonlocal", (86.32, 7.93), (87.61, 12.16), (87.24, 10.83)),
        PaperRow("2D local and non-local fusion", "2d-cifa", (89.74, 8.88), (91.51, 8.55), (88.17, 16.12)),
        PaperRow("3D local", "3d-local", (87.69, 7.05), (86.96, 9.99), (89.53, 11.58)),
        PaperRow("3D non-local", "3d-nonlocal", (90.00, 6.01), (86.95, 9.35), (93.42, 8.24)),
        PaperRow("3D local and non-local fusion", "3d-cifa", (93.16, 4.36), (94.14, 8.92), (91.30, 11.26)),
    ),
    2: (
        PaperRow("2D direct concatenation", "2d-concat", (88.03, 8.20), (92.44, 11.77), (86.01, 12.37)),
        PaperRow("2D deep correlation model", "2d-dcca", (88.89, 9.67), (93.94, 6.92), (85.81, 14.07)),
        PaperRow("2D common feature", "2d-common", (89.74, 6.28), (92.35, 6.98), (89.09, 10.16)),
        PaperRow("2D individual feature", "2d-individual", (88.89, 8.20), (92.70, 6.71), (87.39, 13.13)),
        PaperRow(
            "2D common and individual feature analysis",
            "2d-cifa",
            (90.60, 4.83),
            (93.77, 7.35),
            (87.50, 9.43),
        ),
        PaperRow("3D direct concatenation", "3d-concat", (91.45, 7.64), (93.52, 9.80), (90.22, 12.02)),
        PaperRow("3D deep correlation model", "3d-dcca", (90.60, 6.04), (87.70, 9.40), (91.45, 11.22)),
        PaperRow("3D common feature", "3d-common", (91.45, 5.67), (91.16, 8.71), (91.91, 7.64)),
        PaperRow("3D individual feature", "3d-individual", (92.31, 6.28), (91.78, 9.84), (91.30, 12.71)),
        PaperRow(
            "3D common and individual feature analysis",
            "3d-cifa",
            (93.16, 4.36),
            (94.14, 8.92),
            (91.30, 11.26),
        ),
    ),
}
"""Rows in the paper's order.  The paper's Table 1 fusion row and Table 2's last row are the same model
(``3d-cifa`` / ``2d-cifa``); in 3D the paper prints identical numbers for both, in 2D it does not (89.74 vs
90.60 accuracy), which we reproduce as published."""


@dataclass(frozen=True)
class BaselineRow:
    """A row shown beside the paper's that the paper does not have (no published numbers)."""

    label: str
    variant: str


BASELINE_ROWS: tuple[BaselineRow, ...] = (BaselineRow("Radiomics baseline", "radiomics"),)
"""Appended to both tables by ``hccdesk compare`` and listed in the CV dock: what a radiomics tool gives."""

CAPTIONS = {
    1: "Table 1. Local, non-local and local + non-local fusion of deep features, arterial phase (%)",
    2: "Table 2. Fusion by direct concatenation, deep correlation model and common/individual analysis (%)",
}
