"""The audit report as one self-contained HTML page for a non-specialist reader.

The verdict comes first, then one card per finding (failed first), plain-language charts (PNG images made with
matplotlib's Agg backend and embedded as ``data:`` URIs), the tables audited and how to reproduce the run.
No JavaScript, no external resource; the output is byte-identical for the same report. Every text is escaped
and anything that looks like a phone number or a CNIC is masked (reports hold aggregates only; this is a
second line of defence).
"""

from __future__ import annotations

import base64
import html
import io
import re

from . import rule_names
from .markdown import _is_rate, _num, _pct, measured, threshold
from .plots import plain

_PERSONAL = re.compile(r"\+?92\d{10}|03\d{9}|\d{5}-\d{7}-\d")
_STATUS = {"fail": ("FAIL", 0), "inconclusive": ("INCONCLUSIVE", 1), "pass": ("PASS", 2), "not_applicable": ("NOT APPLICABLE", 3)}
_DPI = 100

_CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1b1f24;
background:#f6f7f9}
.banner{color:#fff;padding:32px 40px 36px;min-height:200px}
.banner.fail{background:#b3261e}.banner.pass{background:#1a7f37}
.banner .kicker{margin:0;font-size:15px;letter-spacing:.06em;text-transform:uppercase;opacity:.9}
.banner h1{margin:4px 0 8px;font-size:64px;line-height:1.1;letter-spacing:.04em}
.banner .lead{margin:0 0 8px;font-size:22px;max-width:60em}
.banner .input{margin:0;font-size:16px}
.banner code{background:rgba(255,255,255,.18);color:#fff}
main{max-width:1100px;margin:0 auto;padding:8px 24px 48px}
h2{margin:36px 0 12px;font-size:26px;border-bottom:2px solid #d0d7de;padding-bottom:4px}
h3{margin:0 0 8px;font-size:19px}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:14px;background:#eef1f4;
border-radius:4px}
code{padding:1px 4px}pre{padding:12px 14px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.finding{background:#fff;border:1px solid #d0d7de;border-left:8px solid #8c959f;border-radius:6px;padding:16px 20px;
margin:0 0 14px}
.finding.fail{border-left-color:#b3261e}.finding.pass{border-left-color:#1a7f37}
.badge{display:inline-block;padding:2px 10px;border-radius:999px;font-size:13px;font-weight:700;color:#fff;
background:#57606a;vertical-align:middle;margin-right:8px}
.badge.fail{background:#b3261e}.badge.pass{background:#1a7f37}
.rule{color:#57606a;font-weight:600}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:8px 0}
dl.facts dt{font-weight:600;color:#57606a}dl.facts dd{margin:0}
.message{margin:8px 0 0}.params{margin:6px 0 0;font-size:14px;color:#57606a}
figure{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:0 0 18px;padding:12px}
figure img{display:block;max-width:100%;height:auto;margin:0 auto}
figcaption{margin-top:8px;color:#33393f}
.skipped{color:#57606a;font-style:italic}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #d0d7de;padding:6px 10px;text-align:left;vertical-align:top}
th{background:#eef1f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.cols{font-size:14px;color:#57606a}
footer{color:#57606a;font-size:14px;text-align:center;padding:0 0 24px}
"""


# -- text --------------------------------------------------------------------------------------------------------
def mask(text: str) -> str:
    """Replace anything shaped like a Pakistani phone number or CNIC with ``[redacted]``."""
    return _PERSONAL.sub("[redacted]", text)


def _t(value) -> str:
    """Masked and HTML-escaped text of ``value``."""
    return html.escape(mask(str(value)))


def _measured(f: dict) -> str:
    return measured(f, ci_label="95% interval")


def _threshold(f: dict) -> str:
    return threshold(f, words=True)


def _duration(s) -> str:
    if s is None:
        return "unknown"
    if s < 60:
        return f"{s:.1f} s"
    m, sec = divmod(round(s), 60)
    return f"{m} min {sec} s" if m < 60 else f"{m // 60} h {m % 60} min"


def _verdict_sentence(report: dict) -> str:
    s = report.get("summary") or {}
    failed, total, passed = s.get("failed", 0), s.get("rules", 0), s.get("passed", 0)
    if report.get("verdict") == "fail":
        return (f"{failed} of {total} {'check' if total == 1 else 'checks'} failed: "
                "this export is not safe to release under the policy.")
    return (f"All {passed} applicable {'check' if passed == 1 else 'checks'} passed: this export stays within the "
            "policy's limits for every attack that was measured.")


# -- charts ------------------------------------------------------------------------------------------------------
def _figure(width: float = 8.0, height: float = 4.2):
    from matplotlib.figure import Figure

    from .plots import renderer_of

    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    renderer_of(fig)
    return fig, fig.add_subplot()


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _resolution_label(c: dict, many_tables: bool) -> str:
    label = f"{c['time_bin']} \N{MULTIPLICATION SIGN} {c['space']}"
    return plain(mask(f"{c['table']}: {label}" if many_tables else label))


def _legend_outside(ax, **kw):
    """A legend right of the axes (the layout makes room for it): it never covers a line or a bar."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=9, **kw)


def _curves_figure(curves: list[dict]):
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    fig, ax = _figure()
    many = len({c["table"] for c in curves}) > 1
    for c in curves:
        ys = [u["value"] for u in c["unique_rate"]]
        ax.plot(c["points"], ys, marker="o", label=_resolution_label(c, many))
        ax.fill_between(c["points"], [u["ci"][0] for u in c["unique_rate"]], [u["ci"][1] for u in c["unique_rate"]],
                        alpha=0.2)
    ax.set_xlabel("number of (time, place) points the attacker knows")
    ax.set_ylabel("people singled out")
    ax.set_ylim(-0.02, 1.04)                  # a point at 0% or 100% is drawn whole
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    _legend_outside(ax, title="time bin \N{MULTIPLICATION SIGN} place")
    return fig


def _plot_curves(curves: list[dict]) -> str:
    return _png(_curves_figure(curves))


def _resolution_figure(curves: list[dict], p: int):
    from matplotlib.ticker import PercentFormatter

    from .plots import ABOVE, fit_tick_labels, place_labels, segment_box

    fig, ax = _figure()
    many = len({c["table"] for c in curves}) > 1
    labels, ys, lo, hi = [], [], [], []
    for c in curves:
        u = c["unique_rate"][c["points"].index(p)]
        labels.append(_resolution_label(c, many))
        ys.append(u["value"])
        lo.append(u["value"] - u["ci"][0])
        hi.append(u["ci"][1] - u["value"])
    xs = list(range(len(labels)))
    ax.bar(xs, ys, width=0.6, yerr=[lo, hi], capsize=4, color="#4c72b0")
    ax.set_xticks(xs, labels)
    ax.set_xlabel("resolution of the release (time bin \N{MULTIPLICATION SIGN} place)")
    ax.set_ylabel(f"people singled out by {p} points")
    ax.set_ylim(0, 1.12)
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.grid(True, axis="y", alpha=0.3)
    fit_tick_labels(ax, fig)
    fig.draw_without_rendering()
    tops = [y + h for y, h in zip(ys, hi)]
    place_labels(ax, [(_pct(y), (x, t)) for x, y, t in zip(xs, ys, tops)], spots=ABOVE, fontsize=10,
                 obstacles=[segment_box(ax, x, y - d, t, half=6) for x, y, d, t in zip(xs, ys, lo, tops)])
    return fig


def _plot_resolution(curves: list[dict], p: int) -> str:
    return _png(_resolution_figure(curves, p))


def _anonymity_figure(sets: list[dict]):
    from .plots import fit_tick_labels

    fig, ax = _figure()
    labels = list(dict.fromkeys(k for s in sets for k in s["histogram"]))
    width = 0.8 / len(sets)
    counts = [c for s in sets for c in s["histogram"].values()]
    positive = [c for c in counts if c > 0]
    log = bool(positive) and max(positive) / min(positive) >= 100
    for i, s in enumerate(sets):
        ys = [s["histogram"].get(k, 0) for k in labels]
        xs = [j + (i - (len(sets) - 1) / 2) * width for j in range(len(labels))]
        ax.bar(xs, ys, width=width, label=plain(mask(f"{s['table']} ({s['rule_id']})")))
    ax.set_xticks(range(len(labels)), [plain(mask(k)) for k in labels])
    ax.set_xlabel("anonymity-set size: how many people match the same known points")
    ax.set_ylabel("people (log scale)" if log else "people")
    if log:
        ax.set_yscale("log")
        ax.set_ylim(bottom=0.8)
    ax.grid(True, axis="y", alpha=0.3)
    if len(sets) > 1:                  # above the axes, in a row: the bars keep the full width
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), borderaxespad=0.0, fontsize=9, frameon=False,
                  ncols=min(len(sets), 3))
    fit_tick_labels(ax, fig)
    return fig, log


def _plot_anonymity(sets: list[dict]) -> tuple[str, bool]:
    fig, log = _anonymity_figure(sets)
    return _png(fig), log


def _plot_comparison(comp: dict) -> str | None:
    from .plots import tradeoff_png

    png = tradeoff_png(comp)
    return None if png is None else "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _figure_html(uri: str, alt: str, caption: str) -> str:
    return (f'<figure><img src="{uri}" alt="{_t(alt)}">'
            f"<figcaption>{_t(caption)}</figcaption></figure>")


def _skipped(sentence: str) -> str:
    return f'<p class="skipped">{_t(sentence)}</p>'


def _charts(report: dict) -> list[str]:
    import matplotlib.style

    out = []
    curves = [c for c in report.get("curves") or [] if c.get("points")]
    with matplotlib.style.context("default"):
        out.append("<h3>How many known points it takes to single someone out</h3>")
        if curves:
            out.append(_figure_html(
                _plot_curves(curves), "Line chart: share of people singled out against the number of known points.",
                "Each line is one resolution of the data: the higher the line, the more people an attacker who knows "
                "that many (time, place) points about someone can pick out uniquely. Shaded bands are 95% intervals."))
        else:
            out.append(_skipped("This chart is left out: the report holds no uniqueness curve "
                                "(no trajectory table was measured at several numbers of known points)."))

        out.append("<h3>How the resolution changes the risk</h3>")
        common = sorted(set.intersection(*(set(c["points"]) for c in curves))) if curves else []
        if common:
            p = common[-1]
            out.append(_figure_html(
                _plot_resolution(curves, p),
                f"Bar chart: share of people singled out by {p} known points at each resolution.",
                f"Share of people singled out by {p} known points, for each time bin \N{MULTIPLICATION SIGN} place "
                "resolution. Coarser data (longer time bins, larger areas) should give lower bars; "
                "whiskers are 95% intervals."))
        else:
            out.append(_skipped("This chart is left out: " + (
                "the uniqueness curves share no common number of known points." if curves
                else "the report holds no uniqueness curve to compare resolutions with.")))

        out.append("<h3>How many people each person hides among</h3>")
        sets = [s for s in report.get("anonymity_sets") or [] if s.get("histogram")]
        if sets:
            uri, log = _plot_anonymity(sets)
            out.append(_figure_html(
                uri, "Bar chart: number of people by anonymity-set size.",
                "For each attacked person, how many people match the same known points. A set of size 1 means the "
                "person is singled out; bigger sets mean better hiding." + (
                    " The vertical scale is logarithmic." if log else "")))
        else:
            out.append(_skipped("This chart is left out: the report holds no anonymity-set histogram."))

        out.append("<h3>Privacy against usefulness of each anonymization</h3>")
        comp = report.get("comparison")
        uri = _plot_comparison(comp) if comp else None
        if uri:
            out.append(_figure_html(
                uri, "Scatter plot: share of people singled out against mean spatial error, one point per release.",
                "Each point is one way of anonymizing the data: lower means safer, further right means less precise "
                "locations. Aggregated releases have no per-record location and are drawn at 0 km; "
                "whiskers are 95% intervals."))
        else:
            out.append(_skipped("This chart is left out: " + (
                "the embedded comparison has no release with a measured risk." if comp
                else "the report embeds no privacy\N{EN DASH}utility comparison.")))
    return out


def _setting(value) -> str | None:
    """A setting's value in words: lists joined by commas, an empty list "none", true/false as in the
    policy file, a table as ``(key = value, …)``; None for no value (None or an empty text)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        items = [t for t in map(_setting, value) if t is not None]
        return ", ".join(items) if items else "none"
    if isinstance(value, dict):
        inner = ", ".join(f"{k} = {t}" for k, t in ((k, _setting(v)) for k, v in value.items()) if t is not None)
        return f"({inner})" if inner else "none"
    return str(value)


def settings_text(params: dict) -> str:
    """``key = value; …`` of a finding's parameters (a list's items separated by commas). A key without
    a value (None, empty text) is left out; an empty list reads "none" (e.g. the direct-identifiers rule's ``columns``: the
    columns found holding identifiers in clear, none)."""
    return "; ".join(f"{k}\N{NO-BREAK SPACE}=\N{NO-BREAK SPACE}{t}"       # a line never breaks at "="
                     for k, t in ((k, _setting(v)) for k, v in params.items()) if t is not None)


# -- sections ----------------------------------------------------------------------------------------------------
def _finding_html(f: dict) -> str:
    status = f.get("status", "not_applicable")
    word = _STATUS.get(status, (status.upper(), 4))[0]
    title = f.get("title") or rule_names(f["rule_id"])[1]
    cls = status if status in ("pass", "fail") else "na"
    facts = [("Table", f"<code>{_t(f.get('table', ''))}</code>"), ("Measured", _t(_measured(f))),
             ("Policy limit", _t(_threshold(f)))]
    if f.get("judge") == "upper" and f.get("interval") and f.get("judged") is not None:
        fmt = _pct if _is_rate(f) else _num
        facts.append(("Judged on", _t(f"the upper end of the interval ({fmt(f['judged'])}), to be on the safe side")))
    ptext = settings_text(f.get("params") or {})
    return "".join([
        f'<article class="finding {cls}" id="finding-{_t(f["rule_id"])}-{_t(f.get("table", ""))}">',
        f'<h3><span class="badge {cls}">{word}</span> <span class="rule">{_t(f["rule_id"])}</span> '
        f"{_t(title)}</h3>",
        '<dl class="facts">', *(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts), "</dl>",
        f'<p class="message">{_t(f.get("message", ""))}</p>',
        f'<p class="params">Settings: {_t(ptext)}</p>' if ptext else "",
        "</article>"])


def _tables_html(tables: list[dict]) -> str:
    if not tables:
        return "<p>No table was audited.</p>"
    rows = "".join(
        f"<tr><td><code>{_t(t.get('name', ''))}</code></td><td>{_t(t.get('kind', ''))}</td>"
        f'<td class="num">{_t(_num(t.get("rows", "")))}</td>'
        f'<td>{len(t.get("columns") or [])} <span class="cols">({_t(", ".join(t.get("columns") or []))})</span></td>'
        "</tr>" for t in tables)
    return ("<table><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Kind</th><th scope=\"col\">Rows</th>"
            f"<th scope=\"col\">Columns</th></tr></thead><tbody>{rows}</tbody></table>")


def _reproduce_html(report: dict) -> str:
    cfg = report.get("config") or {}
    tool = report.get("tool") or {}
    judge = cfg.get("judge", "")
    judge_text = {"upper": "upper (a measured share is judged on the upper end of its 95% interval)",
                  "value": "value (a measured share is judged on its point estimate)"}.get(judge, judge)
    facts = [("Seed", report.get("seed")), ("Engine", report.get("engine")), ("Policy", cfg.get("source")),
             ("Judge", judge_text), ("Tool", f"{tool.get('name', 'reidcheck')} {tool.get('version', '')}".strip()),
             ("Elapsed time", _duration(report.get("elapsed_s")))]
    return "".join([
        "<p>Run this command on the same files, from the folder the audit was run in, to get the same report:</p>",
        f"<pre><code>{_t(report.get('reproduce', ''))}</code></pre>",
        '<dl class="facts">', *(f"<dt>{k}</dt><dd>{_t(v)}</dd>" for k, v in facts), "</dl>"])


def render_html(report: dict) -> str:
    """The report dictionary as one self-contained HTML5 page (inline CSS, embedded PNG charts, no JavaScript)."""
    verdict = "PASS" if report.get("verdict") == "pass" else "FAIL"
    cls = verdict.lower()
    findings = sorted(report.get("findings") or [], key=lambda f: _STATUS.get(f.get("status"), ("", 4))[1])
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>reidcheck audit: {verdict} \N{EM DASH} {_t(report.get('input', ''))}</title>",
        f"<style>{_CSS}</style>", "</head>", "<body>",
        f'<header class="banner {cls}" id="verdict">',
        '<p class="kicker">reidcheck re-identification audit</p>',
        f"<h1>{verdict}</h1>",
        f'<p class="lead">{_t(_verdict_sentence(report))}</p>',
        f'<p class="input">Input: <code>{_t(report.get("input", ""))}</code></p>',
        "</header>", "<main>",
        '<section id="findings"><h2>What was found</h2>',
        *([_finding_html(f) for f in findings] or ["<p>No check was run.</p>"]),
        "</section>",
        '<section id="charts"><h2>Charts</h2>', *_charts(report), "</section>",
        '<section id="tables"><h2>Tables audited</h2>', _tables_html(report.get("tables") or []), "</section>",
        '<section id="reproduce"><h2>How to reproduce</h2>', _reproduce_html(report), "</section>",
        "</main>",
        "<footer>This report holds aggregate figures only; anything shaped like a phone number or ID number "
        "is shown as [redacted].</footer>",
        "</body>", "</html>", ""]
    return "\n".join(parts)
