"""``reidcheck demo``: the README's main job, end to end on generated data.

1. generate a population (default 5,000 subscribers × 14 days, seed 7) into ``OUT/population``;
2. release it four ways, from naive hashing to aggregation (``DEMO_RELEASES``), into ``OUT/releases``
   (each truth map beside its release, never inside). Demo releases are not real releases: their key is
   derived from the seed (``reidcheck.secrets.key_from_seed``) and their ``release.json`` says so;
3. compare the four releases on privacy and utility with the truth maps (``OUT/comparison.*``);
4. audit each release under the default policy, as a compliance engineer would without truth maps
   (``OUT/reports/<release>.json`` and ``.html``);
5. print the comparison and the verdicts, and write ``OUT/report.html``: the audit of the naive release
   with the comparison of all four embedded.
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

from .errors import UsageError

DEMO_RELEASES = (
    ("1-naive-hash", "unsalted SHA-256 of the phone number", ("hash",)),
    ("2-keyed-hash", "HMAC of the phone number", ("hmac",)),
    ("3-district-day", "district × day, k-anonymous QIs (k=10), no travel table, HMAC",
     ("generalize-space:level=district", "generalize-time:bin=1d", "kanon:k=10,suppression=0.02",
      "drop:tables=travel", "hmac")),
    ("4-aggregate", "distinct users per district × hour, DP ε=1, counts < 10 suppressed",
     ("generalize-space:level=district", "aggregate:bin=1h,min_count=10,epsilon=1,max_cells=24")),
)
MARKER = "demo.json"


def _prepare(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        if not ((out / MARKER).is_file() or (out / "population.json").is_file()):
            raise UsageError(f"Output directory '{out}' is not empty and holds no earlier demo; choose another --out.")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def steps() -> list[str]:
    """The labels ``run_demo`` gives its ``progress`` callable, in order, one as each step starts."""
    names = [name for name, _, _ in DEMO_RELEASES]
    return (["generating the population"] + [f"releasing {n}" for n in names] + ["comparing privacy and utility"]
            + [f"auditing {n}" for n in names])


def run_demo(out: Path, subscribers: int = 5000, days: int = 14, seed: int = 7, *, progress=None) -> dict:
    """Run the demo into ``out``; returns {"reports": {release: report}, "comparison": Comparison}.
    ``progress``: an optional callable given each step's label as the step starts (``steps()``, in
    that order: a bar's total is their number)."""
    from synthetic import write_population

    from .anonymize import Release, apply_strategies
    from .audit import run_audit
    from .compare import Plan, run_comparison, write_outputs
    from .engine import get_engine
    from .io import read_population
    from . import rules
    from .policy import load_policy
    from .report import write_all
    from .secrets import key_from_seed

    def tick(label):        # the labels of steps(), in order (tests/test_progress.py checks it)
        if progress is not None:
            progress(label)

    out = Path(out)
    _prepare(out)
    (out / MARKER).write_text(json.dumps({"subscribers": subscribers, "days": days, "seed": seed}) + "\n")
    tick("generating the population")
    write_population(out / "population", subscribers, days, seed)
    pop = read_population(out / "population")
    base = Release.from_population(pop)
    for name, _, chain in DEMO_RELEASES:
        tick(f"releasing {name}")
        apply_strategies(base, chain, seed=seed, key=key_from_seed(seed)).publish().write(out / "releases" / name)
    tick("comparing privacy and utility")
    engine = get_engine("duckdb")
    plan = Plan(releases=tuple((f"{n}: {d}", c) for n, d, c in DEMO_RELEASES), targets=2000)
    comp = run_comparison(engine, pop, plan, seed=seed, input_name=str(out / "population"))
    write_outputs(comp, out / "comparison.json", out / "comparison.md", out / "comparison.png")
    reports = {}
    # The demo's policy (the default, with fewer unicity targets) is written beside the reports, so
    # each report's "reproduce" line is one command that can be pasted.
    unicity = rules.for_attack("unicity").id
    config = out / "reidcheck.toml"
    config.write_text(f"# The demo's audit policy: the default, with 2,000 unicity targets.\nseed = {seed}\n\n"
                      f"[rules.{unicity}]\ntargets = 2000\n")
    policy = load_policy(config)
    for name, _, _ in DEMO_RELEASES:
        tick(f"auditing {name}")
        report = run_audit(engine, out / "releases" / name, policy, progress=None)
        report["reproduce"] = " ".join(shlex.quote(str(c)) for c in
                                       ("reidcheck", "audit", out / "releases" / name, "--config", config))
        if name == DEMO_RELEASES[0][0]:
            report["comparison"] = comp.to_dict()
        reports[name] = report
        write_all(report, {"json": out / "reports" / f"{name}.json", "html": out / "reports" / f"{name}.html"})
    write_all(reports[DEMO_RELEASES[0][0]], {"html": out / "report.html"})
    return {"reports": reports, "comparison": comp}
