"""Which lesion to review next: the ones the model is least sure of first.

Two signals say how unsure a grade is: the ensemble spread (the fold models disagree: the lesion lies where
the training data was thin) and the closeness of P(high) to 0.5 (the models agree on a coin toss).  The
order sorts by spread, largest first, then by ``|P(high) - 0.5|``, smallest first; a final model has spread
0, so for it the second key decides.  Lesions without a prediction come last, in id order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hccdesk.store.records import Prediction


def uncertainty_key(prediction: Prediction | None) -> tuple[int, float, float]:
    """Sort key: unpredicted last; then larger spread first; then P(high) nearer 0.5 first."""
    if prediction is None:
        return (1, 0.0, 0.0)
    return (0, -prediction.spread, abs(prediction.p_high - 0.5))


def uncertain_first(lesion_ids: Iterable[str], predictions: Mapping[str, Prediction]) -> list[str]:
    """``lesion_ids`` ordered for review, most uncertain first (ties by id)."""
    return sorted(lesion_ids, key=lambda i: (*uncertainty_key(predictions.get(i)), i))
