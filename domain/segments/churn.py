"""Churn early warning (客户流失预警): the BG/NBD model of Fader, Hardie and Lee (2005), fitted
to the chain's own receipts by maximum likelihood, and what it says about each member.

The model: while alive, a member buys as a Poisson process with rate λ (gamma distributed
across members with shape r and rate α); after each repeat purchase they leave for good with
probability p (beta distributed with a and b). Per member it needs only the number of repeat
purchases x, the time of the last purchase t_x and the member's age T, both measured from
their first purchase in any one time unit (the refresh uses days).

Pure functions on numpy arrays: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import digamma, gammaln, hyp2f1

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class BgNbdFit:
    """Fitted parameters and the log-likelihood of the data under them."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    members: int
    converged: bool


def _arrays(
    frequency: Sequence[float] | Floats,
    recency: Sequence[float] | Floats,
    T: Sequence[float] | Floats,
) -> tuple[Floats, Floats, Floats]:
    x = np.asarray(frequency, dtype=np.float64)
    t_x = np.asarray(recency, dtype=np.float64)
    age = np.asarray(T, dtype=np.float64)
    if not (x.shape == t_x.shape == age.shape):
        raise ValueError("frequency, recency and T must be of the same length")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > age):
        raise ValueError("need frequency >= 0 and 0 <= recency <= T for every member")
    return x, t_x, age


def log_likelihood_terms(
    r: float, alpha: float, a: float, b: float, x: Floats, t_x: Floats, T: Floats
) -> Floats:
    """Each member's log-likelihood (FHL 2005, eq. 6), in a form that does not overflow."""
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    # ln(a / (b + x - 1)) - (r + x) ln(alpha + t_x), only where x > 0 (b + x - 1 > 0 there)
    a4 = np.full_like(x, -np.inf)
    a4[repeat] = (
        np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    )
    result: Floats = a1 + a2 + np.logaddexp(a3, a4)
    return result


def log_likelihood(
    r: float,
    alpha: float,
    a: float,
    b: float,
    frequency: Sequence[float] | Floats,
    recency: Sequence[float] | Floats,
    T: Sequence[float] | Floats,
) -> float:
    """The log-likelihood of the members' (x, t_x, T) under the parameters."""
    x, t_x, age = _arrays(frequency, recency, T)
    return float(np.sum(log_likelihood_terms(r, alpha, a, b, x, t_x, age)))


def fit_bgnbd(
    frequency: Sequence[float] | Floats,
    recency: Sequence[float] | Floats,
    T: Sequence[float] | Floats,
) -> BgNbdFit:
    """Fit r, alpha, a, b by maximum likelihood.

    Members with the same (x, t_x, T) are counted once with a weight, which makes a fit on
    whole days fast at a chain's size; the search runs on the logarithms of the parameters
    (all four are positive) with L-BFGS-B, from a start that scales alpha to the data's ages.
    """
    x, t_x, age = _arrays(frequency, recency, T)
    if x.size == 0:
        raise ValueError("no members to fit")
    triples = np.stack([x, t_x, age], axis=1)
    unique, weights = np.unique(triples, axis=0, return_counts=True)
    ux, ut, uT = unique[:, 0], unique[:, 1], unique[:, 2]
    w = weights.astype(np.float64)
    n = float(w.sum())

    def negative(params: Floats) -> tuple[float, Floats]:
        value, gradient = _mean_and_gradient(np.exp(params), ux, ut, uT, w)
        if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
            return 1e300, np.zeros(4)
        # Minimise the negative mean; the search runs on log-parameters (chain rule: × p).
        return -value, -gradient * np.exp(params)

    scale = max(float(np.mean(age)), 1e-6)
    start = np.log(np.array([1.0, scale, 1.0, 1.0]))
    bounds = [(-12.0, 12.0)] * 4
    # Imported here: the optimiser is a quarter of a second of start-up that only the nightly
    # fit needs (the chat, the webhook and the CLI load this module too).
    from scipy.optimize import minimize

    found = minimize(negative, start, method="L-BFGS-B", jac=True, bounds=bounds)
    r, alpha, a, b = (float(v) for v in np.exp(found.x))
    return BgNbdFit(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        log_likelihood=-float(found.fun) * n,
        members=int(n),
        converged=bool(found.success),
    )


def _mean_and_gradient(
    params: Floats, x: Floats, t_x: Floats, T: Floats, w: Floats
) -> tuple[float, Floats]:
    """The weighted mean log-likelihood and its gradient in (r, alpha, a, b), analytically:
    a fit then costs one pass over the data per step instead of five."""
    r, alpha, a, b = (float(v) for v in params)
    n = float(w.sum())
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.full_like(x, -np.inf)
    a4[repeat] = (
        np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    )
    both = np.logaddexp(a3, a4)
    terms = (
        gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        + gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
        + both
    )
    w3 = np.exp(a3 - both)  # the share of the "still alive at T" branch
    w4 = 1.0 - w3
    inverse_b = np.zeros_like(x)
    inverse_b[repeat] = 1.0 / (b + x[repeat] - 1)
    d_r = (
        digamma(r + x) - digamma(r) + np.log(alpha)
        - w3 * np.log(alpha + T) - w4 * np.log(alpha + t_x)
    )
    d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + t_x)
    d_a = digamma(a + b) - digamma(a + b + x) + w4 / a
    d_b = digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x) - w4 * inverse_b
    # Weighted sums as (w * d).sum(): np.dot hands 1-D vectors to a threaded BLAS, which on a
    # busy machine spends more time waking threads than adding.
    gradient = np.array([float((w * d).sum()) for d in (d_r, d_alpha, d_a, d_b)]) / n
    return float((w * terms).sum()) / n, gradient


def p_alive(fit: BgNbdFit, frequency: Floats, recency: Floats, T: Floats) -> Floats:
    """P(still a customer) for each member (FHL 2005, eq. 11); 1 for a member with no repeat
    purchase, whom the model cannot yet have seen leave."""
    x, t_x, age = _arrays(frequency, recency, T)
    result: Floats = np.ones_like(x)
    repeat = x > 0
    xr = x[repeat]
    log_odds = (
        np.log(fit.a)
        - np.log(fit.b + xr - 1)
        + (fit.r + xr) * (np.log(fit.alpha + age[repeat]) - np.log(fit.alpha + t_x[repeat]))
    )
    result[repeat] = 1.0 / (1.0 + np.exp(log_odds))
    return result


def expected_purchases(
    fit: BgNbdFit, t: float, frequency: Floats, recency: Floats, T: Floats
) -> Floats:
    """Expected purchases in the next `t` time units for each member (FHL 2005, eq. 10).

    The formula needs a > 1; below that the expectation is unbounded in theory, and the
    figures are then capped at what a member alive throughout would buy at their mean rate.
    """
    x, t_x, age = _arrays(frequency, recency, T)
    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b
    alive = p_alive(fit, x, t_x, age)
    alive_rate = (r + x) / (alpha + age)  # the posterior mean purchase rate while alive
    if a <= 1:
        capped: Floats = alive * alive_rate * t
        return capped
    z = t / (alpha + age + t)
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
    first = (a + b + x - 1) / (a - 1)
    bracket = 1 - np.power((alpha + age) / (alpha + age + t), r + x) * hyp
    repeat = x > 0
    odds = np.zeros_like(x)
    odds[repeat] = np.exp(
        np.log(a)
        - np.log(b + x[repeat] - 1)
        + (r + x[repeat]) * (np.log(alpha + age[repeat]) - np.log(alpha + t_x[repeat]))
    )
    value = first * bracket / (1 + odds)
    bad = ~np.isfinite(value) | (value < 0)
    value[bad] = (alive * alive_rate * t)[bad]
    result: Floats = value
    return result
