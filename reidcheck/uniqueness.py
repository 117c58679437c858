"""Uniqueness estimators: population uniqueness from a sample by Zayatz, Pitman, SNB and Dankar et al.'s rule.

Here the *population* is the statistical one the sample was drawn from (size N); elsewhere in the
project a population is a generated dataset (``synthetic``, ``reidcheck generate``).

Input is the sample's equivalence-class histogram — ``{class size: number of classes}`` — the sample
size n and the sampling fraction π (population size N = n / π). Each model returns the estimated
number of population-unique tuples; ``fraction = uniques / N``. The models follow the formulas used
by ARX (Apache-2.0; ``org.deidentifier.arx.risk.ModelZayatz``, ``ModelPitman``, ``ModelSNB``,
``RiskModelPopulationUniqueness``), re-implemented here with scipy:

* Zayatz (1991): P(population unique | sample unique) = (c₁/u)·h(1; N, 1, n) / Σ_k (c_k/u)·h(1; N, k, n),
  h the hypergeometric probability of drawing exactly one of a class of size k; uniques = c₁·P/π.
* Pitman (Hoshino 2001): maximum-likelihood (θ, α) of the two-parameter Pitman partition by Newton's
  method from the moment-based start; uniques = Γ(θ+1)/Γ(θ+α)·N^α.
* SNB (Chen & Keller-McNulty 1998): K (classes in the population) by the Shlosser estimator, then
  (α, β) solving the equations for c₁ and c₂; uniques = K·β^α.
* Dankar et al. (2012): π ≤ 0.1 → Pitman (Zayatz if Pitman has no valid solution);
  otherwise min(Zayatz, SNB), or Zayatz when SNB has no valid solution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from .errors import UsageError


@dataclass(frozen=True)
class Histogram:
    sizes: np.ndarray    # class sizes k
    counts: np.ndarray   # number of classes of size k

    @classmethod
    def from_class_sizes(cls, class_sizes) -> "Histogram":
        k, c = np.unique(np.asarray(class_sizes, dtype=np.int64), return_counts=True)
        return cls(k, c)

    @property
    def n(self) -> int:
        return int((self.sizes * self.counts).sum())

    @property
    def u(self) -> int:
        return int(self.counts.sum())

    def c(self, k: int) -> int:
        return int(self.counts[self.sizes == k].sum())


def _check(h: Histogram, pi: float) -> float:
    if not 0 < pi <= 1:
        raise UsageError(f"Parameter `sampling_fraction` must be in (0, 1]. Got {pi!r} instead.")
    return h.n / pi


def zayatz(h: Histogram, pi: float) -> float:
    N = _check(h, pi)
    if h.c(1) == 0:
        return 0.0
    Ni = int(round(N))
    p1 = stats.hypergeom(Ni, h.sizes, h.n).pmf(1)   # P(exactly one of a size-k class is sampled)
    denom = float((h.counts / h.u * p1).sum())
    num = h.c(1) / h.u * float(stats.hypergeom(Ni, 1, h.n).pmf(1))
    return h.c(1) * (num / denom) / pi


def pitman(h: Histogram, pi: float) -> float:
    """NaN when the likelihood equations have no valid solution."""
    N = _check(h, pi)
    c1, c2, u, n = float(h.c(1)), float(h.c(2)), float(h.u), float(h.n)
    if c1 == 0:
        return 0.0
    c2 = c2 if c2 != 0 else 1.0
    c = c1 * (c1 - 1) / c2
    denom = 2 * c1 * u + c1 * c - n * c
    if denom == 0:          # no starting point: the equations have no usable solution (Zayatz fallback)
        return float("nan")
    t0 = (n * u * c - c1 * (n - 1) * (2 * u + c)) / denom
    a0 = (t0 * (c1 - n) + (n - 1) * c1) / (n * u)
    multi = h.sizes != 1
    ks, vs = h.sizes[multi].astype(float), h.counts[multi].astype(float)

    def equations(x):
        t, a = x
        o1 = (special.digamma(u - 1 + t / a + 1) - special.digamma(t / a + 1)) / a
        o3 = (-t * special.digamma(u - 1 + t / a + 1) + a * (u - 1) + t * special.digamma(t / a + 1)) / (a * a)
        o2 = special.digamma(n + t) - special.digamma(t + 1)
        o4 = float((vs * (special.digamma(ks - a) - special.digamma(1 - a))).sum())
        return [o1 - o2, o3 - o4]

    # Tiny or degenerate tables send the solver through invalid regions (digamma poles, 0/0): those
    # steps are not results, and a non-converged solve is reported as NaN, not warned about.
    with np.errstate(all="ignore"):
        sol = optimize.root(equations, [t0, a0], method="hybr", options={"xtol": 1e-14})
    t, a = sol.x
    if not sol.success or not np.isfinite([t, a]).all() or a == 0 or not (0 < a < 1) or t <= -a:
        return float("nan")
    val = math.exp(special.gammaln(t + 1) - special.gammaln(t + a) + a * math.log(N))
    return val if 0 <= val <= N else float("nan")


def _shlosser(h: Histogram, f: float) -> float:
    k, v = h.sizes.astype(float), h.counts.astype(float)
    f2 = f * f
    var1 = float((k * f2 * (1 - f2) ** (k - 1) * v).sum())
    var2 = float(((1 - f) ** k * v * (1 + f) ** k - 1).sum())
    var3 = float(((1 - f) ** k * v).sum())
    var4 = float((k * f * (1 - f) ** (k - 1) * v).sum())
    return h.u + h.c(1) * (var1 / var2) * (var3 / var4) ** 2


def snb(h: Histogram, pi: float) -> float:
    """NaN when no valid (α > 0, 0 < β < 1) solution is found."""
    _check(h, pi)
    c1, c2, f = float(h.c(1)), float(h.c(2)), pi
    if c1 == 0:
        return 0.0
    K = _shlosser(h, f)

    def equations(x):
        a, b = x
        d = (1 - f) * (1 - b)
        e1 = K * f * (b / (1 - d)) ** a * (a * d / (1 - d) + 1) - c1
        e2 = K * a * b ** a * f * f * (1 - b) / 2 * (1 - d) ** (a + 2) * (2 - (1 - a) * d) - c2
        return [e1 / c1, e2 / max(c2, 1.0)]

    best = None
    for a0 in (0.1, 0.5, 1.0, 2.0, 5.0):
        for b0 in (0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99):
            with np.errstate(all="ignore"):
                sol = optimize.root(equations, [a0, b0], method="hybr", options={"xtol": 1e-14})
            a, b = sol.x
            if sol.success and a > 0 and 0 < b < 1 and np.allclose(equations(sol.x), 0, atol=1e-9):
                best = (a, b)
                break
        if best:
            break
    if best is None:
        return float("nan")
    a, b = best
    return K * b ** a


def dankar(h: Histogram, pi: float) -> tuple[float, str]:
    """(estimated population uniques, model used)."""
    if h.c(1) == 0:
        return 0.0, "none"
    if pi <= 0.1:
        p = pitman(h, pi)
        if np.isfinite(p) and p != 0:
            return p, "pitman"
        return zayatz(h, pi), "zayatz"
    z, s = zayatz(h, pi), snb(h, pi)
    if np.isfinite(s) and s != 0:
        return (z, "zayatz") if z < s else (s, "snb")
    return z, "zayatz"


def population_uniqueness(h: Histogram, pi: float) -> dict:
    """All estimates as fractions of the population (uniques / N) plus Dankar's choice."""
    N = _check(h, pi)
    est = {"zayatz": zayatz(h, pi), "pitman": pitman(h, pi), "snb": snb(h, pi)}
    d, model = dankar(h, pi)
    out = {name: (v / N if np.isfinite(v) else None) for name, v in est.items()}
    out.update({"dankar": d / N, "dankar_model": model, "population_size": N, "sampling_fraction": pi,
                "sample_uniques": h.c(1)})
    return out
