"""The heat map's colour bar says whether a map is shown: with View > Heat map off there is no map on the
views, so the bar (its 0-1 ramp and opacity slider) must not look like the scale of one; turning the map off
removes it everywhere, in place (the inspector keeps its size)."""

from __future__ import annotations


def test_the_colour_bar_is_off_with_the_heat_map_and_keeps_its_place(window) -> None:
    window.document.select(sorted(window.document.project.lesions)[0])  # an inspector with a lesion in it
    bar = window.inspector.colour_bar
    off = bar.title_label.text()
    assert not bar.isEnabled() and "off" in off and "key H" in off  # says how to turn it on
    size = bar.size()
    window.heat_action.trigger()
    assert bar.isEnabled() and bar.title_label.text() != off
    window.heat_action.trigger()
    assert not bar.isEnabled() and bar.title_label.text() == off
    assert not any(image.isVisible() for image in window.review.overlay.images.values())
    assert bar.size() == size
