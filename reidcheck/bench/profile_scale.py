"""Scale of the profile-linkage attack: wall time and peak memory of ``reidcheck attack profile`` at
100,000 and 1,000,000 subscribers × 28 days (full mode; 3,000 in quick mode).

For each size: a population from the project's generator (cached), its release with keyed tokens
only (``anonymize -s token``, key derived from the seed: not a real release), then, each in a fresh
process (``python -m reidcheck.cli attack profile``; wall time from start to exit, peak = the
child's maximum resident set size, from ``os.wait4``):

* ``--self-split 14`` — what the audit's behavioural-linkability rule runs on every export;
* ``--knowledge POP --truth TRUTH --knowledge-days 0..14 --release-days 14..28`` — scenario A.

Above 100,000 subscribers only the self-split runs, on the population's own cdr table (its stable
ids are the pseudonyms): ``anonymize`` holds a release in memory, and 240M rows do not fit.

Budgets (issue 14): 100k in ≤ 3 min; 1M in ≤ 30 min with a peak ≤ 6 GB on this 2-core machine.

The audit's behavioural-linkability rule (issue 25, speed) on the released sizes: ``reidcheck audit
RELEASE --select <its id> --json -`` in a fresh process, with ``sample = 0`` in the policy (the
next-period scenario alone) and with the default ``sample`` (both scenarios: next period and a
seeded sample of each pseudonym's records), on the keyed-token release and on a coarse one (tokens,
provinces, weekly bins, subscribers and travel dropped). Requirement at 100k: both scenarios within
2× the single-scenario time, peak ≤ 6 GB.

``REIDCHECK_PROFILE_SCALE_SIZES=100000`` (comma-separated) measures other sizes in full mode; the
runs of the sizes it leaves out are carried over from the previous full-mode result of the same
seed (``NAME.json`` in the output folder), marked ``measured_earlier``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

NAME = "profile-scale"
TITLE = "Profile linkage at 100k and 1M subscribers × 28 days: wall time and peak memory"
PAPER = "Budgets of issue 14 (100k ≤ 3 min; 1M ≤ 30 min, ≤ 6 GB); Tournier & de Montjoye 2022 ran 0.5M people"


def _child(cmd: list[str], ok: tuple[int, ...] = (0,)) -> dict:
    """Run ``cmd``: wall s, the peak resident set size (MB) of that child alone (``os.wait4``'s
    rusage), and its JSON on stdout. An exit code outside ``ok`` is an error (an audit exits 1 when
    the policy is violated, 2 on an error)."""
    import os
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        if p.returncode not in ok:
            raise RuntimeError(f"{' '.join(cmd[3:6])}… failed: {err.read().decode(errors='replace').strip()[-300:]}")
        return {"wall_s": round(wall, 1), "peak_mb": round(usage.ru_maxrss / 1024), "result": json.loads(out.read())}


def run(ctx) -> dict:
    sizes = (3_000,) if ctx.quick else (100_000, 1_000_000)
    if os.environ.get("REIDCHECK_PROFILE_SCALE_SIZES") and not ctx.quick:
        sizes = tuple(int(x) for x in os.environ["REIDCHECK_PROFILE_SCALE_SIZES"].split(","))
    budgets = {100_000: (180, None), 1_000_000: (1800, 6144)}
    py = [sys.executable, "-m", "reidcheck.cli"]
    figures, audits = [], []
    for n in sizes:
        pop = ctx.population(n, 28)
        if n > RELEASE_UP_TO:
            # `anonymize` holds a release in memory (pandas): 240M rows do not fit. The self-split needs no
            # release: the population's own stable ids are the pseudonyms, the same computation.
            runs = [("self-split 14 (population's cdr)", pop, ["--self-split", "14"])]
        else:
            runs = _release_runs(ctx, py, pop)
            audits += _audit_runs(ctx, py, pop, n)
        for label, target, args in runs:
            ctx.log(f"attack profile {label} on {n:,} subscribers")
            m = _child(py + ["attack", "profile", str(target), *args, "--json", "-", "-q"])
            r = m.pop("result")
            figures.append({"subscribers": n, "scenario": label, **m, "n_targets": r["n_targets"],
                            "n_candidates": r["n_candidates"], "top1_rate": r["top1_rate"],
                            "assignment_rate": r["assignment_rate"], "attack_s": r["elapsed_s"]})
    earlier = _earlier(ctx, sizes)
    figures += earlier.get("runs", [])
    audits += earlier.get("audits", [])
    return _document(ctx, sizes, budgets, figures, audits, sorted({f["subscribers"] for f in earlier.get("runs", [])}
                                                                  | {a["subscribers"] for a in earlier.get("audits", [])}))


#: Populations up to this size are released first (anonymize -s token); larger ones are attacked as they are.
RELEASE_UP_TO = 100_000


def _release(ctx, py, pop, slug: str, strategies: tuple[str, ...]):
    """The release of ``pop`` by ``strategies`` in the cache (made once; key derived from the seed)."""
    from ..secrets import key_from_seed

    rel = ctx.cache / f"{pop.name}_{slug}"
    key = ctx.cache / f"{pop.name}_{slug}.key"
    if not (rel / "release.json").is_file():
        key.write_bytes(key_from_seed(ctx.seed).hex().encode())
        key.chmod(0o600)
        ctx.log(f"releasing {pop.name} ({' '.join(strategies)}) into {rel}")
        subprocess.run(py + ["anonymize", str(pop), *(x for st in strategies for x in ("-s", st)),
                             "--seed", str(ctx.seed), "--key-file", str(key), "--out", str(rel), "--overwrite",
                             "--quiet"], check=True, capture_output=True)
    return rel


#: The releases the audit's behavioural-linkability rule is timed on: (label, cache slug, strategies).
AUDIT_RELEASES = (
    ("keyed tokens", "tokens", ("token",)),
    ("coarse: tokens, province × 1 w, subscribers and travel dropped", "coarse_province_1w",
     ("token", "generalize-space:level=province", "generalize-time:bin=1w", "drop:tables=subscribers",
      "drop:tables=travel")),
)
RULE_NAME = "behavioural-linkability"
#: Requirement of issue 25 (point 6) at 100k: both scenarios within this factor of the single one, peak ≤ 6 GB.
AUDIT_RATIO, AUDIT_MEM_MB, AUDIT_SIZES = 2.0, 6144, (100_000,)


def _audit_runs(ctx, py, pop, n: int) -> list[dict]:
    """``reidcheck audit RELEASE --select <rule> --json -`` in a fresh process per release, with the
    rule's ``sample`` at 0 (next period alone) and at its default (both scenarios)."""
    from .. import rules

    rule = next(r for r in rules.all_rules() if r.name == RULE_NAME)
    default = rule.params["sample"]
    policies = {}
    for label, sample in (("single", 0), ("both", default)):
        path = ctx.cache / f"{RULE_NAME}-sample{sample}.toml"
        path.write_text(f"# reidcheck bench {NAME}: the audit's {RULE_NAME} rule with sample = {sample}\n"
                        f"[rules.{rule.id}]\nsample = {sample}\n")
        policies[label] = (sample, path)
    out = []
    for rel_label, slug, strategies in (AUDIT_RELEASES[-1:] if ctx.quick else AUDIT_RELEASES):   # quick: the coarse one
        rel = _release(ctx, py, pop, slug, strategies)
        for label, (sample, policy) in policies.items():
            ctx.log(f"audit {RULE_NAME} ({label}: sample = {sample}) on {rel_label}, {n:,} subscribers")
            m = _child(py + ["audit", str(rel), "--select", rule.id, "-c", str(policy), "--json", "-", "-q"], ok=(0, 1))
            report = m.pop("result")
            f = next(x for x in report["findings"] if x["rule_id"] == rule.id and x["table"] == "cdr")
            prm = f.get("params") or {}
            out.append({"subscribers": n, "release": rel_label, "scenarios": label, "sample": sample, **m,
                        "audit_s": report["elapsed_s"], "status": f["status"], "value": f["value"],
                        "interval": f["interval"], "worse": prm.get("scenario"),
                        "by_scenario": {k: {"value": v["correct_rate"]["value"], "ci": v["correct_rate"]["ci"],
                                            "n_targets": v["n_targets"], "decided_by": v["decided_by"]}
                                        for k, v in (prm.get("scenarios") or {}).items()}})
    return out


def _earlier(ctx, sizes) -> dict:
    """Runs of the sizes this run leaves out (``REIDCHECK_PROFILE_SCALE_SIZES``), from the previous
    full-mode result of the same seed in the output folder, each marked ``measured_earlier``."""
    path = ctx.out / f"{NAME}.json"
    if ctx.quick or not os.environ.get("REIDCHECK_PROFILE_SCALE_SIZES") or not path.is_file():
        return {}
    try:
        old = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    if old.get("name") != NAME or old.get("quick") or old.get("seed") != ctx.seed:
        return {}
    return {k: [dict(f, measured_earlier=True) for f in (old.get("figures") or {}).get(k, [])
                if f["subscribers"] not in sizes]
            for k in ("runs", "audits")}


def _release_runs(ctx, py, pop):
    rel = _release(ctx, py, pop, "tokens", ("token",))
    truth = rel.parent / f"{rel.name}.TRUTH-MAP-SECRET.parquet"
    return [("self-split 14", rel, ["--self-split", "14"]),
            ("days 0..14 vs 14..28", rel, ["--knowledge", str(pop), "--truth", str(truth),
                                           "--knowledge-days", "0..14", "--release-days", "14..28"])]


def _document(ctx, sizes, budgets, figures, audits, earlier_sizes) -> dict:
    rows = []
    figures.sort(key=lambda f: f["subscribers"])
    for f in figures:
        wall_budget, mem_budget = budgets.get(f["subscribers"], (None, None))
        within = []
        if wall_budget:
            within.append("time within" if f["wall_s"] <= wall_budget else "time OVER")
        if mem_budget and f["peak_mb"]:
            within.append("memory within" if f["peak_mb"] <= mem_budget else "memory OVER")
        rows.append({"quantity": f"{f['subscribers']:,} subscribers × 28 days, {f['scenario']}",
                     "ours": f"{f['wall_s']:.0f} s, {f['peak_mb'] or '?'} MB peak; top-1 "
                             f"{f['top1_rate']['value']:.3f}, one-to-one {f['assignment_rate']['value']:.3f}",
                     "published": (f"≤ {wall_budget // 60} min" + (f", ≤ {mem_budget // 1024} GB" if mem_budget else ""))
                     if wall_budget else "(quick mode: no budget)",
                     "agreement": ", ".join(within) or "quick mode",
                     "note": f"{f['n_targets']:,} targets × {f['n_candidates']:,} candidates; one process on 2 cores, "
                             "input reading included" + ("; measured earlier (same seed), not in this run"
                                                         if f.get("measured_earlier") else "")})
    rows += _audit_rows(audits)
    _plot(ctx, figures, audits)
    params = {"sizes": list(sizes), "days": 28}
    if earlier_sizes:
        params["sizes_measured_earlier"] = earlier_sizes
    return {"params": params, "figures": {"runs": figures, "audits": audits}, "rows": rows}


def _audit_rows(audits) -> list[dict]:
    """One row per (size, release): both scenarios against the next period alone."""
    rows = []
    for key in dict.fromkeys((a["subscribers"], a["release"]) for a in audits):
        runs = {a["scenarios"]: a for a in audits if (a["subscribers"], a["release"]) == key}
        single, both = runs.get("single"), runs.get("both")
        if not (single and both):
            continue
        n, rel = key
        ratio = both["wall_s"] / single["wall_s"] if single["wall_s"] else float("nan")
        both["ratio_to_single"] = round(ratio, 2)

        def txt(a):
            v = "n/a" if a["value"] is None else f"{a['value']:.3f}"
            return f"{a['wall_s']:.0f} s, {a['peak_mb']} MB peak, {v} ({a['status']}; worse: {a['worse'] or '-'})"

        if n in AUDIT_SIZES:
            published = f"both ≤ {AUDIT_RATIO:g}× single, ≤ {AUDIT_MEM_MB // 1024} GB"
            agreement = ", ".join([f"time within {AUDIT_RATIO:g}×" if ratio <= AUDIT_RATIO else f"time OVER {AUDIT_RATIO:g}×",
                                   "memory within" if max(single["peak_mb"], both["peak_mb"]) <= AUDIT_MEM_MB
                                   else "memory OVER"])
        else:
            published, agreement = "(no requirement at this size)", "not judged"
        per = "; ".join(f"{k} {v['value']:.3f}" for k, v in both["by_scenario"].items() if v["value"] is not None)
        rows.append({"quantity": f"{n:,} subscribers × 28 days, audit {RULE_NAME}, {rel}: both scenarios / next period "
                                 f"alone",
                     "ours": f"{ratio:.2f}×: both {txt(both)}; single {txt(single)}",
                     "published": published, "agreement": agreement,
                     "note": f"reidcheck audit --select (the rule alone), sample {both['sample']:g} vs 0; per scenario "
                             f"{per}; one process on 2 cores, input reading and report included"
                             + ("; measured earlier (same seed), not in this run" if both.get("measured_earlier")
                                else "")})
    return rows


def _plot(ctx, figures, audits) -> None:
    from matplotlib.figure import Figure

    from . import savefig

    fig = Figure(figsize=(10, 3.8) if audits else (6, 3.5))
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": (1, 1)}) if audits else (fig.subplots(), None)
    if ax2 is not None:
        _plot_audits(ax2, audits)
    for scen in sorted({f["scenario"] for f in figures}):
        pts = [f for f in figures if f["scenario"] == scen]
        ax.plot([f["subscribers"] for f in pts], [f["wall_s"] for f in pts], "o-", label=scen)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("subscribers (28 days)")
    ax.set_ylabel("wall time of attack profile (s)")
    ax.set_title("Profile linkage: time against population size", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    savefig(fig, ctx.out / f"{NAME}.png")


def _plot_audits(ax, audits) -> None:
    """Bars: the audit rule's wall time, single scenario and both, per (size, release); peak MB on top."""
    keys = list(dict.fromkeys((a["subscribers"], a["release"]) for a in audits))
    width = 0.38
    for j, (label, color) in enumerate((("single", "tab:blue"), ("both", "tab:orange"))):
        xs, ys, peaks = [], [], []
        for i, key in enumerate(keys):
            a = next((a for a in audits if (a["subscribers"], a["release"]) == key and a["scenarios"] == label), None)
            if a:
                xs.append(i + (j - 0.5) * width)
                ys.append(a["wall_s"])
                peaks.append(a["peak_mb"])
        bars = ax.bar(xs, ys, width, color=color,
                      label="next period alone (sample = 0)" if label == "single" else "both scenarios (default)")
        for b, pk in zip(bars, peaks):
            ax.text(b.get_x() + b.get_width() / 2, b.get_height(), f"{pk / 1024:.1f} GB", ha="center",
                    va="bottom", fontsize=6)
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels([f"{n // 1000:,}k, {rel.split(':')[0]}" for n, rel in keys], fontsize=7)
    ax.set_ylabel("wall time of the audit (s)")
    ax.set_title(f"audit {RULE_NAME}: one scenario vs both (peak RSS)", fontsize=9)
    ax.legend(fontsize=7)
