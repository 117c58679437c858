"""Charts drawn in more than one place, each by one function.

``tradeoff_png``: the privacy–utility trade-off of a ``reidcheck compare`` document — what
``reidcheck compare --png`` writes and what the HTML report embeds for its ``comparison``.
"""

from __future__ import annotations

import io

DPI = 100


def release_risk(release: dict) -> dict | None:
    """The release's risk: the strongest attack's correct rate (``risk`` of a comparison row), else
    its ε_p (unicity, else aggregate exposure); None when not measured."""
    if release.get("risk"):
        return release["risk"]
    a = release.get("attacks") or {}
    return (a.get("unicity") or a.get("aggregate_exposure") or {}).get("unique_rate")


def tradeoff_png(comp: dict, *, empty: bool = False) -> bytes | None:
    """PNG bytes: share re-identified by the strongest attack (else ε_p; whiskers its 95% interval) against the mean spatial error of
    the released records, one labelled point per release of ``comp`` (``Comparison.to_dict()``);
    aggregated releases stand at 0 km. None when no release has a measured risk, unless ``empty``
    (then the empty axes). Labels are masked like every report text; no timestamp in the file."""
    import matplotlib.style
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    from .html import mask

    with matplotlib.style.context("default"):
        fig = Figure(figsize=(9.0, 5.5), dpi=DPI, layout="constrained")
        ax = fig.add_subplot()
        plotted = 0
        for rel in comp.get("releases") or []:
            r = release_risk(rel)
            if r is None:
                continue
            se = (rel.get("utility") or {}).get("spatial_error_km")
            x = se["mean"] if se else 0.0
            lo, hi = r["ci"]
            ax.errorbar([x], [r["value"]], yerr=[[r["value"] - lo], [hi - r["value"]]], fmt="o", capsize=3)
            ax.annotate(mask(str(rel.get("name", ""))), (x, r["value"]), textcoords="offset points", xytext=(5, 3),
                        fontsize=8)
            plotted += 1
        if not plotted and not empty:
            return None
        p = (comp.get("plan") or {}).get("points", "p")
        ax.set_xscale("symlog", linthresh=1.0)
        ax.margins(x=0.12)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("mean spatial error of released records (km, symlog scale; aggregates at 0)")
        strongest = any(rel.get("risk") for rel in comp.get("releases") or [])
        ax.set_ylabel("people re-identified by the strongest attack" if strongest
                      else f"people singled out by {p} known points")
        ax.set_ylim(-0.03, 1.03)
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
        ax.set_title("Privacy\N{EN DASH}utility trade-off")
        ax.grid(True, alpha=0.3)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()
