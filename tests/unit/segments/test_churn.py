"""The BG/NBD churn model: its likelihood by hand, recovering known parameters, its figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from domain.segments.churn import BgNbdFit, expected_purchases, fit_bgnbd, log_likelihood, p_alive

TRUE = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}  # in weeks, like the CDNOW fit


def simulate(n: int, r: float, alpha: float, a: float, b: float, seed: int) -> tuple[
    np.ndarray, np.ndarray, np.ndarray
]:
    """Customers drawn from the BG/NBD story: a gamma purchase rate, a beta chance of leaving
    after each repeat purchase, watched for 26 to 78 weeks since their first purchase."""
    rng = np.random.default_rng(seed)
    rates = rng.gamma(r, 1 / alpha, n)
    leave = rng.beta(a, b, n)
    ages = rng.uniform(26, 78, n).round()
    x = np.zeros(n)
    t_x = np.zeros(n)
    for i in range(n):
        t = 0.0
        for _ in range(10_000):  # bounded: a customer buys at most this many times
            t += rng.exponential(1 / rates[i])
            if t > ages[i]:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < leave[i]:
                break
    return x, t_x, ages


def test_log_likelihood_of_two_customers_matches_the_hand_computation() -> None:
    # r = alpha = a = b = 1. One repeat purchase at 1 of age 2:
    #   Γ(2)/Γ(1) · 1 · B(1,2)/B(1,1) · [3^-2 + 1/(1+1-1) · 2^-2] = 1/2 · (1/9 + 1/4) = 13/72
    # No repeat purchase, age 2: 1 · 1 · 3^-1 = 1/3
    found = log_likelihood(1, 1, 1, 1, [1, 0], [1, 0], [2, 2])
    assert found == pytest.approx(math.log(13 / 72) + math.log(1 / 3), rel=1e-12)


def test_log_likelihood_with_uneven_parameters_matches_the_hand_computation() -> None:
    # r=2, alpha=3, a=0.5, b=1.5; x=2 at t_x=4, T=6:
    #   Γ(4)/Γ(2) · 3^2 = 54;  B(0.5, 3.5)/B(0.5, 1.5) = Γ(3.5)Γ(2)/(Γ(1.5)Γ(4)) = 3.75/6
    #   bracket = 9^-4 + (0.5/2.5) · 7^-4
    expected = 54 * (3.75 / 6) * (1 / 9**4 + 0.2 / 7**4)
    assert log_likelihood(2, 3, 0.5, 1.5, [2], [4], [6]) == pytest.approx(
        math.log(expected), rel=1e-12
    )


def test_fitting_customers_simulated_with_known_parameters_recovers_them() -> None:
    x, t_x, ages = simulate(4000, **TRUE, seed=7)
    fit = fit_bgnbd(x, t_x, ages)
    assert fit.converged
    assert fit.r == pytest.approx(TRUE["r"], rel=0.15)
    assert fit.alpha == pytest.approx(TRUE["alpha"], rel=0.2)
    assert fit.a == pytest.approx(TRUE["a"], rel=0.3)
    assert fit.b == pytest.approx(TRUE["b"], rel=0.3)
    # The maximum is a maximum: the true parameters explain the data no better.
    assert fit.log_likelihood >= log_likelihood(*TRUE.values(), x, t_x, ages)
    assert fit.log_likelihood == pytest.approx(
        log_likelihood(fit.r, fit.alpha, fit.a, fit.b, x, t_x, ages)
    )


def test_a_member_who_stopped_coming_back_is_less_likely_alive_than_a_regular() -> None:
    fit = BgNbdFit(r=0.25, alpha=4.0, a=0.8, b=2.5, log_likelihood=0.0, members=0,
                   converged=True)
    x = np.array([10.0, 10.0, 0.0])
    t_x = np.array([50.0, 10.0, 0.0])  # the second bought ten times, then nothing for 40 weeks
    ages = np.array([52.0, 52.0, 52.0])
    alive = p_alive(fit, x, t_x, ages)
    assert alive[0] > 0.9 > 0.1 > alive[1]
    assert alive[2] == 1.0  # no repeat purchase: the model has not seen them leave
    expected = expected_purchases(fit, 13, x, t_x, ages)
    assert np.all(expected >= 0)
    assert expected[0] > expected[1]


def test_bad_input_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="recency <= T"):
        fit_bgnbd([1], [5], [4])
    with pytest.raises(ValueError, match="same length"):
        log_likelihood(1, 1, 1, 1, [1, 2], [1], [2])
