"""Reproductions of published re-identification results: ``reidcheck bench NAME``.

Each benchmark is a module of this package with ``NAME`` (the CLI name), ``TITLE``, ``PAPER`` (the
citation) and ``run(ctx) -> dict``; it computes its figures, draws ``ctx.out/NAME.png`` and returns a
document::

    {"name", "title", "paper", "quick", "seed", "elapsed_s", "params": {...}, "figures": {...},
     "rows": [{"quantity", "ours", "published", "agreement", "note"}]}

``rows`` is what ``RESULTS.md`` shows: our figure beside the published one (both as text), how close
they are (``agreement``: e.g. "within range", "same shape", "lower by 12 points") and why they differ.
``write_result`` writes ``NAME.json``; ``write_results_md`` regenerates ``RESULTS.md`` from every
committed JSON of the results folder, so the table is always reproducible by one command
(``reidcheck bench results``).
"""

from __future__ import annotations

import importlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..io import write_text_atomic

#: CLI name → module (imported lazily).
BENCHMARKS = {
    "demontjoye2013": "montjoye",
    "farzanehfar2021": "farzanehfar",
    "zangbolot2011": "zangbolot2011",
    "golle2009": "golle2009",
    "sweeney2000": "sweeney",
    "hash-reversal": "hashrev",
    "realdata": "real",
    "peers": "peers",
    "profile-linkage": "profile",
    "profile-scale": "profile_scale",
    "xu2017": "xu2017",
    "callgraph-gap": "cretu2022",
    "pyrgelis2018": "pyrgelis2018",
}


@dataclass
class Context:
    """What a benchmark gets: quick mode, seed, output folder, a cache folder for generated data, and
    a ``log`` callable (stderr progress)."""

    quick: bool
    seed: int
    out: Path
    cache: Path
    log: object = print
    shared_data: Path | None = None
    extra: dict = field(default_factory=dict)

    def population(self, subscribers: int, days: int, seed: int | None = None) -> Path:
        """A generated population directory in the cache (made once, reused while its manifest matches)."""
        from synthetic import write_population

        seed = self.seed if seed is None else seed
        path = self.cache / f"pop{subscribers}_{days}d_seed{seed}"
        if not (path / "population.json").is_file():
            self.log(f"generating {subscribers:,} subscribers × {days} days (seed {seed}) into {path}")
            write_population(path, subscribers, days, seed, overwrite=True)
        return path


def shared_data_dir() -> Path | None:
    """The real data sets (Gowalla, Geolife, adult.csv): ``$REIDCHECK_SHARED_DATA``, else ``../shared/data``
    beside a source checkout (only when this package runs from one: its parent holds pyproject.toml);
    None when absent — an installed package never guesses a path outside itself."""
    env = os.environ.get("REIDCHECK_SHARED_DATA")
    if env:
        path = Path(env)
    else:
        checkout = Path(__file__).resolve().parent.parent.parent
        if not (checkout / "pyproject.toml").is_file() or not (checkout / "reidcheck").is_dir():
            return None
        path = checkout.parent / "shared" / "data"
    return path if path.is_dir() else None


def adult_dir() -> Path | None:
    """UCI Adult as kept by ARX, with its hierarchies: the copy vendored under ``tests/data/adult`` of a
    source checkout (``adult.csv.gz``; see its PROVENANCE.md), else ``adult/`` of the shared data
    (``adult.csv``); None when neither is present. Read the table through :func:`adult_csv`."""
    checkout = Path(__file__).resolve().parent.parent.parent
    vendored = checkout / "tests" / "data" / "adult"
    if (vendored / "adult.csv.gz").is_file():
        return vendored
    shared = shared_data_dir()
    return shared / "adult" if shared is not None and (shared / "adult" / "adult.csv").is_file() else None


def adult_csv(folder: Path) -> Path:
    """The Adult table (`;`-separated) in a folder from :func:`adult_dir`: ``adult.csv.gz`` or ``adult.csv``."""
    return folder / "adult.csv.gz" if (folder / "adult.csv.gz").is_file() else folder / "adult.csv"


def get(name: str):
    if name not in BENCHMARKS:
        raise UsageError(f"Unknown benchmark {name!r}; benchmarks are {', '.join(BENCHMARKS)} (or: all, results).")
    return importlib.import_module(f".{BENCHMARKS[name]}", __name__)


def run(name: str, ctx: Context) -> dict:
    mod = get(name)
    ctx.out.mkdir(parents=True, exist_ok=True)
    ctx.cache.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    doc = mod.run(ctx)
    doc = {"name": mod.NAME, "title": mod.TITLE, "paper": mod.PAPER, "quick": ctx.quick, "seed": ctx.seed,
           "elapsed_s": round(time.perf_counter() - t0, 1), **doc}
    write_result(doc, ctx.out)
    return doc


def write_result(doc: dict, out: Path) -> Path:
    path = out / f"{doc['name']}.json"
    write_text_atomic(path, json.dumps(doc, indent=2, default=float) + "\n")
    return path


def results_md_path(out: Path) -> Path:
    """``benchmarks/RESULTS.md`` for the default ``benchmarks/results``; else ``OUT/RESULTS.md``."""
    return out.parent / "RESULTS.md" if out.name == "results" else out / "RESULTS.md"


def write_results_md(out: Path) -> Path:
    """Regenerate RESULTS.md from every ``NAME.json`` of ``out`` written by a benchmark."""
    docs = []
    for p in sorted(out.glob("*.json")):
        try:
            d = json.loads(p.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(d, dict) and d.get("name") in BENCHMARKS and "rows" in d:
            docs.append(d)
    order = list(BENCHMARKS)
    docs.sort(key=lambda d: order.index(d["name"]))
    lines = ["# Reproduced results", "",
             "Generated by `reidcheck bench results` from the JSON files in `benchmarks/results/` (each written by "
             "`reidcheck bench NAME`). *ours* is measured here; *published* is the paper's figure "
             "(`../shared/REFERENCES.md`); *agreement* says how close they are and *note* why they differ.", ""]
    for d in docs:
        mode = "quick mode (CI size)" if d.get("quick") else "full mode"
        lines += [f"## {d['name']} — {d['title']}", "",
                  f"{d['paper']}. Seed {d['seed']}, {mode}, {d['elapsed_s']:.0f} s wall on this machine. "
                  f"Figure: `results/{d['name']}.png`.", "",
                  "| quantity | ours | published | agreement | note |", "|---|---|---|---|---|"]
        for r in d["rows"]:
            cells = [str(r.get(k, "")).replace("|", "\\|").replace("\n", " ")
                     for k in ("quantity", "ours", "published", "agreement", "note")]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    path = results_md_path(out)
    write_text_atomic(path, "\n".join(lines))
    return path


def savefig(fig, path: Path) -> None:
    """PNG without a timestamp (same data, same bytes)."""
    tmp = path.parent / f".{path.name}.tmp.png"
    fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    os.replace(tmp, path)


def skipped(ctx, name: str, note: str, params: dict | None = None) -> dict:
    """A reproduction that cannot run here (its data or peer tools are absent): one log line, a figure
    saying so (``NAME.png`` exists whatever ran) and a single "skipped" row giving the reason."""
    from matplotlib.figure import Figure

    ctx.log(f"{name} skipped: {note}")
    fig = Figure(figsize=(7, 1.2))
    fig.text(0.5, 0.5, f"{name} skipped: {note}", ha="center", va="center", wrap=True, fontsize=8)
    savefig(fig, ctx.out / f"{name}.png")
    return {"params": dict(params or {}), "figures": {},
            "rows": [{"quantity": name, "ours": "skipped", "published": "", "agreement": "", "note": note}]}


def pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f}%"


def rate_text(r: dict | None) -> str:
    """``95.2% [94.8, 95.6]`` from a rate dictionary."""
    if not r or r.get("value") is None:
        return "n/a"
    lo, hi = r["ci"]
    return f"{100 * r['value']:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"
