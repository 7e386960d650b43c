"""Poisson log-linear laws FP / query = a x^b fitted to the simulated counts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.scale.projection.keys import _DRAWS
from bench.scale.projection.simulation import Simulation


# ----------------------------------------------------------------------------- fitting
@dataclass(frozen=True)
class Fit:
    """A Poisson log-linear law: expected count = exposure x exp(log_a + b (log x - center)).

    ``free`` is False when the exponent is fixed at 1 (theory: the birthday problem); then
    ``count`` / ``exposure`` (the pooled rate per unit of x) carries the uncertainty as a Jeffreys
    gamma posterior of an overdispersed count.
    """

    log_a: float
    b: float
    cov: np.ndarray
    center: float
    free: bool
    count: float
    exposure: float
    phi: float

    @property
    def b_se(self) -> float:
        return float(math.sqrt(self.cov[1, 1])) if self.free else float("nan")

    def point(self, x: float) -> float:
        if not self.free:
            return self.count / self.exposure * x if self.exposure > 0 else float("nan")
        return float(math.exp(self.log_a + self.b * (math.log(x) - self.center)))

    @property
    def observed(self) -> bool:
        """Whether the law rests on at least one event (a free exponent needs several)."""
        return self.free or self.count > 0

    def draws(self, x: float, rng: np.random.Generator, n: int = _DRAWS) -> np.ndarray:
        if not self.free:
            if self.exposure <= 0:
                return np.full(n, np.nan)
            shape = self.count / self.phi + 0.5
            return rng.gamma(shape, self.phi / self.exposure, n) * x
        theta = rng.multivariate_normal([self.log_a, self.b], self.cov, n)
        return np.exp(theta[:, 0] + theta[:, 1] * (math.log(x) - self.center))


def _poisson_irls(
    y: np.ndarray, offset: np.ndarray, z: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poisson GLM log E[y] = offset + t0 + t1 z by iteratively reweighted least squares:
    (theta, mu, inverse Fisher information)."""
    X = np.column_stack([np.ones_like(z), z])
    theta = np.array([math.log(y.sum() / np.exp(offset).sum()), 1.0])
    for _ in range(100):
        eta = X @ theta + offset
        mu = np.exp(eta)
        info = X.T @ (mu[:, None] * X)
        step = np.linalg.solve(info, X.T @ (y - mu))
        theta = theta + step
        if np.abs(step).max() < 1e-10:
            break
    mu = np.exp(X @ theta + offset)
    return theta, mu, np.linalg.inv(X.T @ (mu[:, None] * X))


def nesting_factor(fractions: Sequence[float]) -> float:
    """Variance inflation of the summed counts of nested sub-registers of one task.

    A false-match pair of the full register is in the sub-register of fraction f with
    probability f, nested: it is counted c = #{f_i >= u} times (u uniform). For Poisson pairs the
    sum over sub-registers has variance / mean = E[c^2] / E[c], which the fit cannot see in the
    scatter of the points (they agree by construction).
    """
    f = np.asarray(sorted(fractions), dtype=np.float64)
    if not len(f) or f.min() <= 0 or f.max() > 1:
        raise ValueError(f"fractions must lie in (0, 1], got {list(fractions)}")
    return float(np.minimum.outer(f, f).sum() / f.sum())


def fit_law(
    y: np.ndarray,
    n: np.ndarray,
    x: np.ndarray,
    clusters: np.ndarray,
    dispersion: np.ndarray | None = None,
    *,
    free: bool = True,
    x_target: float | None = None,
    min_count: int = 10,
    nesting: float = 1.0,
) -> Fit:
    """Fit counts ``y`` of ``n`` trials at scale ``x`` by ``E[y] = n a x^b``.

    The exponent is free only if ``free`` and the data can identify it (at least ``min_count``
    events, x spanning a factor 2 or more, events at 3+ points); else b = 1. The covariance is the
    larger (at ``x_target``) of the model one inflated by overdispersion (Pearson, or the mean
    per-query dispersion, at least 1) times ``nesting`` (the variance inflation of counts taken on
    nested sub-registers, see :func:`nesting_factor`) and the cluster-robust one (clusters: runs
    sharing a task).
    """
    if nesting < 1:
        raise ValueError(f"nesting must be >= 1, got {nesting}")
    y, n, x = (np.asarray(a, dtype=np.float64) for a in (y, n, x))
    if (n <= 0).any() or (x <= 0).any():
        raise ValueError("trials and scale must be positive")
    disp = 1.0 if dispersion is None or not len(dispersion) else float(np.mean(dispersion))
    lx = np.log(x)
    center = float(np.average(lx, weights=n))
    can_free = (
        free and y.sum() >= min_count and lx.max() - lx.min() >= math.log(2) and (y > 0).sum() >= 3
    )
    if not can_free:
        exposure = float((n * x).sum())
        lam = y.sum() / exposure
        mu = n * x * lam
        dof = max(len(y) - 1, 1)
        pearson = float(((y - mu) ** 2 / np.where(mu > 0, mu, 1)).sum() / dof) if y.sum() else 1.0
        phi = max(1.0, pearson, disp) * nesting
        var = phi / y.sum() if y.sum() else float("inf")
        cov = np.array([[var, 0.0], [0.0, 0.0]])
        log_a = math.log(lam) + center if lam > 0 else -math.inf
        return Fit(log_a, 1.0, cov, center, False, float(y.sum()), exposure, phi)
    z = lx - center
    theta, mu, inv = _poisson_irls(y, np.log(n), z)
    X = np.column_stack([np.ones_like(z), z])
    pearson = float(((y - mu) ** 2 / mu).sum() / max(len(y) - 2, 1))
    model = inv * max(1.0, pearson, disp) * nesting
    # cluster-robust (sandwich) covariance: runs of one task share its queries and population
    scores = X * (y - mu)[:, None]
    _, cl = np.unique(clusters, return_inverse=True)
    g = int(cl.max()) + 1
    summed = np.zeros((g, 2))
    np.add.at(summed, cl, scores)
    robust = inv @ (summed.T @ summed) @ inv * (g / max(g - 1, 1))
    zt = np.array([1.0, (math.log(x_target) - center) if x_target else 0.0])
    cov = robust if zt @ robust @ zt > zt @ model @ zt else model
    return Fit(float(theta[0]), float(theta[1]), cov, center, True, float(y.sum()), 0.0, 1.0)


@dataclass(frozen=True)
class _PassFit:
    rule: str
    pass_index: int
    scale: str
    reach: float  # share of queries reaching the pass (full register)
    other: Fit
    household: Fit
    x_target: float
    d_target: float

    def point(self) -> float:
        return self.reach * (self.other.point(self.x_target) + self.household.point(self.d_target))

    def draws(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draws of the pass's false matches per query: (for the upper end of the interval,
        for its lower end). A law fitted to no false match at all contributes nothing to the
        lower end: zero events observed leave zero as plausible as any small value (the
        Jeffreys posterior's positive lower quantile would exclude the point estimate, 0)."""
        o = self.other.draws(self.x_target, rng)
        h = self.household.draws(self.d_target, rng)
        low = o * self.other.observed + h * self.household.observed
        return self.reach * (o + h), self.reach * low


def fit_passes(sim: Simulation, variant: str, *, free: bool = True) -> list[_PassFit]:
    """Fit each rule pass's other and household false matches (one variant of the simulation)."""
    t = sim.target
    df = sim.passes[sim.passes["variant"] == variant]
    out = []
    for (rule, k), d in df.groupby(["rule", "pass"], sort=False):
        spec = sim.specs[rule][int(k)]
        full = d[d["fraction"] == 1.0]
        reach_share = float((full["reach"] / full["queries"]).mean())
        cl = (d["size"].astype(str) + ":" + d["seed"].astype(str)).to_numpy()
        density = d["register"].to_numpy() / d["population"].to_numpy()
        nest = nesting_factor(d["fraction"].unique())
        hh = fit_law(
            d["fp_household"].to_numpy(), d["reach"].to_numpy(), density, cl,
            free=False, nesting=nest,
        )  # fmt: skip
        if spec.geo:
            # A small population has few ZIPs, and a few gamma-sized ZIPs are less unequal than
            # many (E[sum of squared shares] x K = 3K / (2K + 1) for K ZIPs): fit the density
            # law on the largest population only, where sub-registers vary the density.
            d = d[d["size"] == d["size"].max()]
            cl = (d["size"].astype(str) + ":" + d["seed"].astype(str)).to_numpy()
            x = d["register"].to_numpy() / d["population"].to_numpy()
            x_t = t.density
        elif spec.owned:  # whose number it is, not how many records there are
            x, x_t = density, t.density
        else:
            x, x_t = d["register"].to_numpy(np.float64), float(t.n_register)
        other = fit_law(
            d["fp_other"].to_numpy(), d["reach"].to_numpy(), x, cl, d["dispersion"].to_numpy(),
            free=free, x_target=x_t, nesting=nest,
        )  # fmt: skip
        out.append(_PassFit(rule, int(k), spec.scale, reach_share, other, hh, x_t, t.density))
    return out
