"""Chart labels: none overlaps another, none leaves the axes or the figure; the same input gives the same PNG bytes.

Boxes are measured as drawn, with matplotlib's Agg renderer (``get_window_extent``), on the figures the
PNGs are saved from.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import re
import struct
from pathlib import Path

import pytest
from matplotlib import image as mpimg
from matplotlib.figure import Figure

from reidcheck.report import html as html_report
from reidcheck.report.plots import (
    DOWN,
    UP,
    key_span,
    letters,
    place_labels,
    point_box,
    renderer_of,
    text_box,
    tick_labels_collide,
    tradeoff_figure,
    tradeoff_png,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "audit_report_example.json"


def _release(name: str, risk: float, km: float | None, half: float = 0.01) -> dict:
    return {"name": name, "risk": {"value": risk, "ci": [max(0.0, risk - half), min(1.0, risk + half)],
                                   "attack": "unicity"},
            "utility": {"spatial_error_km": None if km is None else {"mean": km, "p95": 2 * km}}}


def _comparison(*releases: dict) -> dict:
    return {"schema": "reidcheck-compare", "version": 1, "plan": {"points": 4}, "releases": list(releases)}


def _demo_like() -> dict:
    """The shape of the demo's comparison: two hashed releases at the same (0 km, 98%), one generalized,
    one aggregate at (0 km, 0%) — what used to print two names on top of each other."""
    return _comparison(_release("1-naive-hash: unsalted SHA-256 of the phone number", 0.9832, 0.0),
                       _release("2-keyed-hash: HMAC of the phone number", 0.9832, 0.0),
                       _release("3-district-day: district × day, k-anonymous QIs (k=10), no travel table, HMAC",
                                0.341, 4.722),
                       _release("4-aggregate: distinct users per district × hour, DP ε=1, counts < 10 suppressed",
                                0.0005, None))


def _crowded() -> dict:
    """Six releases at exactly one place, eight a few pixels apart, long and awkward names."""
    same = [_release(f"identical {i} " + "with a long descriptive name " * (3 if i == 2 else 1), 0.98, 0.0)
            for i in range(6)]
    near = [_release(f"near {i}", 0.97 - 0.004 * i, 0.02 * i) for i in range(8)]
    rest = [_release("costs $5 and $10", 0.0, None), _release("aggregate 2", 0.001, None),
            _release("far right", 1.0, 800.0), _release("middle", 0.5, 3.0), _release("middle 2", 0.505, 3.1)]
    return _comparison(*same, *near, *rest)


def _labels(fig) -> list:
    return list(fig.axes[0].texts)


def _boxes(fig, artists) -> list:
    r = renderer_of(fig)
    fig.draw_without_rendering()
    return [text_box(a, r) for a in artists]


def _overlap(a, b) -> bool:
    return min(a.x1, b.x1) - max(a.x0, b.x0) > 0 and min(a.y1, b.y1) - max(a.y0, b.y0) > 0


def _inside(inner, outer, tol: float = 0.5) -> bool:
    return (inner.x0 >= outer.x0 - tol and inner.y0 >= outer.y0 - tol and inner.x1 <= outer.x1 + tol
            and inner.y1 <= outer.y1 + tol)


def _assert_clear(fig, artists, region=None):
    boxes = _boxes(fig, artists)
    region = region if region is not None else fig.axes[0].get_window_extent(renderer_of(fig))
    for a, box in zip(artists, boxes):
        assert _inside(box, region), f"{a.get_text()!r} at {box} leaves {region}"
        assert _inside(box, fig.bbox), f"{a.get_text()!r} leaves the figure"
    for (a, ba), (b, bb) in itertools.combinations(zip(artists, boxes), 2):
        assert not _overlap(ba, bb), f"{a.get_text()!r} overlaps {b.get_text()!r}"
    return boxes


# -- the trade-off chart -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("comp", [_demo_like(), _crowded()], ids=["demo-like", "crowded"])
def test_tradeoff_labels_do_not_overlap_and_stay_inside(comp):
    fig = tradeoff_figure(comp)
    labels = _labels(fig)
    assert labels
    _assert_clear(fig, labels)
    # every release's letter is shown exactly once, on the chart and in the key
    keys = [letters(i) for i in range(len(comp["releases"]))]
    shown = []
    for t in labels:
        for part in t.get_text().split(", "):
            a, _, b = part.partition("\N{EN DASH}")
            shown += [letters(i) for i in range(keys.index(a), keys.index(b or a) + 1)]
    assert sorted(shown, key=keys.index) == keys
    legend = fig.legends[0]
    entries = [t.get_text() for t in legend.get_texts()]
    assert [e.split()[0] for e in entries] == keys
    assert all(rel["name"].split()[0].replace("$", r"\$") in e for rel, e in zip(comp["releases"], entries))
    # the key is inside the figure and under the axes, not on them
    r = renderer_of(fig)
    lbox, abox = legend.get_window_extent(r), fig.axes[0].get_window_extent(r)
    assert _inside(lbox, fig.bbox) and not _overlap(lbox, abox)


def test_tradeoff_releases_at_the_same_place_share_one_label():
    fig = tradeoff_figure(_demo_like())
    texts = sorted(t.get_text() for t in _labels(fig))
    assert texts == ["A, B", "C", "D"]
    # the stacked markers are concentric, the first the largest, so both stay visible
    lines = [ln for ln in fig.axes[0].lines if ln.get_marker() not in ("_", "None", None, "")]
    sizes = {ln.get_color(): ln.get_markersize() for ln in lines}
    assert sizes["C0"] > sizes["C1"]


def test_tradeoff_old_overlap_case_would_fail_the_check():
    """The check itself can fail: two names annotated at one point, as before, overlap."""
    fig = Figure(figsize=(9, 5.5), dpi=100)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0.98, 0.3], "o")
    a = ax.annotate("1-naive-hash", (0, 0.98), textcoords="offset points", xytext=(5, 3))
    b = ax.annotate("2-keyed-hash", (0, 0.98), textcoords="offset points", xytext=(5, 3))
    with pytest.raises(AssertionError, match="overlaps"):
        _assert_clear(fig, [a, b])


def test_tradeoff_png_is_deterministic_and_has_no_timestamp():
    one, two = tradeoff_png(_crowded()), tradeoff_png(_crowded())
    assert one == two and one.startswith(PNG_MAGIC)
    chunks, pos = [], 8
    while pos < len(one):
        (n,), kind = struct.unpack(">I", one[pos:pos + 4]), one[pos + 4:pos + 8]
        chunks.append((kind, one[pos + 8:pos + 8 + n]))
        pos += 12 + n
    kinds = {k for k, _ in chunks}
    assert b"tIME" not in kinds
    assert not any(k in (b"tEXt", b"iTXt", b"zTXt") and (b"Software" in v or b"Date" in v) for k, v in chunks)
    pixels = mpimg.imread(io.BytesIO(one), format="png")
    assert pixels.std() > 0


def test_tradeoff_masks_names_and_keeps_dollars_literal():
    fig = tradeoff_figure(_comparison(_release("hash of 03001234567", 0.9, 0.0),
                                      _release("budget $5 vs $10", 0.2, 1.0)))
    entries = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "03001234567" not in " ".join(entries) and "[redacted]" in entries[0]
    assert r"\$5 vs \$10" in entries[1]            # escaped: drawn as text, not as mathtext


def test_tradeoff_none_without_risk_and_empty_axes_on_request():
    comp = _comparison({"name": "x", "attacks": {}, "utility": {}})
    assert tradeoff_png(comp) is None
    assert tradeoff_png(comp, empty=True).startswith(PNG_MAGIC)


def test_tradeoff_long_names_are_wrapped_inside_the_figure():
    fig = tradeoff_figure(_comparison(_release("a very long release name " * 12, 0.5, 1.0)))
    r = renderer_of(fig)
    fig.draw_without_rendering()
    assert _inside(fig.legends[0].get_window_extent(r), fig.bbox)
    assert "\n" in fig.legends[0].get_texts()[0].get_text()


def test_key_span_and_letters():
    assert [letters(i) for i in (0, 1, 25, 26, 27, 701, 702)] == ["A", "B", "Z", "AA", "AB", "ZZ", "AAA"]
    assert key_span(["A", "B", "C", "E", "F", "H"]) == "A\N{EN DASH}C, E, F, H"
    assert key_span(["Y", "Z", "AA"]) == "Y\N{EN DASH}AA"


# -- the placement itself ------------------------------------------------------------------------------------------
def test_place_labels_dodges_many_labels_at_one_point():
    fig = Figure(figsize=(6, 4), dpi=100)
    ax = fig.add_subplot()
    ax.plot([0, 10], [0, 10], "o")
    anns = place_labels(ax, [(f"label {i}", (5, 5)) for i in range(16)], fontsize=8,
                        obstacles=[point_box(ax, 5, 5)])
    _assert_clear(fig, anns)
    # far-moved labels point back with a leader line
    assert any(a.arrow_patch is not None for a in anns)


def test_place_labels_keeps_corner_labels_inside():
    fig = Figure(figsize=(4, 3), dpi=100)
    ax = fig.add_subplot()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    corners = [(0, 0), (1, 0), (0, 1), (1, 1), (1, 1), (0.5, 1)]
    anns = place_labels(ax, [(f"corner label {i}", xy) for i, xy in enumerate(corners)], fontsize=8)
    _assert_clear(fig, anns)


def test_place_labels_own_spots_and_style():
    fig = Figure(figsize=(6, 4), dpi=100)
    ax = fig.add_subplot()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    up, down = place_labels(ax, [("up", (5, 5), {"spots": UP, "color": "C0"}),
                                 ("down", (5, 5), {"spots": DOWN, "color": "C1"})], fontsize=8)
    r = renderer_of(fig)
    py = ax.transData.transform((5, 5))[1]
    assert text_box(up, r).y0 > py > text_box(down, r).y1
    assert up.get_color() == "C0" and down.get_color() == "C1"


def test_place_labels_is_deterministic():
    def png():
        fig = Figure(figsize=(4, 3), dpi=100)
        ax = fig.add_subplot()
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        place_labels(ax, [(str(i), (0.5, 0.5)) for i in range(10)])
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
        return buf.getvalue()

    assert png() == png()


# -- the HTML report's other charts --------------------------------------------------------------------------------
def _curve(table: str, time_bin: str, space: str, values: list[float]) -> dict:
    return {"table": table, "time_bin": time_bin, "space": space, "points": list(range(1, len(values) + 1)),
            "unique_rate": [{"value": v, "ci": [max(0, v - 0.02), min(1, v + 0.02)]} for v in values]}


def _many_curves() -> list[dict]:
    return [_curve(f"a_rather_long_table_name_{t}", tb, sp, [0.2, 0.6, 0.9, 0.99, 1.0])
            for t in range(3) for tb, sp in (("1h", "cell"), ("4h", "grid:5km"), ("1d", "district"))]


@pytest.mark.parametrize("curves", [[_curve("cdr", "1h", "cell", [0.02, 0.57, 0.92, 0.98, 0.997]),
                                     _curve("cdr", "4h", "cell", [0.01, 0.23, 0.62, 0.86, 0.951]),
                                     _curve("cdr", "1d", "district", [0.0, 0.01, 0.03, 0.05, 0.083])],
                                    _many_curves()], ids=["demo-like", "many-tables"])
def test_resolution_bar_values_and_ticks_are_clear(curves):
    fig = html_report._resolution_figure(curves, 5)
    ax = fig.axes[0]
    anns = list(ax.texts)
    assert [a.get_text() for a in anns] == [html_report._pct(c["unique_rate"][-1]["value"]) for c in curves]
    _assert_clear(fig, anns)
    fig.draw_without_rendering()
    assert not tick_labels_collide(ax)
    r = renderer_of(fig)
    for t in ax.get_xticklabels():
        assert _inside(t.get_window_extent(r), fig.bbox), t.get_text()


def test_legends_stand_beside_the_axes():
    curves = _many_curves()
    sets = [{"table": "cdr", "rule_id": "RC201", "histogram": {"1": 1700, "2": 23, ">1000": 2000}},
            {"table": "subscribers", "rule_id": "RC101", "histogram": {"1": 1000, "2": 560, ">1000": 3000}}]
    for fig in (html_report._curves_figure(curves), html_report._anonymity_figure(sets)[0]):
        fig.draw_without_rendering()
        r = renderer_of(fig)
        ax = fig.axes[0]
        box = ax.get_legend().get_window_extent(r)
        assert not _overlap(box, ax.get_window_extent(r)) and _inside(box, fig.bbox)


def test_html_report_embeds_the_tradeoff_chart_of_its_comparison():
    report = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    report["comparison"] = _demo_like()
    pngs = [base64.b64decode(m) for m in re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"',
                                                     html_report.render_html(report))]
    assert len(pngs) == 4 and pngs[-1] == tradeoff_png(_demo_like())
