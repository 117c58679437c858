"""Terminal summary of a generated population directory (aggregates only, no identifiers)."""

from __future__ import annotations

from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table


def population_figures(out: Path, manifest: dict) -> dict:
    """Aggregate figures of a population directory written by ``synthetic.write_population``."""
    files = {name: str(Path(out) / t["file"]) for name, t in manifest["tables"].items()}
    reader = "read_parquet" if manifest["format"] == "parquet" else "read_csv_auto"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")   # local hours below are UTC + 5, whatever the machine's zone
    q = lambda sql: con.execute(sql).fetchone()  # noqa: E731
    n = manifest["params"]["subscribers"]
    days = manifest["params"]["days"]
    per_user = q(f"""
        SELECT median(c), avg(c) FROM (
          SELECT s.subscriber_id, count(e.subscriber_id) / {days}.0 AS c
          FROM {reader}('{files['subscribers']}') s
          LEFT JOIN {reader}('{files['cdr']}') e ON e.subscriber_id = s.subscriber_id
          GROUP BY s.subscriber_id) t""")
    night = q(f"""SELECT avg(CASE WHEN (hour(timestamp + INTERVAL 5 HOUR)) < 6 THEN 1.0 ELSE 0.0 END)
                  FROM {reader}('{files['cdr']}')""")[0]
    work = q(f"SELECT avg(CASE WHEN work_cell_id IS NULL THEN 0.0 ELSE 1.0 END) "
             f"FROM {reader}('{files['subscribers']}')")[0]
    travellers = q(f"SELECT count(DISTINCT subscriber_id) FROM {reader}('{files['travel']}')")[0]
    return {
        "subscribers": n, "days": days, "seed": manifest["params"]["seed"],
        "cells": manifest["tables"]["cells"]["rows"], "sites": manifest["params"]["sites"],
        "rows": {name: t["rows"] for name, t in manifest["tables"].items()},
        "cdr_per_subscriber_day": {"median": float(per_user[0] or 0), "mean": float(per_user[1] or 0)},
        "night_share_cdr": float(night or 0), "with_work_anchor": float(work or 0),
        "traveller_share": travellers / n,
    }


def print_summary(out: Path, manifest: dict, console: Console | None = None) -> dict:
    fig = population_figures(out, manifest)
    console = console or Console()
    t = Table(title=f"Synthetic population in {out}  (seed {fig['seed']})", show_header=True)
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_row("subscribers × days", f"{fig['subscribers']:,} × {fig['days']}")
    t.add_row("cell sites / cells (sectors)", f"{fig['sites']:,} / {fig['cells']:,}")
    for name, rows in fig["rows"].items():
        t.add_row(f"rows in {name}", f"{rows:,}")
    t.add_row("CDR events per subscriber-day (median / mean)",
              f"{fig['cdr_per_subscriber_day']['median']:.1f} / {fig['cdr_per_subscriber_day']['mean']:.1f}")
    t.add_row("CDR share 00:00–06:00 local", f"{fig['night_share_cdr']:.1%}")
    t.add_row("subscribers with a work/study anchor", f"{fig['with_work_anchor']:.1%}")
    t.add_row("subscribers abroad during the window", f"{fig['traveller_share']:.2%}")
    console.print(t)
    return fig


def describe(result) -> str:
    """A short label of what the adversary knows, e.g. ``p=4 1h×cell``."""
    p = result.params
    if result.attack == "unicity":
        text = f"p={p['points']} {p['time_bin']}×{p['space']}"
        if p.get("time_tolerance") or p.get("space_tolerance_km"):
            text += f" ±{p['time_tolerance']} bins ±{p['space_tolerance_km']:g} km"
        return text
    if result.attack == "topn":
        return f"top-{p['n']} {p['space']}" + (" ordered" if p.get("ordered") else "")
    if result.attack == "homework":
        return f"home+work {p['space']}"
    if result.attack == "travel":
        return f"{p['known_trips']} known trip(s) (country, month)"
    if result.attack == "linkage":
        return f"auxiliary table on {', '.join(p['qi'])}"
    if result.attack == "profile":
        if p.get("self_split") is not None:
            return ("own first half of each pseudonym" if p["self_split"] == "halves"
                    else f"own first {p['self_split']} day(s), labelled")
        parts = [f"days {p['knowledge_days']}" if p.get("knowledge_days") else "true traces"]
        if p.get("knowledge_sample"):
            parts.append(f"{p['knowledge_sample']:.0%} sample")
        if p.get("release_days"):
            parts.append(f"vs release days {p['release_days']}")
        return " ".join(parts)
    if result.attack == "membership":
        eps = f"ε={p['epsilon']:g}" if p.get("epsilon") is not None else "raw counts"
        return f"target's trace; groups of {p['group_size']}, {p['time_bin']}×{p['space']}, {eps}"
    if result.attack == "recovery":
        return f"the counts only ({p['time_bin_s']} s × {p['space']}); scored with the truth"
    if result.attack == "callgraph":
        if p.get("self_split") is not None:
            return f"own first {p['self_split']} day(s) of contacts, labelled"
        parts = [f"call graph of days {p['knowledge_days']}" if p.get("knowledge_days") else "true call graph"]
        if p.get("release_days"):
            parts.append(f"vs release days {p['release_days']}")
        return " ".join(parts)
    if result.attack == "hash-reversal":
        x = result.extra
        kind = p.get("kind", "msisdn")
        groups = {"msisdn": ("prefixes", "mobile prefix(es)"), "cnic": ("heads", "CNIC head(s)"),
                  "imsi": ("plmns", "IMSI network(s)"), "imei": ("tacs", "IMEI TAC(s)")}[kind]
        scope = f"{len(p.get(groups[0]) or [])} {groups[1]}"
        salt = ", known salt" if p.get("salted") else ""
        return f"{x['algorithm']} of {scope}{salt}, {x['hashes_per_s'] or 0:,} hashes/s"
    if result.attack in ("kanon", "ldiv", "tclose", "risk"):
        text = f"QIs {', '.join(p['qi'])}"
        if p.get("sensitive"):
            text += f"; sensitive {p['sensitive']}"
        return text + (f"; sample π={p['sampling_fraction']:g}" if result.attack == "risk" else "")
    return ", ".join(f"{k}={v}" for k, v in p.items())


def figures(result) -> list[tuple[str, str, str]]:
    """What a result measured, as (figure, value, 95% interval) rows for the terminal: each kind of
    figure is named (a share singled out, k, l, t, a reversed share, ...), never put under another's
    heading. Shares of what: ``unique`` and ``correct`` of the scored targets, ``records alone`` and
    ``below k`` of the table's records, ``reversed`` and ``linkable`` of the distinct pseudonyms."""
    def pct(v):
        return "-" if v is None else f"{v:.1%}"

    def ci(r):
        return f"{r['ci'][0]:.1%}–{r['ci'][1]:.1%}" if r and r.get("ci") else "-"

    x, u, c = result.extra, result.unique_rate, result.correct_rate
    a = result.attack
    if a == "kanon":
        return [("k (smallest class)", f"{x['k']:,}", "-"), ("records alone in their class", pct(u["value"]), ci(u)),
                (f"records in classes < {result.params['k']}", pct(x["records_below_k"]["value"]),
                 ci(x["records_below_k"]))]
    if a == "ldiv":
        return [(f"l ({result.params['variant']}, smallest class)", f"{x['l']:g}", "-"),
                ("records in classes below l", pct(x["records_below_l"]["value"]), ci(x["records_below_l"]))]
    if a == "tclose":
        return [(f"t ({x['distance']}, largest class)", f"{x['t']:g}", "-"),
                (f"records in classes above t = {result.params['t']:g}", pct(x["records_above_t"]["value"]),
                 ci(x["records_above_t"]))]
    if a == "risk":
        pu = x["population_uniqueness"]
        return [(f"population unique ({pu['dankar_model']})", pct(pu["dankar"]), "-"),
                ("sample unique", pct(u["value"]), ci(u))]
    if a == "hash-reversal":
        out = [("pseudonyms reversed", pct(u["value"]) if u else "-", ci(u))]
        if x.get("complete") is False and x.get("whole_space_s_estimate"):
            done = x["candidates_hashed"] / max(x["space_candidates"], 1)
            out.append((f"space searched before the time limit (whole space ≈ {_duration(x['whole_space_s_estimate'])})",
                        pct(done), "-"))
        link = x.get("linkability")
        if link:
            share = link["linkable_share"]
            out.append(("seen again in the second release (linkable)", pct(share["value"]), ci(share)))
        return out
    out = [("singled out (unique)", pct(u["value"]) if u else "-", ci(u))]
    if c is not None and c.get("value") is not None:
        out.append(("correctly named", pct(c["value"]), ci(c)))
    return out


def _duration(seconds: float) -> str:
    """``41 s``, ``12 min``, ``3.2 h``, ``5.1 days`` or ``2.3 years``."""
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size or (unit == "min" and seconds >= 60):
            return f"{seconds / size:.1f} {unit}" if unit != "min" else f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def print_results(results, console: Console | None = None) -> None:
    """One row per figure of each attack result: what the adversary knows, the figure with its 95%
    interval, and the anonymity-set sizes (people or records sharing the target's values). Numbers and
    intervals are never cut: a table wider than the terminal wraps its text columns instead."""
    import sys

    console = console or Console(width=None if sys.stdout.isatty() else 160)
    if results and all(r.attack in ("profile", "callgraph") for r in results):
        return _print_profile(results, console)
    if results and all(r.attack in ("membership", "recovery") for r in results):
        return _print_aggregate(results, console)
    cols = ("rule", "adversary knows", "targets", "skipped", "figure", "value", "95% CI", "set p50/p90/max")
    rows = []
    for r in results:
        a = r.anonymity_set
        for i, (name, value, ci) in enumerate(figures(r)):
            first = i == 0
            rows.append((r.rule_id or "-" if first else "", describe(r) if first else "",
                         f"{r.n_targets:,}" if first else "", f"{r.n_skipped:,}" if first else "", name, value, ci,
                         (f"{a['p50']}/{a['p90']}/{a['max']}" if a else "-") if first else ""))
    _table("Re-identification results", cols, rows, console, wrap=(1, 4))


def _table(title: str, cols, rows, console, *, wrap=(1,), left=None) -> None:
    """A rich table whose number columns are at least as wide as their widest value (never cut or
    ellipsized) and whose ``wrap`` columns fold; printed without cropping."""
    from rich.text import Text

    t = Table(title=title, show_header=True)
    left = set(wrap) | {0} if left is None else set(left)
    for i, col in enumerate(cols):
        cells = [Text.from_markup(row[i]).plain for row in rows]
        if i in wrap:   # text wraps at spaces, never inside a word (up to 24 characters)
            width = min(24, max([len(w) for w in col.split()] + [len(w) for c in cells for w in c.split()]))
        else:           # a number, an interval or a bracket is never cut
            width = max([len(w) for w in col.split()] + [Text(c).cell_len for c in cells])
        t.add_column(col, justify="left" if i in left else "right", overflow="fold", min_width=width)
    for row in rows:
        t.add_row(*row)
    console.print(t, crop=False)


def _print_profile(results, console) -> None:
    """Profile and call-graph linkage: the rates of their three decisions against a random guess
    (numbers never cut)."""
    def pct(r):
        return f"{r['value']:.1%}" if r and r["value"] is not None else "-"

    cols = ("rule", "adversary knows", "targets", "candidates", "top-1", "95% CI", "top-5", "one-to-one",
            "random guess")
    rows = []
    for r in results:
        x, t1 = r.extra, r.extra["top1_rate"]
        rows.append((r.rule_id, describe(r), f"{r.n_targets:,}", f"{r.n_candidates or 0:,}", pct(t1),
                     f"{t1['ci'][0]:.1%}–{t1['ci'][1]:.1%}" if t1 and t1["value"] is not None else "-",
                     pct(x["top5_rate"]), pct(x["assignment_rate"]),
                     f"{r.baseline_rate:.3%}" if r.baseline_rate else "-"))
    what = "Call-graph" if all(r.attack == "callgraph" for r in results) else "Profile"
    _table(f"{what} linkage (share of released pseudonyms whose person is named)", cols, rows, console,
           wrap=(1,), left=(0, 1))


def _print_aggregate(results, console) -> None:
    """Attacks on aggregates: membership (AUC, advantage; chance 0.5) and recovery (accuracy against
    its no-continuity baseline, and the people re-identified)."""
    def ci(r):
        return f"{r['ci'][0]:.3f}–{r['ci'][1]:.3f}" if r and r.get("ci") else "-"

    t = Table(title="Attacks on aggregates", show_header=True)
    for col in ("rule", "attack", "adversary knows", "figure", "value", "95% CI", "chance / baseline", "note"):
        t.add_column(col, overflow="fold")
    for r in results:
        x = r.extra
        if r.attack == "membership":
            t.add_row(r.rule_id or "-", "membership", describe(r), "AUC", f"{x['auc']['value']:.3f}", ci(x["auc"]),
                      "0.500", f"advantage {x['advantage']:.3f}, {x['n_trials']:,} games")
        else:
            cr = r.correct_rate
            t.add_row(r.rule_id or "-", "recovery", describe(r), "accuracy", f"{x['accuracy']['value']:.3f}",
                      ci(x["accuracy"]), f"{x['baseline_accuracy']['value']:.3f}",
                      f"re-identified {cr['value']:.1%} of {r.n_targets:,} people" if cr else "")
    console.print(t, crop=False)


def print_comparison(comp, console: Console | None = None) -> None:
    """The privacy–utility table in the terminal (the Markdown/JSON files hold every figure)."""
    import sys

    console = console or Console(width=None if sys.stdout.isatty() else 180)
    p = comp.plan.points
    t = Table(title=f"Privacy–utility comparison (re-identified: the strongest attack's share of people correctly "
                    f"named; ε_{p}: share singled out by {p} points)")
    cols = ("release", "re-identified [95% CI]", "by", f"ε_{p} [95% CI]", "correct", "hash reversed", "k",
            "records kept", "spatial err km", "temporal err min", "count err", "OD err")
    rows = []
    for row in comp.rows:
        a, u = row["attacks"], row["utility"]
        r = (a.get("unicity") or a.get("aggregate_exposure"))
        ur, cr = r["unique_rate"], r["correct_rate"]
        hr = a.get("hash_reversal")
        rs = hr.get("reversed_in_slice") if hr else None
        from .compare import RISK_ATTACKS

        best = row.get("risk")
        rows.append((row["name"], f"{best['value']:.3f} [{best['ci'][0]:.3f}, {best['ci'][1]:.3f}]" if best else "-",
                  RISK_ATTACKS.get(best["attack"], best["attack"]) if best else "-",
                  f"{ur['value']:.3f} [{ur['ci'][0]:.3f}, {ur['ci'][1]:.3f}]" if ur else "-",
                  f"{cr['value']:.3f}" if cr else "-",
                  (f"{rs['value']:.0%} (plan ≈ {hr['full_plan_hours_estimate']:.2f} h)" if rs else "-"),
                  str(a["kanon"]["k"]) if a.get("kanon") else "-",
                  f"{u['records_retained']:.0%}" if u["records_retained"] is not None else "-",
                  f"{u['spatial_error_km']['mean']:.2f}" if u.get("spatial_error_km") else "-",
                  f"{u['temporal_error_min']['mean']:.0f}" if u.get("temporal_error_min") else "-",
                  f"{u['count_error']:.2f}" if u.get("count_error") is not None else "-",
                  f"{u['od_error']:.2f}" if u.get("od_error") is not None else "-"))
    # Numbers are never cut (a truncated "10" would read "1"): every column but the release name is at
    # least as wide as its widest value and its longest header word; headers wrap at spaces, the name
    # gives way first, and a table wider than the terminal is wrapped by it, never cropped.
    for i, col in enumerate(cols):
        widest = max([len(w) for w in col.split()] + [len(r[i]) for r in rows])
        t.add_column(col, no_wrap=i == 0, overflow="ellipsis" if i == 0 else "fold",
                     min_width=None if i == 0 else widest, max_width=34 if i == 0 else None)
    for r in rows:
        t.add_row(*r)
    console.print(t, crop=False)


def print_audit(report: dict, console: Console | None = None) -> None:
    """The audit's verdict first, then one row per finding (failed first)."""
    import sys

    console = console or Console(width=None if sys.stdout.isatty() else 160)
    s = report["summary"]
    colour = "red" if report["verdict"] == "fail" else "green"
    console.print(f"[bold {colour}]{report['verdict'].upper()}[/] — {s['failed']} of {s['rules']} checks failed "
                  f"on {s['tables']} table(s) of {report['input']} (policy: {report['config']['source']}, "
                  f"judged on the {'upper end of the 95% interval' if report['config']['judge'] == 'upper' else 'estimate'})")
    from rich.markup import escape

    from .report.markdown import _is_rate   # the reports' one rule for which metrics are shares

    cols = ("status", "rule", "table", "measured", "95% CI", "threshold", "finding")
    rows = []
    for f in report["findings"]:
        status = {"fail": "[red]FAIL[/]", "pass": "[green]pass[/]", "inconclusive": "[yellow]unsure[/]"}.get(
            f["status"], "[dim]n/a[/]")
        pct = _is_rate(f)
        val = "-" if f["value"] is None else (f"{f['value']:.1%}" if pct else f"{f['value']:g}")
        ci = "-" if not f["interval"] else (f"{f['interval'][0]:.1%}–{f['interval'][1]:.1%}" if pct
                                           else f"{f['interval'][0]:g}–{f['interval'][1]:g}")
        th = f["threshold"]
        limit = f"{th['op']} {th['value']:.1%}" if pct else f"{th['op']} {th['value']:g}"
        rows.append((status, escape(f"{f['rule_id']} {f['rule']}"), escape(f["table"]), val, ci, escape(limit),
                     escape(f["message"])))
    _table("", cols, rows, console, wrap=(1, 2, 6), left=(0, 1, 2, 6))


def print_rules(rules, console=None) -> None:
    """The rule registry as a terminal table (``reidcheck rules``)."""
    import sys

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console(width=None if sys.stdout.isatty() else 160)
    t = Table(title=escape("reidcheck rules (policy: [rules.ID] in reidcheck.toml)"))
    for col in ("id", "name", "title", "applies to", "default"):
        t.add_column(col, overflow="fold")
    for r in rules:
        default = f"{r.metric} {r.op} {r.threshold:g}"
        shown = [f"{k}={v}" for k, v in r.params.items() if v is not None]
        if shown:
            default += "; " + ", ".join(shown)
        t.add_row(r.id, r.name, escape(r.title), ", ".join(r.kinds) or "attack only", escape(default))
    console.print(t)


def rules_markdown(rules) -> str:
    """The registry as the README's Markdown table (``reidcheck rules --markdown``)."""
    def default(r) -> str:
        shown = [f"{k}={v}" for k, v in r.params.items() if v is not None]
        return f"{r.metric} {r.op} {r.threshold:g}" + (f" ({', '.join(shown)})" if shown else "")

    lines = ["| rule | name | applies to | default threshold | adversary |", "|---|---|---|---|---|"]
    for r in rules:
        lines.append(f"| {r.id} | {r.name} | {', '.join(r.kinds) or '`reidcheck attack` only'} | {default(r)} | "
                     f"{r.adversary} |")
    return "\n".join(lines) + "\n"
