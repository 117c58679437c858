"""The privacy–utility comparison: every strategy of a plan × every attack that applies, one table.

A *plan* lists named releases, each a chain of strategies (``reidcheck.anonymize.strategies``), and
the attack settings shared by all of them. ``DEFAULT_PLAN`` covers every strategy family. The plan
file is TOML::

    points = 4            # points the adversary knows (unicity)
    targets = 5000        # targets per release (the same users for every release), or "all"
    reversal_budget = 2000000   # hashes spent on the numbering-plan slice for hashed pseudonyms
    k = 5                 # k of the k-anonymity check on the quasi-identifier table

    [[release]]
    name = "district x day"
    strategies = ["generalize-space:level=district", "generalize-time:bin=1d"]

Nothing here is a real release: every chain runs with ``reidcheck.secrets.key_from_seed(seed)``, a key
anyone can recompute from the seed, so that a comparison is reproducible from its seed alone.

Each row holds the attack results (``AttackResult`` dictionaries) and the utility figures
(``reidcheck.utility``); ``write_outputs`` writes them as JSON, a Markdown table and a PNG plot of
ε_p (upper end of its 95% interval as an error bar) against spatial error.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from .anonymize.release import Release
from .anonymize.strategies import apply_strategies, parse_strategy
from .errors import InputError, UsageError
from .io import read_toml, write_files
from .attacks.aggregate import AggregateExposure
from .privacy import (PROFILE_SCENARIOS, combined_linkage, release_callgraph, release_hash_reversal, release_kanon,
                      release_membership, release_profile, release_recovery, release_unicity)
from .secrets import key_from_seed
from .utility import original_figures, tabular_utility, trajectory_utility

SCHEMA_VERSION = 1

DEFAULT_PLAN: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("baseline (random ids only)", ()),
    ("unsalted SHA-256 of MSISDN", ("hash",)),
    ("HMAC-SHA-256 of MSISDN", ("hmac",)),
    ("tokens, counterparts pseudonymized", ("token:counterparts=pseudonymize",)),
    ("tokens rotated daily", ("rotate:period=day",)),
    ("4 h time bins", ("generalize-time:bin=4h",)),
    ("5 km grid", ("generalize-space:level=grid:5km",)),
    ("district x day", ("generalize-space:level=district", "generalize-time:bin=1d")),
    ("suppress rare places/points", ("suppress:places=20,points=5,events=20",)),
    ("top-3 places only", ("topn:n=3",)),
    ("geo-noise eps=0.5/km", ("geo-noise:epsilon=0.5",)),
    ("jitter +-60 min", ("jitter:minutes=60",)),
    ("50% of users", ("subsample:users=0.5",)),
    ("QIs: age 10 y, province", ("generalize-qi:age=10,home_district=province",)),
    ("QIs: Mondrian k=10", ("kanon:k=10,suppression=0.02",)),
    ("aggregate cell x 1 h, raw counts", ("aggregate:bin=1h,min_count=1",)),
    ("aggregate district x 1 h, DP eps=1", ("generalize-space:level=district",
                                            "aggregate:bin=1h,min_count=10,epsilon=1,max_cells=24")),
)


@dataclass(frozen=True)
class Plan:
    releases: tuple[tuple[str, tuple[str, ...]], ...] = DEFAULT_PLAN
    points: int = 4
    targets: int | str = 5000
    reversal_budget: int = 2_000_000
    k: int = 5
    source: str = "default plan"

    def validate(self) -> None:
        if not isinstance(self.points, int) or not 1 <= self.points <= 10:
            raise UsageError(f"Plan `points` must be an integer between 1 and 10. Got {self.points!r} instead.")
        if not (self.targets == "all" or (isinstance(self.targets, int) and self.targets >= 1)):
            raise UsageError(f"Plan `targets` must be a positive integer or \"all\". Got {self.targets!r} instead.")
        if not isinstance(self.reversal_budget, int) or self.reversal_budget < 3:
            raise UsageError(f"Plan `reversal_budget` must be an integer ≥ 3. Got {self.reversal_budget!r} instead.")
        if not isinstance(self.k, int) or self.k < 1:
            raise UsageError(f"Plan `k` must be a positive integer. Got {self.k!r} instead.")
        names = [n for n, _ in self.releases]
        if len(set(names)) != len(names):
            raise UsageError("Plan release names must be distinct.")
        for _, chain in self.releases:
            for s in chain:
                parse_strategy(s)


def load_plan(path) -> Plan:
    """Read a plan TOML file (see the module docstring); errors name the file and the entry."""
    path = Path(path)
    doc = read_toml(path, "Plan file")
    known = {"points", "targets", "reversal_budget", "k", "release"}
    extra = sorted(set(doc) - known)
    if extra:
        raise InputError(f"Plan file '{path}': unknown key '{extra[0]}' (keys: {', '.join(sorted(known))}).")
    releases = []
    for i, entry in enumerate(doc.get("release", []), start=1):
        if not isinstance(entry, dict) or "name" not in entry or "strategies" not in entry:
            raise InputError(f"Plan file '{path}': [[release]] number {i} needs `name` and `strategies`.")
        if not isinstance(entry["strategies"], list) or not all(isinstance(s, str) for s in entry["strategies"]):
            raise InputError(f"Plan file '{path}': release '{entry['name']}': `strategies` must be a list of strings.")
        releases.append((str(entry["name"]), tuple(entry["strategies"])))
    plan = Plan(releases=tuple(releases) or DEFAULT_PLAN, points=doc.get("points", 4),
                targets=doc.get("targets", 5000), reversal_budget=doc.get("reversal_budget", 2_000_000),
                k=doc.get("k", 5), source=str(path))
    try:
        plan.validate()
    except UsageError as exc:
        raise InputError(f"Plan file '{path}': {exc}") from None
    return plan


@dataclass
class Comparison:
    rows: list[dict] = field(default_factory=list)
    plan: Plan = field(default_factory=Plan)
    seed: int = 0
    input: str = ""
    elapsed_s: float = 0.0

    def to_dict(self) -> dict:
        return {"schema": "reidcheck-compare", "version": SCHEMA_VERSION, "input": self.input, "seed": self.seed,
                "plan": {"source": self.plan.source, "points": self.plan.points, "targets": self.plan.targets,
                         "reversal_budget": self.plan.reversal_budget, "k": self.plan.k},
                "elapsed_s": round(self.elapsed_s, 2), "releases": self.rows}


def evaluate(engine, orig: Release, name: str, chain, *, plan: Plan, seed: int, original: dict | None = None) -> dict:
    """One row: apply ``chain``, publish, attack, measure utility (``original``: ``original_figures``)."""
    t0 = time.perf_counter()
    rel = apply_strategies(orig, chain, seed=seed, key=key_from_seed(seed))
    pub = rel.publish()
    attacks = {}
    if rel.events is not None:
        attacks["unicity"] = release_unicity(engine, orig, rel, pub, points=plan.points, targets=plan.targets,
                                             seed=seed).to_dict()
        import warnings

        from .attacks.profile import NoBetterThanChance

        ranked = {}
        for scenario in PROFILE_SCENARIOS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NoBetterThanChance)   # shown in the table as no better than chance
                ranked[scenario] = release_profile(engine, orig, rel, pub, scenario=scenario, seed=seed,
                                                   with_ranking=True)
                attacks[scenario] = ranked[scenario][0].to_dict()
        cg = release_callgraph(engine, orig, rel, pub, seed=seed, with_ranking=True)
        if cg is not None:       # counterparts released: the call graph, alone and added to the profile
            attacks["callgraph"] = cg[0].to_dict()
            attacks["profile_callgraph"] = combined_linkage(ranked["profile_next_period"], cg)
    else:
        attacks["aggregate_exposure"] = AggregateExposure(points=plan.points, targets=plan.targets, seed=seed).run(
            engine, rel, knowledge=orig).to_dict()
        rec = release_recovery(engine, orig, chain, seed=seed)
        if rec is not None:
            attacks["recovery"] = rec.to_dict()
        attacks["membership"] = release_membership(engine, orig, rel, seed=seed).to_dict()
    hr = release_hash_reversal(rel, pub, budget=plan.reversal_budget)
    if hr is not None:
        attacks["hash_reversal"] = hr.to_dict()
    ka = release_kanon(engine, rel, k=plan.k)
    if ka is not None:
        attacks["kanon"] = ka.to_dict()
    utility = trajectory_utility(orig, rel, pub, original)
    utility.update(tabular_utility(orig, rel))
    return {"name": name, "strategies": list(rel.steps), "release_tables": sorted(pub.tables),
            "person_level": rel.events is not None, "attacks": attacks, "risk": strongest(attacks), "utility": utility,
            "elapsed_s": round(time.perf_counter() - t0, 2)}


#: The attacks whose correct rate can set a release's risk, and how a table names them.
RISK_ATTACKS = {"unicity": "unicity", "profile_next_period": "profile, next period",
                "profile_sample": "profile, 30% sample", "aggregate_exposure": "aggregate exposure",
                "recovery": "trajectory recovery", "callgraph": "call graph, next period",
                "profile_callgraph": "profile + call graph, next period"}


def strongest(attacks: dict) -> dict | None:
    """The privacy axis of a release: the highest share of people correctly re-identified by any
    attack (its ``correct_rate`` with interval; ``unique_rate`` for aggregate exposure, which has no
    truth map), and which attack (``attack``, a key of ``RISK_ATTACKS``)."""
    best = None
    for name in RISK_ATTACKS:
        res = attacks.get(name)
        if not res:
            continue
        r = res.get("correct_rate") or (res.get("unique_rate") if name == "aggregate_exposure" else None)
        if r and r.get("value") is not None and (best is None or r["value"] > best["value"]):
            best = {"value": r["value"], "ci": r["ci"], "attack": name}
    return best


def run_comparison(engine, pop, plan: Plan | None = None, *, seed: int = 0, table: str = "cdr",
                   input_name: str = "", progress=None) -> Comparison:
    """Evaluate every release of ``plan`` on ``pop``. ``progress``, if given, is called as
    ``progress(done, total, label)`` as each release starts (``label``: its name; ``done`` of the
    ``total`` releases finished) and once at the end with ``done == total``."""
    plan = plan or Plan()
    plan.validate()
    t0 = time.perf_counter()
    total = len(plan.releases)

    def tell(done, label):
        if progress is not None:
            progress(done, total, label)

    tell(0, "preparing (a dry run of every chain)")
    orig = Release.from_population(pop, table=table)
    sample = orig.head_users(200)       # a dry run of every chain first: errors before hours of work
    for name, chain in plan.releases:
        try:
            apply_strategies(sample, chain, seed=seed, key=key_from_seed(seed)).publish()
        except UsageError as exc:
            raise UsageError(f"Release '{name}': {exc}") from None
    comp = Comparison(plan=plan, seed=seed, input=input_name)
    original = original_figures(orig)
    for i, (name, chain) in enumerate(plan.releases):
        tell(i, name)
        comp.rows.append(evaluate(engine, orig, name, chain, plan=plan, seed=seed, original=original))
    tell(total, "finished")
    comp.elapsed_s = time.perf_counter() - t0
    return comp


# ----------------------------------------------------------------------------------------------
def _fmt_rate(r: dict | None) -> str:
    if not r:
        return "n/a"
    lo, hi = r["ci"]
    return f"{r['value']:.3f} [{lo:.3f}, {hi:.3f}]"


def _fmt(v, digits: int = 2) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, dict):
        return f"{v['mean']:.{digits}f} / {v['p95']:.{digits}f}"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def markdown(comp: Comparison) -> str:
    p = comp.plan
    lines = [f"# Privacy–utility comparison ({comp.input or 'population'}, seed {comp.seed})", "",
             f"ε_{p.points}: share of {p.targets} targets singled out by {p.points} known points "
             "(95% Wilson interval); *correct*: singled out and the right person (truth map). "
             "Spatial error km and temporal error min are mean / p95 per released record; count and OD "
             "errors are relative L1 errors; rg W1 is the Wasserstein distance between radius-of-gyration "
             "distributions (km); GIL is the generalized information loss of the QI table.", "",
             "*Re-identified*: the highest share of people correctly re-identified by any attack — unicity, or "
             "profile linkage with a profile of the first half of the window (*next period*) or a 30% sample of "
             "each person's records (*sample*), the call graph of the first half (when counterparts are released), or, "
             "for an aggregate, trajectory recovery from its counts — and "
             "which attack it is. *Membership AUC*: for an aggregate, how well an adversary with the target's trace "
             "tells whether the target is counted (0.5: a coin).", "",
             f"| release | re-identified | by | ε_{p.points} singled out | correct | profile next period | "
             "profile sample | membership AUC | hash reversed | k (QI table) | records kept "
             "| spatial err km | temporal err min | count err | OD err | rg W1 km | GIL |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in comp.rows:
        a, u = row["attacks"], row["utility"]
        risk = a.get("unicity") or a.get("aggregate_exposure")
        hr = a.get("hash_reversal")
        hr_s = "n/a"
        if hr is not None:
            rs = hr.get("reversed_in_slice")
            hr_s = (f"{_fmt_rate(rs)} of {hr['slice']['pseudonyms_in_slice']} in slice; whole plan ≈ "
                    f"{hr['full_plan_hours_estimate']:.2f} h") if rs else "none in slice"
        k = a.get("kanon", {}).get("k") if a.get("kanon") else None
        best = row.get("risk")
        prof = [_fmt_rate((a.get(k) or {}).get("top1_rate")) if a.get(k) else "n/a" for k in PROFILE_SCENARIOS]
        mia = _fmt_rate(a["membership"]["auc"]) if a.get("membership") else "n/a"
        lines.append(f"| {row['name']} | {_fmt_rate(best)} | {RISK_ATTACKS[best['attack']] if best else 'n/a'} "
                     f"| {_fmt_rate(risk['unique_rate'])} | {_fmt_rate(risk['correct_rate'])} | {prof[0]} | {prof[1]} "
                     f"| {mia} | {hr_s} | {_fmt(k)} | {_fmt(u['records_retained'], 3)} | {_fmt(u['spatial_error_km'])} "
                     f"| {_fmt(u['temporal_error_min'], 1)} | {_fmt(u['count_error'], 3)} | {_fmt(u['od_error'], 3)} "
                     f"| {_fmt(u['rg_w1_km'])} | {_fmt(u.get('gil'), 3)} |")
    lines += ["", "Strategies of each release:", ""]
    lines += [f"- **{row['name']}**: `{' → '.join(row['strategies']) or '(none)'}`" for row in comp.rows]
    return "\n".join(lines) + "\n"


def plot_png(comp: Comparison) -> bytes:
    """PNG bytes: ε_p (with its 95% interval) against mean spatial error, one labelled point per release
    (the same chart the HTML report embeds: ``reidcheck.report.plots.tradeoff_png``)."""
    from .report.plots import tradeoff_png

    return tradeoff_png(comp.to_dict(), empty=True)


def write_outputs(comp: Comparison, json_path: Path | None, markdown_path: Path | None, png_path: Path | None) -> None:
    """The requested files, all or nothing (``reidcheck.io.write_files``)."""
    files = {}
    if json_path is not None:
        files[json_path] = json.dumps(comp.to_dict(), indent=2) + "\n"
    if markdown_path is not None:
        files[markdown_path] = markdown(comp)
    if png_path is not None:
        files[png_path] = plot_png(comp)
    write_files(files)
