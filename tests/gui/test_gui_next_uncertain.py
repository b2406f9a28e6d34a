"""Model > Next uncertain lesion (N) walks the graded lesions in review order (largest ensemble spread, then
P(high) nearest 0.5), says where it is, says when it starts over, and does not pretend that lesions without a
prediction are uncertain ones (before any Grade it says to grade first)."""

from __future__ import annotations

from hccdesk.store.records import Prediction, now_iso


def test_next_uncertain_walks_only_graded_lesions_and_says_when_it_starts_over(window) -> None:
    project = window.document.project
    window.next_uncertain_action.trigger()
    assert window.document.selected == ""  # nothing graded: nothing to review in that order
    assert "Grade" in window.statusBar().currentMessage()
    low, high = sorted(project.lesions)[3:5]
    project.add_predictions(
        Prediction(lesion_id=i, model_id="run:test", p_high=0.6, spread=s, n_members=4, created=now_iso())
        for i, s in ((low, 0.05), (high, 0.2))
    )
    seen = []
    for _ in range(3):
        window.next_uncertain_action.trigger()
        seen.append((window.document.selected, window.statusBar().currentMessage()))
    assert [lesion for lesion, _ in seen] == [high, low, high]  # the ungraded 14 are not in the walk
    assert "1 of 2" in seen[0][1] and "±0.20" in seen[0][1] and "14 not graded" in seen[0][1]
    assert "2 of 2" in seen[1][1]
    assert "Starting over" in seen[2][1] and "1 of 2" in seen[2][1]
