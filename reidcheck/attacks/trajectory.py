"""Trajectory re-identification: unicity (de Montjoye 2013), top-N places (Zang & Bolot 2011),
home/work pairs (Golle & Partridge 2009).

Semantics shared by all three:

* A **point** is a distinct (time bin, place) pair of a user's trace at the chosen resolution
  (``reidcheck.resolution``). Generalization is applied before anything is drawn or matched.
* The **anonymity set** of a target is the set of users of the release whose trace matches what the
  adversary knows; the target's own trace always matches, so its size is ≥ 1 when the adversary's
  knowledge comes from the release itself. A target is **unique** when the size is 1.
* **Rates**: ``unique_rate = n_unique / n_targets`` where ``n_targets`` counts the targets that could
  be scored. Targets that cannot be scored (fewer distinct points than the adversary knows, no
  night-time place, …) are counted in ``n_skipped`` and excluded from the denominator.
* **Correct** re-identification needs a truth map (release id → true id) and adversary knowledge
  drawn from the true people's traces: a target is correctly re-identified when it is unique *and*
  the single match is its own release record. Without a truth map ``n_correct`` is None.
* **Random draws** are a seeded integer hash of (seed, ids) computed in SQL (``points.hash_sql``),
  so they are the same on every engine and independent of data order.
* **Baseline**: the candidates are the distinct users of the release (``n_candidates``); a random
  guess among them names the target with probability ``baseline_rate = 1 / n_candidates``.

Every attack is a keyword-only frozen dataclass of parameters with ``validate()``, ``params()`` and
``run(engine, release, *, knowledge=None, truth=None)``; ``release`` is an ``io.TrajectoryInput``.

Each attack's relational core is portable SQL (no QUALIFY, USING or GROUP BY ALL).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..errors import UsageError
from ..io import TrajectoryInput
from ..resolution import parse_space, parse_time_bin
from ..result import AttackResult
from ..rules import rule_id
from ..stats import anonymity_summary, rate
from .points import hash_sql, loc_coordinates, points_sql, reference_latitude
from .validation import _bad, _int_between, _non_negative, _targets

MAX_POINTS = 10


def _unit_xyz(lat, lon):
    la, lo = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def _candidates(engine, relation: str) -> int:
    """Distinct users of ``relation`` (column ``uid``): whom the adversary chooses among."""
    return int(engine.query(f"SELECT COUNT(DISTINCT uid) AS n FROM {relation}")["n"][0])


def _sizes_result(attack: str, engine, params: dict, seed, sizes: pd.DataFrame, n_skipped: int,
                  with_truth: bool, t0: float, extra: dict | None = None,
                  n_candidates: int | None = None) -> AttackResult:
    """Build the result from a (size, n[, correct]) table over scored targets."""
    sizes = sizes.fillna(0)
    size = sizes["size"].to_numpy(np.int64)
    count = sizes["n"].to_numpy(np.int64)
    n_targets = int(count.sum())
    n_unique = int(count[size == 1].sum())
    n_correct = int(sizes["correct"].sum()) if with_truth else None
    found = size > 0
    extra = dict(extra or {})
    extra["n_no_match"] = int(count[~found].sum())
    return AttackResult(
        attack=attack, rule_id=rule_id(attack), engine=engine.name, seed=seed, params=params,
        n_targets=n_targets, n_skipped=int(n_skipped), n_unique=n_unique, n_correct=n_correct,
        unique_rate=rate(n_unique, n_targets), correct_rate=rate(n_correct, n_targets) if with_truth else None,
        anonymity_set=anonymity_summary(size[found], count[found]) if found.any() else None,
        elapsed_s=round(time.perf_counter() - t0, 3), n_candidates=n_candidates,
        baseline_rate=AttackResult.baseline(n_candidates), extra=extra)


def _no_knowledge(attack: str, knowledge, truth) -> None:
    if knowledge is not None or truth is not None:
        raise UsageError(f"The {attack} attack takes its knowledge from the release itself: `knowledge` and "
                         "`truth` must be None.")


def _check_tolerances(time_tolerance, space_tolerance_km) -> None:
    _int_between("time_tolerance", time_tolerance, 0, allowed="a non-negative integer number of bins")
    _non_negative("space_tolerance_km", space_tolerance_km, "a non-negative distance in km")


@dataclass(frozen=True, kw_only=True)
class Unicity:
    """de Montjoye unicity ε_p.

    For each target (``targets`` users drawn by seeded hash among the adversary's known users, or all),
    draw ``points`` of its distinct (time bin, place) pairs uniformly (seeded hash rank); the
    candidates are the release users whose trace holds every drawn point — with tolerance, a point
    (tb, loc) is held by any point within ±``time_tolerance`` bins and ``space_tolerance_km`` km.
    Users with fewer than ``points`` distinct pairs are counted in ``n_skipped``.

    ``unique_rate`` = targets whose anonymity set is exactly themselves / scored targets;
    ``correct_rate`` (with ``knowledge`` and ``truth``) = unique and the match is the right person /
    scored targets; ``baseline_rate`` = 1 / users of the release.
    """

    points: int = 4
    time_bin: str = "1h"
    space: str = "cell"
    targets: int | str | None = 10_000
    seed: int = 0
    time_tolerance: int = 0
    space_tolerance_km: float = 0.0

    def validate(self) -> None:
        _int_between("points", self.points, 1, MAX_POINTS)
        _int_between("seed", self.seed, 0, allowed="a non-negative integer")
        _check_tolerances(self.time_tolerance, self.space_tolerance_km)
        parse_time_bin(self.time_bin), parse_space(self.space), _targets(self.targets)

    def params(self) -> dict:
        d = asdict(self)
        d["time_bin"] = parse_time_bin(self.time_bin).label
        d["space"] = parse_space(self.space).label
        d["targets"] = _targets(self.targets) or "all"
        return d

    # ------------------------------------------------------------------------------------------
    def run(self, engine, release: TrajectoryInput, *, knowledge: TrajectoryInput | None = None,
            truth: pd.DataFrame | None = None) -> AttackResult:
        """Run on ``release``. With ``knowledge`` (the true people's traces) and ``truth`` (columns
        ``pid`` = release user id, ``uid`` = knowledge user id), correct re-identifications are scored."""
        self.validate()
        t0 = time.perf_counter()
        if (knowledge is None) != (truth is None):
            raise UsageError("Scoring correct re-identifications needs both `knowledge` and `truth`.")
        prep = _Prepared.build(engine, self, release, knowledge, truth)
        sizes, skipped = prep.score(self.points, self.seed, _targets(self.targets))
        res = _sizes_result("unicity", engine, self.params(), self.seed, sizes, skipped, truth is not None, t0,
                            {"lat0": prep.lat0} if prep.lat0 is not None else None, prep.candidates())
        prep.cleanup()
        return res


@dataclass
class _Prepared:
    """Registered relations for one resolution: ``__rel`` (release points, a view or table),
    ``__know`` (knowledge points), optional ``__truth`` and ``__near``."""

    engine: object
    attack: Unicity
    lat0: float | None
    with_truth: bool
    near: bool
    #: Distinct users of ``__rel`` once ``select_targets`` has counted them (no knowledge given).
    n_users: int | None = None

    @classmethod
    def build(cls, engine, attack: Unicity, release, knowledge, truth, materialize: bool = False):
        tb, sp = parse_time_bin(attack.time_bin), parse_space(attack.space)
        needs_lat0 = sp.kind == "grid" or attack.space_tolerance_km > 0
        lat0 = reference_latitude(engine, release) if needs_lat0 else None
        # Materialized (reused for several p): distinct points only — smaller, and the same matches.
        def pts(inp):
            sql = points_sql(engine, inp, tb, sp, lat0 or 0.0)
            return f"SELECT DISTINCT uid, tb, loc FROM ({sql}) p" if materialize else sql

        engine.register("__rel", pts(release), materialize=materialize)
        if knowledge is not None:
            engine.register("__know", pts(knowledge), materialize=materialize)
            t = pd.DataFrame({"pid": truth["pid"].to_numpy(np.int64), "uid": truth["uid"].to_numpy(np.int64)})
            engine.register("__truth", t)
        else:
            engine.register("__know", "SELECT uid, tb, loc FROM __rel", materialize=False)
        near = attack.space_tolerance_km > 0
        if near:
            locs = engine.query("SELECT DISTINCT loc FROM __rel UNION SELECT DISTINCT loc FROM __know")["loc"]
            coords = loc_coordinates(engine, release, sp, lat0, locs.to_numpy(np.int64))
            if coords[["lat", "lon"]].isna().any().any():
                raise UsageError("A distance tolerance needs coordinates for every place; some are unknown.")
            xyz = _unit_xyz(coords["lat"], coords["lon"])
            tree = cKDTree(xyz)
            chord = 2 * np.sin(attack.space_tolerance_km / 6371.0088 / 2)
            pairs = tree.query_pairs(chord, output_type="ndarray")
            codes = coords["loc"].to_numpy(np.int64)
            a = np.concatenate([codes, codes[pairs[:, 0]], codes[pairs[:, 1]]])
            b = np.concatenate([codes, codes[pairs[:, 1]], codes[pairs[:, 0]]])
            engine.register("__near", pd.DataFrame({"a": a, "b": b}))
        return cls(engine, attack, lat0, knowledge is not None, near)

    def select_targets(self, seed: int, n: int | None) -> None:
        """``__tgt``: the first ``n`` known users by (seeded hash, uid), or all of them; ``__tpairs``
        their distinct points and ``__tcount`` how many. One scan of ``__know`` for its users (which,
        without knowledge, are also the release's candidates) and one for the targets' rows."""
        e = self.engine
        e.register("__users", "SELECT DISTINCT uid FROM __know")
        if not self.with_truth:              # __know is __rel: its users are the candidates
            self.n_users = int(e.query("SELECT COUNT(*) AS n FROM __users")["n"][0])
        if n is None:
            e.register("__tgt", "SELECT uid FROM __users")
        else:
            e.register("__tgt", f"SELECT uid FROM __users ORDER BY {hash_sql(seed, 'uid')}, uid LIMIT {int(n)}")
        e.register("__tpairs", """
            SELECT DISTINCT k.uid AS uid, k.tb AS tb, k.loc AS loc
            FROM __know k JOIN __tgt t ON t.uid = k.uid""")
        e.register("__tcount", "SELECT uid, COUNT(*) AS n FROM __tpairs GROUP BY uid")

    def score(self, p: int, seed: int, n_targets: int | None, reuse_targets: bool = False):
        """(size table over eligible targets, number skipped) for ``p`` known points."""
        e = self.engine
        if not reuse_targets:
            self.select_targets(seed, n_targets)
        e.register("__drawn", f"""
            SELECT uid, tb, loc, rn AS k, {p} AS np FROM (
              SELECT tp.uid AS uid, tp.tb AS tb, tp.loc AS loc,
                     ROW_NUMBER() OVER (PARTITION BY tp.uid
                                        ORDER BY {hash_sql(seed, 'tp.uid', 'tp.tb', 'tp.loc')}, tp.tb, tp.loc) AS rn
              FROM __tpairs tp JOIN __tcount c ON c.uid = tp.uid
              WHERE c.n >= {p}
            ) z WHERE rn <= {p}""")
        e.register("__eligible", f"SELECT uid FROM __tcount WHERE n >= {p}")
        sizes = self.match()
        skipped = int(e.query("SELECT (SELECT COUNT(*) FROM __tgt) - (SELECT COUNT(*) FROM __eligible) AS n")["n"][0])
        return sizes, skipped

    def match(self) -> pd.DataFrame:
        """Size table (size, n, correct) of the targets in ``__eligible`` given their points in ``__drawn``
        (uid, tb, loc, k = point number, np = points known about that target).

        A candidate holds every known point of a target, so it holds the target's *rarest* one: the
        candidates are looked up at that point (the pivot) only, then checked against the others.
        The work follows the sizes of the anonymity sets, not the popularity of places nor the order
        of the rows (a crowded hour at a popular cell is joined with its holders only for the targets
        whose every point is as crowded). Steps:

        1. ``__dx``: each known point expanded to the (tb, loc) keys that hold it (±``time_tolerance``
           bins, the places of ``__near``); without tolerance ``__drawn`` itself;
        2. ``__hold``: the distinct (uid, tb, loc) of ``__rel`` at those keys — the one scan of the
           release, joined with the small key set;
        3. pivot: per target, the point with the fewest holders summed over its keys (ties: lowest k);
        4. ``__cand``: distinct (target, user) holding the pivot;
        5. matches: the candidates holding every point of the target (distinct point numbers counted,
           so overlapping tolerance windows count once).

        The anonymity sets are those of joining every known point with every row that holds it."""
        e = self.engine
        h = self.attack.time_tolerance
        exact = not h and not self.near
        dx = "__drawn"
        if not exact:
            loc, joins = "d.loc", ""
            if self.near:
                loc, joins = "n.b", " JOIN __near n ON n.a = d.loc"
            if h:
                e.register("__toff", pd.DataFrame({"o": np.arange(-h, h + 1, dtype=np.int64)}))
                joins += " CROSS JOIN __toff o"
            e.register("__dx", f"""
                SELECT d.uid AS uid, d.k AS k, d.np AS np, {loc} AS loc, d.tb{' + o.o' if h else ''} AS tb
                FROM __drawn d{joins}""")
            dx = "__dx"
        e.register("__hold", f"""
            SELECT DISTINCT r.uid AS uid, r.tb AS tb, r.loc AS loc
            FROM __rel r JOIN (SELECT DISTINCT loc, tb FROM {dx}) k ON k.loc = r.loc AND k.tb = r.tb""")
        e.register("__cand", f"""
            SELECT DISTINCT x.uid AS target, r.uid AS cand
            FROM (SELECT uid, k FROM (
                    SELECT uid, k, ROW_NUMBER() OVER (PARTITION BY uid ORDER BY f, k) AS rn FROM (
                      SELECT x.uid AS uid, x.k AS k, SUM(COALESCE(f.f, 0)) AS f
                      FROM {dx} x LEFT JOIN (SELECT loc, tb, COUNT(*) AS f FROM __hold GROUP BY loc, tb) f
                        ON f.loc = x.loc AND f.tb = x.tb
                      GROUP BY x.uid, x.k) a
                  ) b WHERE rn = 1) p
            JOIN {dx} x ON x.uid = p.uid AND x.k = p.k
            JOIN __hold r ON r.loc = x.loc AND r.tb = x.tb""")
        # Exact keys: one __hold row per (candidate, point), so rows count points.
        points = "COUNT(*)" if exact else "COUNT(DISTINCT x.k)"
        match = f"""
            SELECT c.target AS target, c.cand AS cand
            FROM __cand c JOIN {dx} x ON x.uid = c.target
            JOIN __hold r ON r.uid = c.cand AND r.loc = x.loc AND r.tb = x.tb
            GROUP BY c.target, c.cand
            HAVING {points} = MAX(x.np)"""
        correct = ("CASE WHEN m.sz = 1 AND tr.uid = c.uid THEN 1 ELSE 0 END" if self.with_truth else "0")
        truth_join = "LEFT JOIN __truth tr ON tr.pid = m.cand" if self.with_truth else ""
        out = e.query(f"""
            SELECT sz AS size, COUNT(*) AS n, SUM(correct) AS correct FROM (
              SELECT c.uid AS uid, COALESCE(m.sz, 0) AS sz, {correct} AS correct
              FROM __eligible c
              LEFT JOIN (SELECT target, COUNT(*) AS sz, MIN(cand) AS cand FROM ({match}) mt GROUP BY target) m
                ON m.target = c.uid
              {truth_join}
            ) s GROUP BY sz ORDER BY sz""")
        for name in ("__cand", "__hold") + (() if exact else ("__dx",)) + (("__toff",) if h else ()):
            e.drop(name)
        return out

    def candidates(self) -> int:
        """Distinct users of the release (``_candidates`` of ``__rel``; counted once)."""
        if self.n_users is None:
            self.n_users = _candidates(self.engine, "__rel")
        return self.n_users

    def cleanup(self) -> None:
        for name in ("__eligible", "__drawn", "__tcount", "__tpairs", "__tgt", "__users", "__near", "__truth",
                     "__know", "__rel", "__known_raw"):
            self.engine.drop(name)


@dataclass(frozen=True, kw_only=True)
class KnownPoints:
    """Anonymity sets given explicit adversary knowledge instead of random draws.

    ``knowledge`` (to ``run``) is a DataFrame with columns ``target`` (int), ``timestamp`` (epoch
    seconds) and ``cell_id`` (or ``lat`` and ``lon``): the raw points the adversary knows about each
    target. They are generalized to (``time_bin``, ``space``) like the release, so the same knowledge
    can be matched at several resolutions; every known point of a target must be held by a candidate
    (with the tolerances of ``Unicity``). With ``truth`` (pid, uid), ``target`` is the true id and
    correct matches are scored; without it, ``target`` is a release user id. Every target with at
    least one point is scored (``n_skipped`` = 0); ``baseline_rate`` = 1 / users of the release.
    """

    time_bin: str = "1h"
    space: str = "cell"
    time_tolerance: int = 0
    space_tolerance_km: float = 0.0

    def _unicity(self) -> Unicity:
        return Unicity(points=1, time_bin=self.time_bin, space=self.space, targets="all", seed=0,
                       time_tolerance=self.time_tolerance, space_tolerance_km=self.space_tolerance_km)

    def validate(self) -> None:
        self._unicity().validate()

    def params(self) -> dict:
        params = {k: v for k, v in self._unicity().params().items() if k not in ("points", "targets", "seed")}
        params["knowledge"] = "explicit"
        return params

    def run(self, engine, release: TrajectoryInput, *, knowledge: pd.DataFrame | None = None,
            truth: pd.DataFrame | None = None) -> AttackResult:
        from ..io import Mapping, load_trajectories

        self.validate()
        if knowledge is None:
            raise UsageError("Parameter `knowledge` must be the adversary's known points (columns target, "
                             "timestamp, cell_id or lat/lon). Got None instead.")
        t0 = time.perf_counter()
        attack = self._unicity()
        known = knowledge
        if "cell_id" in known.columns:
            mapping = Mapping(user="target", time="timestamp", place="cell_id")
        else:
            mapping = Mapping(user="target", time="timestamp", lat="lat", lon="lon")
        kin = load_trajectories(engine, known, mapping, cells=release.places, utc_offset_h=release.utc_offset_h,
                                relation="__known_raw")
        prep = _Prepared.build(engine, attack, release, kin if truth is not None else None, truth)
        tb, sp = parse_time_bin(self.time_bin), parse_space(self.space)
        engine.register("__kpts", points_sql(engine, kin, tb, sp, prep.lat0 or 0.0))
        engine.register("__drawn", """
            SELECT d.uid AS uid, d.tb AS tb, d.loc AS loc,
                   DENSE_RANK() OVER (PARTITION BY d.uid ORDER BY d.tb, d.loc) AS k, c.np AS np
            FROM (SELECT DISTINCT uid, tb, loc FROM __kpts) d
            JOIN (SELECT uid, COUNT(*) AS np FROM (SELECT DISTINCT uid, tb, loc FROM __kpts) x GROUP BY uid) c
              ON c.uid = d.uid""")
        engine.register("__eligible", "SELECT DISTINCT uid FROM __kpts")
        sizes = prep.match()
        res = _sizes_result("unicity", engine, self.params(), None, sizes, 0, truth is not None, t0,
                            n_candidates=_candidates(engine, "__rel"))
        engine.drop("__kpts")
        prep.cleanup()
        return res


def known_points_attack(engine, release: TrajectoryInput, known: pd.DataFrame, *, time_bin: str = "1h",
                        space: str = "cell", time_tolerance: int = 0, space_tolerance_km: float = 0.0,
                        truth: pd.DataFrame | None = None) -> AttackResult:
    """``KnownPoints(...).run(engine, release, knowledge=known, truth=truth)`` (kept for callers)."""
    return KnownPoints(time_bin=time_bin, space=space, time_tolerance=time_tolerance,
                       space_tolerance_km=space_tolerance_km).run(engine, release, knowledge=known, truth=truth)


@dataclass(frozen=True, kw_only=True)
class UnicityCurve:
    """ε_p for p = 1..``max_points`` at each (time_bin, space) of ``resolutions``, with the semantics
    of ``Unicity`` (same targets for every p of a resolution: seeded hash among the adversary's known
    users). Per resolution the generalized points are materialized once.

    ``run`` returns one ``Unicity`` result per (resolution, p), in order: a list, not one result,
    because each point of the curve is a full result with its own counts and interval. Its
    ``progress``, if given, is called as ``progress(done, total, label)`` as each resolution's
    preparation and each point starts (``done`` of the ``total`` = resolutions × ``max_points``
    points finished) and once at the end with ``done == total``.
    """

    max_points: int = 5
    resolutions: tuple[tuple[str, str], ...] = (("1h", "cell"),)
    targets: int | str | None = 10_000
    seed: int = 0
    time_tolerance: int = 0
    space_tolerance_km: float = 0.0

    def _base(self, time_bin: str, space: str) -> Unicity:
        return Unicity(points=1, time_bin=time_bin, space=space, targets=self.targets, seed=self.seed,
                       time_tolerance=self.time_tolerance, space_tolerance_km=self.space_tolerance_km)

    def validate(self) -> None:
        _int_between("max_points", self.max_points, 1, MAX_POINTS)
        if not self.resolutions:
            _bad("resolutions", self.resolutions, "at least one (time_bin, space) pair")
        for time_bin, space in self.resolutions:
            self._base(time_bin, space).validate()

    def params(self) -> dict:
        return {"max_points": self.max_points,
                "resolutions": [[parse_time_bin(tb).label, parse_space(sp).label] for tb, sp in self.resolutions],
                "targets": _targets(self.targets) or "all", "seed": self.seed,
                "time_tolerance": self.time_tolerance, "space_tolerance_km": self.space_tolerance_km}

    def run(self, engine, release: TrajectoryInput, *, knowledge: TrajectoryInput | None = None,
            truth: pd.DataFrame | None = None, progress=None) -> list[AttackResult]:
        self.validate()
        if (knowledge is None) != (truth is None):
            raise UsageError("Scoring correct re-identifications needs both `knowledge` and `truth`.")
        out = []
        n_targets = _targets(self.targets)
        total = len(self.resolutions) * self.max_points

        def tell(label):
            if progress is not None:
                progress(len(out), total, label)

        for time_bin, space in self.resolutions:
            base = self._base(time_bin, space)
            where = f"{parse_time_bin(time_bin).label} × {parse_space(space).label}"
            tell(f"{where}: preparing")
            t_prep = time.perf_counter()
            prep = _Prepared.build(engine, base, release, knowledge, truth, materialize=True)
            prep.select_targets(self.seed, n_targets)
            n_candidates = prep.candidates()
            prep_s = time.perf_counter() - t_prep
            for p in range(1, self.max_points + 1):
                tell(f"{where}: {p} point{'s' if p > 1 else ''}")
                t0 = time.perf_counter()
                attack = replace(base, points=p)
                sizes, skipped = prep.score(p, self.seed, n_targets, reuse_targets=True)
                out.append(_sizes_result("unicity", engine, attack.params(), self.seed, sizes, skipped,
                                         truth is not None, t0, {"shared_preparation_s": round(prep_s, 3)},
                                         n_candidates))
            prep.cleanup()
        tell("finished")
        return out


def unicity_curve(engine, release: TrajectoryInput, *, max_points: int = 5,
                  resolutions: list[tuple[str, str]] = (("1h", "cell"),), targets=10_000, seed: int = 0,
                  knowledge: TrajectoryInput | None = None, truth: pd.DataFrame | None = None,
                  time_tolerance: int = 0, space_tolerance_km: float = 0.0, progress=None) -> list[AttackResult]:
    """``UnicityCurve(...).run(engine, release, knowledge=..., truth=..., progress=...)`` (kept for callers)."""
    return UnicityCurve(max_points=max_points, resolutions=tuple(tuple(r) for r in resolutions), targets=targets,
                        seed=seed, time_tolerance=time_tolerance, space_tolerance_km=space_tolerance_km
                        ).run(engine, release, knowledge=knowledge, truth=truth, progress=progress)


@dataclass(frozen=True, kw_only=True)
class TopN:
    """Zang & Bolot: anonymity set of each user's N most frequent places (by number of events; ties
    broken by place code) at ``space``. ``ordered`` compares the ranked tuple, otherwise the set.
    Every user of the release is a target; users with fewer than N distinct places are counted in
    ``n_skipped``. ``unique_rate`` = users alone with their top-N / scored users; ``baseline_rate`` =
    1 / users of the release. No truth map: ``n_correct`` is None."""

    n: int = 2
    space: str = "cell"
    ordered: bool = False

    def validate(self) -> None:
        _int_between("n", self.n, 1, 3, allowed="1, 2 or 3")
        if not isinstance(self.ordered, bool):
            _bad("ordered", self.ordered, "True or False")
        parse_space(self.space)

    def params(self) -> dict:
        return {"n": self.n, "space": parse_space(self.space).label, "ordered": self.ordered}

    def run(self, engine, release: TrajectoryInput, *, knowledge=None, truth=None) -> AttackResult:
        """``knowledge`` and ``truth`` are not used (the adversary's knowledge is the release itself)."""
        self.validate()
        _no_knowledge("topn", knowledge, truth)
        t0 = time.perf_counter()
        sp = parse_space(self.space)
        lat0 = reference_latitude(engine, release) if sp.kind == "grid" else 0.0
        engine.register("__rel", points_sql(engine, release, parse_time_bin("1h"), sp, lat0), materialize=False)
        engine.register("__cnt", "SELECT uid, loc, COUNT(*) AS c FROM __rel GROUP BY uid, loc")
        order = "r" if self.ordered else "loc"
        engine.register("__top", f"""
            SELECT uid, loc, ROW_NUMBER() OVER (PARTITION BY uid ORDER BY {order}) AS k FROM (
              SELECT uid, loc, ROW_NUMBER() OVER (PARTITION BY uid ORDER BY c DESC, loc) AS r FROM __cnt
            ) x WHERE r <= {self.n}""")
        cols = ", ".join(f"MAX(CASE WHEN k = {i} THEN loc END) AS l{i}" for i in range(1, self.n + 1))
        engine.register("__sig", f"""
            SELECT uid, {cols} FROM __top GROUP BY uid HAVING COUNT(*) = {self.n}""")
        keys = ", ".join(f"l{i}" for i in range(1, self.n + 1))
        on = " AND ".join(f"g.l{i} = s.l{i}" for i in range(1, self.n + 1))
        sizes = engine.query(f"""
            SELECT g.sz AS size, COUNT(*) AS n, 0 AS correct
            FROM __sig s JOIN (SELECT {keys}, COUNT(*) AS sz FROM __sig GROUP BY {keys}) g ON {on}
            GROUP BY g.sz ORDER BY g.sz""")
        counts = engine.query("""SELECT (SELECT COUNT(DISTINCT uid) FROM __cnt) AS users,
                                        (SELECT COUNT(*) FROM __sig) AS scored""").iloc[0]
        users = int(counts["users"])
        for name in ("__sig", "__top", "__cnt", "__rel"):
            engine.drop(name)
        return _sizes_result("topn", engine, self.params(), None, sizes, users - int(counts["scored"]), False, t0,
                             n_candidates=users)


@dataclass(frozen=True, kw_only=True)
class HomeWork:
    """Golle & Partridge: home = the place with most events in night hours [night_start, night_end)
    local time; work = the place with most events on workdays in [work_start, work_end); ties broken
    by place code. The anonymity set is the set of users with the same (home, work) pair. Every user
    of the release is a target; users without a night-time or a workday-daytime event are counted in
    ``n_skipped``. ``unique_rate`` = users alone with their pair / scored users; ``baseline_rate`` =
    1 / users of the release. No truth map: ``n_correct`` is None."""

    space: str = "cell"
    night_start: int = 22
    night_end: int = 6
    work_start: int = 9
    work_end: int = 17
    workdays: str = "0-4"   # Monday = 0

    def _days(self) -> list[int]:
        try:
            days = set()
            if not isinstance(self.workdays, str):
                raise ValueError
            for part in self.workdays.split(","):
                a, _, b = part.partition("-")
                days.update(range(int(a), int(b or a) + 1))
            if not days or not days <= set(range(7)):
                raise ValueError
            return sorted(days)
        except ValueError:
            _bad("workdays", self.workdays, "days 0 (Monday) to 6 as a list or ranges, e.g. 0-4 or 0-5")

    def validate(self) -> None:
        for name in ("night_start", "night_end", "work_start", "work_end"):
            _int_between(name, getattr(self, name), 0, 24, allowed="an hour between 0 and 24")
        self._days()
        parse_space(self.space)

    def params(self) -> dict:
        d = asdict(self)
        d["space"] = parse_space(self.space).label
        return d

    def run(self, engine, release: TrajectoryInput, *, knowledge=None, truth=None) -> AttackResult:
        """``knowledge`` and ``truth`` are not used (the adversary's knowledge is the release itself)."""
        self.validate()
        _no_knowledge("homework", knowledge, truth)
        t0 = time.perf_counter()
        sp = parse_space(self.space)
        lat0 = reference_latitude(engine, release) if sp.kind == "grid" else 0.0
        off = int(round(release.utc_offset_h * 3600))
        engine.register("__rel", points_sql(engine, release, parse_time_bin("1h"), sp, lat0,
                                            extra_cols=f", e.t + {off} AS lt"), materialize=False)
        hour = "(CAST(FLOOR(lt / 3600) AS BIGINT) % 24)"
        dow = "((CAST(FLOOR(lt / 86400) AS BIGINT) + 3) % 7)"
        if self.night_start > self.night_end:
            night = f"({hour} >= {self.night_start} OR {hour} < {self.night_end})"
        else:
            night = f"({hour} >= {self.night_start} AND {hour} < {self.night_end})"
        day = (f"({hour} >= {self.work_start} AND {hour} < {self.work_end} "
               f"AND {dow} IN ({', '.join(map(str, self._days()))}))")

        def top(cond):
            return f"""SELECT uid, loc FROM (
                         SELECT uid, loc, ROW_NUMBER() OVER (PARTITION BY uid ORDER BY c DESC, loc) AS r
                         FROM (SELECT uid, loc, COUNT(*) AS c FROM __rel WHERE {cond} GROUP BY uid, loc) a
                       ) b WHERE r = 1"""

        engine.register("__hw", f"""
            SELECT h.uid AS uid, h.loc AS home, w.loc AS work
            FROM ({top(night)}) h JOIN ({top(day)}) w ON w.uid = h.uid""")
        sizes = engine.query("""
            SELECT g.sz AS size, COUNT(*) AS n, 0 AS correct
            FROM __hw s JOIN (SELECT home, work, COUNT(*) AS sz FROM __hw GROUP BY home, work) g
              ON g.home = s.home AND g.work = s.work
            GROUP BY g.sz ORDER BY g.sz""")
        counts = engine.query("""SELECT (SELECT COUNT(DISTINCT uid) FROM __rel) AS users,
                                        (SELECT COUNT(*) FROM __hw) AS scored""").iloc[0]
        users = int(counts["users"])
        engine.drop("__hw")
        engine.drop("__rel")
        return _sizes_result("homework", engine, self.params(), None, sizes, users - int(counts["scored"]), False,
                             t0, n_candidates=users)
