"""Charts drawn in more than one place, each by one function, and the label placement they share.

``tradeoff_png``: the privacy–utility trade-off of a ``reidcheck compare`` document — what
``reidcheck compare --png`` writes and what the HTML report embeds for its ``comparison``.

``place_labels``: text labels next to data points that never overlap each other and never leave
the axes (a deterministic dodge: each label takes the first free spot of a fixed list of spots
around its point, with a thin leader line when it had to move away). The HTML report's charts and
the benchmark figures use it for every annotation.
"""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass

DPI = 100

#: Marker shapes of the trade-off chart's points, cycled with the colours (C0–C9).
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")


# -- text ----------------------------------------------------------------------------------------------------------
def plain(text) -> str:
    """``text`` as matplotlib must show it literally: a ``$`` would otherwise start mathtext."""
    return str(text).replace("$", r"\$")


def letters(i: int) -> str:
    """The key of the ``i``-th point (0-based): A, B, …, Z, AA, AB, …"""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(ord("A") + r) + out
    return out


def key_span(keys: list[str]) -> str:
    """Keys of points drawn at one place, runs of three or more shortened: ``A–D, F``."""
    idx = [_index(k) for k in keys]
    out, i = [], 0
    while i < len(idx):
        j = i
        while j + 1 < len(idx) and idx[j + 1] == idx[j] + 1:
            j += 1
        out.append(keys[i] if j == i else f"{keys[i]}, {keys[j]}" if j == i + 1 else f"{keys[i]}\N{EN DASH}{keys[j]}")
        i = j + 1
    return ", ".join(out)


def _index(key: str) -> int:
    n = 0
    for ch in key:
        n = n * 26 + ord(ch) - ord("A") + 1
    return n - 1


# -- label placement -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spot:
    """A label position relative to its point: offset in points and the text's alignment there."""

    dx: float
    dy: float
    ha: str
    va: str

    @property
    def radius(self) -> float:
        return math.hypot(self.dx, self.dy)


def ring_spots(radii=(4, 10, 18, 28, 40, 54, 70, 90), order=(0, 1, -1, 2, -2, 3, -3, 4)) -> tuple[Spot, ...]:
    """Spots on rings around the point, nearest ring first; on each ring the directions of ``order``
    (multiples of 45°: 0 right, 2 above, -2 below, 4 left), the text aligned away from the point so
    that it never covers it. The default tries right, then above/below, then left."""
    spots = []
    for r in radii:
        for k in order:
            a = math.pi * k / 4
            c, s = math.cos(a), math.sin(a)
            ha = "left" if c > 0.3 else "right" if c < -0.3 else "center"
            va = "bottom" if s > 0.3 else "top" if s < -0.3 else "center"
            spots.append(Spot(round(r * c, 3), round(r * s, 3), ha, va))
    return tuple(spots)


AROUND = ring_spots()
#: Above the point first (e.g. the upper of two close series), below it first (the lower one).
UP = ring_spots(order=(2, 1, 3, 0, 4, -1, -3, -2))
DOWN = ring_spots(order=(-2, -1, -3, 0, 4, 1, 3, 2))
#: Above a bar's top, else just inside it (for bar values).
ABOVE = (Spot(0, 3, "center", "bottom"), Spot(0, -3, "center", "top"), Spot(0, 12, "center", "bottom"),
         Spot(0, 22, "center", "bottom"))


def renderer_of(fig):
    """The Agg renderer that ``savefig(format="png")`` draws ``fig`` with (text sizes are measured on it)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    return fig.canvas.get_renderer()


def _grow(b, pad: float):
    from matplotlib.transforms import Bbox

    return Bbox.from_extents(b.x0 - pad, b.y0 - pad, b.x1 + pad, b.y1 + pad)


def _overlap(a, b) -> float:
    """Area shared by two display-space boxes (0 when they only touch)."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _inside(b, region, tol: float = 0.5) -> bool:
    return (b.x0 >= region.x0 - tol and b.y0 >= region.y0 - tol and b.x1 <= region.x1 + tol
            and b.y1 <= region.y1 + tol)


def point_box(ax, x, y, half: float = 5.0):
    """The display-space box of a marker of ``half`` pixels at data point (x, y) (an obstacle)."""
    from matplotlib.transforms import Bbox

    px, py = ax.transData.transform((x, y))
    return Bbox.from_extents(px - half, py - half, px + half, py + half)


def segment_box(ax, x, y0, y1, half: float = 4.0):
    """The display-space box of a vertical segment (an error bar) at x from y0 to y1 (an obstacle)."""
    from matplotlib.transforms import Bbox

    (px, a), (_, b) = ax.transData.transform([(x, y0), (x, y1)])
    return Bbox.from_extents(px - half, min(a, b), px + half, max(a, b))


def polyline_boxes(ax, xs, ys, step: float = 5.0, half: float = 2.0) -> list:
    """Small display-space boxes every ``step`` pixels along the line through (xs, ys) in data
    coordinates (obstacles: labels then stay off the lines joining points)."""
    from matplotlib.transforms import Bbox

    pts = ax.transData.transform(list(zip(xs, ys)))
    out = []
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        n = max(1, int(math.hypot(x1 - x0, y1 - y0) // step))
        for k in range(n + 1):
            x, y = x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n
            out.append(Bbox.from_extents(x - half, y - half, x + half, y + half))
    return out


def text_box(ann, renderer):
    """The display-space box of an annotation's text alone (without its leader line)."""
    from matplotlib.text import Text

    ann.update_positions(renderer)
    return Text.get_window_extent(ann, renderer)


def place_labels(ax, labels, *, obstacles=(), spots=AROUND, pad: float = 1.5, leader_beyond: float = 12.0,
                 renderer=None, **text_kw) -> list:
    """Annotate ``ax`` with ``labels`` — ``(text, (x, y))`` in data coordinates, or ``(text, (x, y),
    options)`` where options may hold the label's own ``spots`` and text properties (e.g. ``color``);
    placed in order — so that no two labels overlap and every label lies inside the axes.

    Each label takes the first spot of ``spots`` (offsets from its point) where its box (grown by
    ``pad`` pixels) is inside the axes and clear of the labels already placed and of ``obstacles``
    (display-space boxes: markers, error bars, lines, legends); failing that, the first spot inside
    the axes clear of the labels; failing that, the spot of least overlap. Labels that moved further
    than ``leader_beyond`` points get a thin leader line to their point. Call it once the layout is
    final (after ``tight_layout`` or ``draw_without_rendering``): the labels are left out of the
    layout and clipped to the axes, so nothing moves them afterwards. Returns the annotations.
    Deterministic."""
    fig = ax.figure
    renderer = renderer or renderer_of(fig)
    ax.set_xlim(ax.get_xlim())          # freeze autoscaling: positions are computed on these limits
    ax.set_ylim(ax.get_ylim())
    region = ax.get_window_extent(renderer)
    placed, out = [], []
    for item in labels:
        text, xy = item[0], item[1]
        options = dict(item[2]) if len(item) > 2 else {}
        own_spots = options.pop("spots", spots)
        kw = {**text_kw, **options}
        probe = ax.annotate(plain(text), xy, xytext=(0, 0), textcoords="offset points", **kw)
        best = None
        for rank, spot in enumerate(own_spots):
            probe.xyann = (spot.dx, spot.dy)
            probe.set_ha(spot.ha)
            probe.set_va(spot.va)
            box = _grow(text_box(probe, renderer), pad)
            hit_labels = sum(_overlap(box, p) for p in placed)
            hit_obstacles = sum(_overlap(box, o) for o in obstacles)
            score = (not _inside(box, region), hit_labels > 0, hit_obstacles > 0, hit_labels, hit_obstacles, rank)
            if best is None or score < best[0]:
                best = (score, spot, box)
            if score[:3] == (False, False, False):
                break
        probe.remove()
        _, spot, box = best
        leader = dict(arrowstyle="-", lw=0.6, color="0.45", shrinkA=1, shrinkB=4) if spot.radius > leader_beyond \
            else None
        ann = ax.annotate(plain(text), xy, xytext=(spot.dx, spot.dy), textcoords="offset points", ha=spot.ha,
                          va=spot.va, arrowprops=leader, **kw)
        ann.set_in_layout(False)
        ann.set_clip_on(True)
        placed.append(box)
        out.append(ann)
    return out


def tick_labels_collide(ax, axis: str = "x", renderer=None) -> bool:
    """Whether two of ``ax``'s visible tick labels on ``axis`` overlap as drawn now."""
    renderer = renderer or renderer_of(ax.figure)
    ticks = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    boxes = [t.get_window_extent(renderer) for t in ticks if t.get_visible() and t.get_text()]
    return any(_overlap(_grow(a, 3.0), b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def _tick_band(ax, renderer) -> float:
    """Height in pixels of the x tick labels of ``ax`` as drawn now."""
    boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
    return max((b.height for b in boxes), default=0.0)


def fit_tick_labels(ax, fig) -> None:
    """Make ``ax``'s x tick labels fit side by side: when two would overlap, wrap them onto narrower
    lines, and when even that is not enough, turn them upright; the figure grows by the height the
    labels gained, so the axes keep theirs."""
    fig.draw_without_rendering()
    if not tick_labels_collide(ax):
        return
    renderer = renderer_of(fig)
    before = _tick_band(ax, renderer)
    ticks, texts = list(ax.get_xticks()), [t.get_text() for t in ax.get_xticklabels()]
    for width in (24, 16, 10):
        ax.set_xticks(ticks, [textwrap.fill(t, width, break_long_words=False, break_on_hyphens=False)
                              for t in texts])
        fig.draw_without_rendering()
        if not tick_labels_collide(ax):
            break
    else:
        ax.set_xticks(ticks, texts, rotation=90)
        fig.draw_without_rendering()
    w, h = fig.get_size_inches()
    fig.set_size_inches(w, h + max(0.0, _tick_band(ax, renderer) - before) / fig.dpi)
    fig.draw_without_rendering()


# -- the trade-off chart -------------------------------------------------------------------------------------------
def release_risk(release: dict) -> dict | None:
    """The release's risk: the strongest attack's correct rate (``risk`` of a comparison row), else
    its ε_p (unicity, else aggregate exposure); None when not measured."""
    if release.get("risk"):
        return release["risk"]
    a = release.get("attacks") or {}
    return (a.get("unicity") or a.get("aggregate_exposure") or {}).get("unique_rate")


def _pct(v: float) -> str:
    p = 100 * v
    s = f"{p:.2g}" if 0 < abs(p) < 1 else f"{p:.1f}"
    return (s[:-2] if s.endswith(".0") else s) + "%"


_X_TICKS = (0, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)
_KEY_WIDTH = 160          # characters per line of the key under the chart at most (narrower if it must)


def _x_ticks(right: float) -> list[float]:
    ticks = [t for t in _X_TICKS if t <= right]
    if right > 5:
        ticks.remove(0.5)
    if len(ticks) > 9:                               # wide range: decades only
        ticks = [t for t in ticks if t in (0, 1) or math.log10(t).is_integer()]
    return ticks


def _key_entries(points: list[dict], width: int) -> list[str]:
    out = []
    for p in points:
        where = "aggregate, drawn at 0\N{NO-BREAK SPACE}km" if p["aggregate"] else f"{p['x']:.3g}\N{NO-BREAK SPACE}km"
        entry = f"{p['key']}   {p['name']}   ({_pct(p['y'])} re-identified; {where})"
        out.append(plain(textwrap.fill(entry, width, subsequent_indent="      ")))
    return out


def tradeoff_figure(comp: dict, *, empty: bool = False):
    """The trade-off chart as a matplotlib Figure (None when no release has a measured risk, unless
    ``empty``): one lettered point per release; releases drawn at the same place share one label
    ("A, B") and are drawn as concentric markers, the first the largest; the key under the axes maps
    each letter to its (masked) release name and figures."""
    import matplotlib.style
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator, PercentFormatter

    from .html import mask

    points = []
    for rel in comp.get("releases") or []:
        r = release_risk(rel)
        if r is None:
            continue
        se = (rel.get("utility") or {}).get("spatial_error_km")
        x = float(se["mean"]) if se else 0.0
        lo, hi = r["ci"]
        i = len(points)
        points.append({"key": letters(i), "name": mask(str(rel.get("name", ""))), "x": x, "y": float(r["value"]),
                       "lo": float(lo), "hi": float(hi), "aggregate": not se, "marker": MARKERS[i % len(MARKERS)],
                       "color": f"C{i % 10}"})
    if not points and not empty:
        return None
    key = _key_entries(points, _KEY_WIDTH)
    key_lines = sum(k.count("\n") + 1 for k in key)

    with matplotlib.style.context("default"):
        fig = Figure(figsize=(9.0, 5.0 + 0.19 * key_lines + (0.3 if points else 0)), dpi=DPI, layout="constrained")
        renderer = renderer_of(fig)
        ax = fig.add_subplot()
        for p in points:
            bars = ax.errorbar([p["x"]], [p["y"]], yerr=[[p["y"] - p["lo"]], [p["hi"] - p["y"]]], fmt=p["marker"],
                               color=p["color"], ms=7, capsize=3, mec="white", mew=0.8)
            p["line"] = bars.lines[0]
        p_known = (comp.get("plan") or {}).get("points", "p")
        ax.set_xscale("symlog", linthresh=1.0)
        right = max([1.0, *(p["x"] for p in points)]) * 2.2
        ax.set_xlim(-0.45, right)
        ax.xaxis.set_major_locator(FixedLocator(_x_ticks(right)))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("mean spatial error of released records (km, symlog scale; aggregates at 0)")
        strongest = any(rel.get("risk") for rel in comp.get("releases") or [])
        ax.set_ylabel("people re-identified by the strongest attack" if strongest
                      else f"people singled out by {p_known} known points")
        ax.set_ylim(-0.06, 1.1)
        ax.yaxis.set_major_locator(FixedLocator([0, 0.2, 0.4, 0.6, 0.8, 1.0]))
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
        ax.set_title("Privacy\N{EN DASH}utility trade-off")
        ax.grid(True, alpha=0.3)
        if points:
            handles = [Line2D([], [], ls="none", marker=p["marker"], color=p["color"], ms=7, mec="white", mew=0.8)
                       for p in points]
            width = _KEY_WIDTH
            while True:                           # the key fits the figure's width: wrap it narrower if not
                legend = fig.legend(handles, key, loc="outside lower left", ncols=1, fontsize=8, frameon=False,
                                    handlelength=1.0, handletextpad=0.6, borderaxespad=0.3, title="Releases",
                                    title_fontsize=8.5, alignment="left")
                fig.draw_without_rendering()
                if legend.get_window_extent(renderer).x1 <= fig.bbox.x1 - 2 or width <= 40:
                    break
                legend.remove()
                width -= 10
                key = _key_entries(points, width)
        fig.draw_without_rendering()              # the layout is final: labels are placed on it
        groups: list[list[dict]] = []
        for p in points:                          # points drawn within 6 pixels of a group's first share its label
            px, py = ax.transData.transform((p["x"], p["y"]))
            for g in groups:
                gx, gy = ax.transData.transform((g[0]["x"], g[0]["y"]))
                if abs(px - gx) <= 6 and abs(py - gy) <= 6:
                    g.append(p)
                    break
            else:
                groups.append([p])
        for g in groups:                          # stacked points stay visible: concentric, the first largest
            for j, p in enumerate(g):
                p["ms"] = 7 + min(3 * (len(g) - 1 - j), 12)
                p["line"].set_markersize(p["ms"])
                p["line"].set_zorder(2.1 + j / 100)
        obstacles = [point_box(ax, p["x"], p["y"], p["ms"] * DPI / 72 / 2 + 1) for p in points]
        obstacles += [segment_box(ax, p["x"], p["lo"], p["hi"]) for p in points]
        place_labels(ax, [(key_span([p["key"] for p in g]), (g[0]["x"], g[0]["y"])) for g in groups],
                     obstacles=obstacles, renderer=renderer, fontsize=9, fontweight="bold", color="#1b1f24")
    return fig


def tradeoff_png(comp: dict, *, empty: bool = False) -> bytes | None:
    """PNG bytes: share re-identified by the strongest attack (else ε_p; whiskers its 95% interval)
    against the mean spatial error of the released records, one lettered point per release of
    ``comp`` (``Comparison.to_dict()``) and a key under the axes naming each; aggregated releases
    stand at 0 km. No two labels overlap and none leaves the axes. None when no release has a
    measured risk, unless ``empty`` (then the empty axes). Names are masked like every report text;
    no timestamp in the file (same input, same bytes)."""
    fig = tradeoff_figure(comp, empty=empty)
    if fig is None:
        return None
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()
