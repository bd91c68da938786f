"""The community's expected shared energy from its production and consumption forecasts and
their uncertainty, pure numpy + scipy (no Django).

DOMAIN.md: shared = min(injected, withdrawn) per interval. With the production P and the
consumption C uncertain, min(E[P], E[C]) overestimates what is expected, E[min(P, C)] <=
min(E[P], E[C]) (the minimum is concave), most where P and C are close: in the mornings and
evenings, and all day in winter. With P ~ N(mu_P, s_P) and C ~ N(mu_C, s_C) independent
(production errors are the sky's, consumption errors the members'), D = P - C ~ N(mu, s),
mu = mu_P - mu_C, s^2 = s_P^2 + s_C^2, and min(P, C) = P - max(D, 0):

    E[min(P, C)] = mu_P - (mu Phi(mu / s) + s phi(mu / s))

(the expected positive part of a normal variable), clipped at 0. Its band is the 10 and 90 %
quantiles of min(P, C) under the same model: P(min(P, C) > x) = P(P > x) P(C > x).

The standard deviations come from the 10-90 % bands `learn.band` draws from the models'
hold-out residuals: s = (high - low) / (2 x 1.2816), the width of a normal 10-90 % band.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

Z90 = float(ndtri(0.9))  # 1.2816: a normal 10-90 % band is 2 x Z90 standard deviations wide


def sd_from_band(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Standard deviation per interval of a normal variable whose 10-90 % band is [low, high]."""
    return np.clip((np.asarray(high, dtype=float) - np.asarray(low, dtype=float)) / (2 * Z90), 0.0, None)


def expected_minimum(mean_a: np.ndarray, sd_a: np.ndarray, mean_b: np.ndarray, sd_b: np.ndarray
                     ) -> np.ndarray:
    """E[min(A, B)] per interval for independent normal A, B, clipped at 0 (kWh in, kWh out).
    Where both are certain (sd 0), min(mean_a, mean_b)."""
    mean_a, mean_b = np.asarray(mean_a, dtype=float), np.asarray(mean_b, dtype=float)
    mu = mean_a - mean_b
    s = np.hypot(sd_a, sd_b)
    certain = s <= 1e-12
    z = np.where(certain, 0.0, mu / np.where(certain, 1.0, s))
    positive_part = mu * ndtr(z) + s * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    out = np.where(certain, np.minimum(mean_a, mean_b), mean_a - positive_part)
    return np.clip(out, 0.0, None)


def minimum_quantile(q: float, mean_a: np.ndarray, sd_a: np.ndarray, mean_b: np.ndarray,
                     sd_b: np.ndarray, iterations: int = 60) -> np.ndarray:
    """The q quantile of min(A, B) per interval for independent normal A, B, clipped at 0:
    the x where P(A > x) P(B > x) = 1 - q (bisection, every interval at once)."""
    mean_a, mean_b = np.asarray(mean_a, dtype=float), np.asarray(mean_b, dtype=float)
    sd_a, sd_b = np.asarray(sd_a, dtype=float), np.asarray(sd_b, dtype=float)

    def survival(mean, sd, x):
        certain = sd <= 1e-12
        return np.where(certain, (x < mean).astype(float),
                        ndtr((mean - x) / np.where(certain, 1.0, sd)))

    # min(A, B) <= the smaller of A's and B's own q quantiles; above the q quantile of the
    # smaller mean's variable minus a few of the larger deviations
    spread = np.maximum(sd_a, sd_b)
    lo = np.minimum(mean_a, mean_b) - 8.0 * spread - 1e-9
    hi = np.minimum(mean_a + ndtri(q) * sd_a, mean_b + ndtri(q) * sd_b) + 1e-9
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        below = survival(mean_a, sd_a, mid) * survival(mean_b, sd_b, mid) > 1.0 - q  # mid < quantile
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return np.clip(0.5 * (lo + hi), 0.0, None)


def shared_forecast(production: np.ndarray, production_band: tuple[np.ndarray, np.ndarray],
                    consumption: np.ndarray, consumption_band: tuple[np.ndarray, np.ndarray],
                    q: tuple[float, float] = (0.1, 0.9)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(expected shared energy, its low and high band edges) per interval (kWh)."""
    sd_p, sd_c = sd_from_band(*production_band), sd_from_band(*consumption_band)
    expected = expected_minimum(production, sd_p, consumption, sd_c)
    low = minimum_quantile(q[0], production, sd_p, consumption, sd_c)
    high = minimum_quantile(q[1], production, sd_p, consumption, sd_c)
    return expected, np.minimum(low, expected), np.maximum(high, expected)
