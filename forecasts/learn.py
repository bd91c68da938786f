"""The learned corrections, pure numpy + scikit-learn (no Django).

Both models are pooled per community ("global" models, one fit for all its plants or all
its meters) on targets normalised per subject (kWh per kWp, consumption over the meter's
own recent level), so one fit serves 1,000 meters in a second while each subject keeps its
own scale, recent level and (for plants) recent performance ratio as features.

Production: target = measured / kWp on daylight intervals; features = clear-sky kWh/kWp,
local hour, season (day of year as sin/cos), the plant's performance ratio against clear
sky over the 3 days before the day before (`recent_pr`) and over its whole history.

Consumption: target = measured / level, level = the meter's mean over the 7 days that end
48 h before the interval (what is known when a 48 h forecast is issued); features = local
hour, weekday, holiday/Sunday, season, the same interval 48 h and 168 h earlier over level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

MAX_TRAIN_ROWS = 60_000
MIN_TRAIN_ROWS = 200
DEFAULT_CLEAR_SKY_RATIO = 0.7  # mean all-sky / clear-sky yield in Italy, PVGIS ~0.65-0.75


def _regressor(seed: int = 0) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(max_iter=120, learning_rate=0.08, min_samples_leaf=30,
                                         l2_regularization=1.0, random_state=seed)


def _serial():
    """One OpenMP thread for the trees' fit and predict. On a shared host (a Celery worker
    beside the web tier) the parallel histogram loops wait on busy cores: 2 to 20 times
    slower than one thread under load, same results (benchmarks/bench_forecast.py)."""
    return threadpool_limits(limits=1, user_api="openmp")


def _fit(x: np.ndarray, y: np.ndarray, seed: int) -> HistGradientBoostingRegressor:
    with _serial():
        return _regressor(seed).fit(x, y)


def _predict(model: HistGradientBoostingRegressor, x: np.ndarray) -> np.ndarray:
    with _serial():
        return model.predict(x)


def _subsample(mask: np.ndarray, seed: int) -> np.ndarray:
    rows = np.flatnonzero(mask)
    if len(rows) > MAX_TRAIN_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, MAX_TRAIN_ROWS, replace=False))
    return rows


def _season(doy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    angle = 2 * np.pi * doy / 365.25
    return np.sin(angle), np.cos(angle)


@dataclass
class Fit:
    """A fitted model (None: too little history) and the relative residuals of a held-out
    tail of the history (for the uncertainty band)."""

    model: HistGradientBoostingRegressor | None
    rel_residuals: np.ndarray


# --- production -------------------------------------------------------------------------

def daily_ratio(measured: np.ndarray, clear: np.ndarray, steps_per_day: int) -> np.ndarray:
    """(n, days) measured / clear-sky energy per whole day (NaN without data)."""
    n, t = measured.shape
    days = t // steps_per_day
    m = measured[:, : days * steps_per_day].reshape(n, days, steps_per_day)
    c = clear[:, : days * steps_per_day].reshape(n, days, steps_per_day)
    ok = ~np.isnan(m)
    msum = np.where(ok, m, 0.0).sum(axis=2)
    csum = np.where(ok, c, 0.0).sum(axis=2)
    cover = ok.sum(axis=2) >= 0.8 * steps_per_day
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cover & (csum > 0), msum / csum, np.nan)


def _trailing_mean(ratios: np.ndarray, lag_days: int, span: int) -> np.ndarray:
    """For each day d, the mean of ratios[d - lag_days - span + 1 .. d - lag_days] (NaN-aware)."""
    n, days = ratios.shape
    out = np.full((n, days), np.nan)
    for d in range(days):
        hi = d - lag_days + 1
        lo = max(0, hi - span)
        if hi > lo:
            window = ratios[:, lo:hi]
            with np.errstate(all="ignore"):
                cnt = (~np.isnan(window)).sum(axis=1)
                out[:, d] = np.where(cnt > 0, np.nansum(window, axis=1) / np.maximum(cnt, 1), np.nan)
    return out


def production_features(clear_per_kwp, hour, doy, recent_pr, long_pr) -> np.ndarray:
    s, c = _season(doy)
    return np.column_stack([clear_per_kwp, hour, s, c, recent_pr, long_pr])


def fit_production(*, clear_per_kwp: np.ndarray, measured_per_kwp: np.ndarray, hour: np.ndarray,
                   doy: np.ndarray, steps_per_day: int, holdout_days: int = 2, seed: int = 0
                   ) -> tuple[Fit, np.ndarray, np.ndarray]:
    """Fit the pooled production model on (plants, T) history arrays that start at a local
    midnight. Returns (fit, recent_pr per plant for the next days, long_pr per plant)."""
    n, t = measured_per_kwp.shape
    days = t // steps_per_day
    ratios = daily_ratio(measured_per_kwp, clear_per_kwp, steps_per_day)
    recent = _trailing_mean(ratios, lag_days=2, span=3)
    with np.errstate(all="ignore"):
        long_pr = np.nanmean(ratios, axis=1) if days else np.full(n, np.nan)
    long_pr = np.where(np.isnan(long_pr), DEFAULT_CLEAR_SKY_RATIO, long_pr)
    recent = np.where(np.isnan(recent), long_pr[:, None], recent)
    # for the coming days: the mean of the last 3 whole days
    last = ratios[:, -3:] if days else np.full((n, 1), np.nan)
    with np.errstate(all="ignore"):
        next_pr = np.where(np.isnan(last).all(axis=1), long_pr, np.nanmean(last, axis=1))

    tt = days * steps_per_day
    rec_steps = np.repeat(recent, steps_per_day, axis=1)
    cs, me = clear_per_kwp[:, :tt], measured_per_kwp[:, :tt]
    usable = (cs > 0) & ~np.isnan(me) & ~np.isnan(rec_steps)
    train_end = max(0, tt - holdout_days * steps_per_day)
    in_train = np.zeros_like(usable)
    in_train[:, :train_end] = True
    rows = _subsample(usable & in_train, seed)
    hold = np.flatnonzero(usable & ~in_train)
    if len(rows) < MIN_TRAIN_ROWS:
        return Fit(None, np.array([])), next_pr, long_pr

    def x_of(flat):
        i, j = np.unravel_index(flat, cs.shape)
        return production_features(cs[i, j], hour[j], doy[j], rec_steps[i, j], long_pr[i])

    model = _fit(x_of(rows), me.ravel()[rows], seed)
    residuals = np.array([])
    if len(hold):
        pred = np.clip(_predict(model, x_of(hold)), 0.0, None)
        residuals = _community_rel_residuals(hold, cs.shape, pred, me.ravel()[hold])
    return Fit(model, residuals), next_pr, long_pr


def _community_rel_residuals(flat, shape, pred, actual) -> np.ndarray:
    """(actual - predicted) / predicted of the community's sum per interval."""
    _, j = np.unravel_index(flat, shape)
    psum = np.bincount(j, weights=pred, minlength=shape[1])
    asum = np.bincount(j, weights=actual, minlength=shape[1])
    keep = psum > 1e-6
    return (asum[keep] - psum[keep]) / psum[keep]


def predict_production(fit: Fit, *, clear_per_kwp: np.ndarray, hour: np.ndarray, doy: np.ndarray,
                       next_pr: np.ndarray, long_pr: np.ndarray) -> np.ndarray:
    """(plants, H) kWh per kWp; clear-sky x recent ratio when no model could be fitted."""
    n, h = clear_per_kwp.shape
    if fit.model is None:
        return clear_per_kwp * next_pr[:, None]
    i, j = np.meshgrid(np.arange(n), np.arange(h), indexing="ij")
    x = production_features(clear_per_kwp.ravel(), hour[j.ravel()], doy[j.ravel()],
                            next_pr[i.ravel()], long_pr[i.ravel()])
    out = np.clip(_predict(fit.model, x), 0.0, None).reshape(n, h)
    return np.where(clear_per_kwp > 0, np.minimum(out, clear_per_kwp * 1.1), 0.0)


# --- consumption ------------------------------------------------------------------------

def _levels(history: np.ndarray, lag: int, span: int) -> np.ndarray:
    """(n, T) mean of history[:, t - lag - span : t - lag] (NaN where none)."""
    n, t = history.shape
    ok = ~np.isnan(history)
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(np.where(ok, history, 0.0), axis=1)], axis=1)
    ccnt = np.concatenate([np.zeros((n, 1)), np.cumsum(ok, axis=1)], axis=1)
    hi = np.clip(np.arange(t) - lag, 0, t)
    lo = np.clip(hi - span, 0, t)
    total, count = csum[:, hi] - csum[:, lo], ccnt[:, hi] - ccnt[:, lo]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count >= span // 2, total / count, np.nan)


def consumption_features(hour, dow, holiday, doy, lag_short, lag_week) -> np.ndarray:
    s, c = _season(doy)
    return np.column_stack([hour, dow, holiday, s, c, lag_short, lag_week])


def _lagged(a: np.ndarray, k: int) -> np.ndarray:
    out = np.full_like(a, np.nan)
    if k < a.shape[1]:
        out[:, k:] = a[:, :-k]
    return out


def fit_consumption(*, history: np.ndarray, hour, dow, holiday, doy, steps_per_day: int,
                    holdout_days: int = 2, seed: int = 0) -> Fit:
    """Pooled fit on (meters, T) history; calendar arrays have length T."""
    t = history.shape[1]
    week, lag = 7 * steps_per_day, 2 * steps_per_day
    level = _levels(history, lag, week)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = history / level
        short = _lagged(history, lag) / level
        weekly = _lagged(history, week) / level
    usable = ~np.isnan(y) & ~np.isnan(short) & ~np.isnan(weekly) & (level > 1e-6)
    train_end = max(0, t - holdout_days * steps_per_day)
    in_train = np.zeros_like(usable)
    in_train[:, :train_end] = True
    rows = _subsample(usable & in_train, seed)
    if len(rows) < MIN_TRAIN_ROWS:
        return Fit(None, np.array([]))

    def x_of(flat):
        i, j = np.unravel_index(flat, y.shape)
        return consumption_features(hour[j], dow[j], holiday[j], doy[j], short[i, j], weekly[i, j])

    model = _fit(x_of(rows), y.ravel()[rows], seed)
    hold = np.flatnonzero(usable & ~in_train)
    residuals = np.array([])
    if len(hold):
        pred = np.clip(_predict(model, x_of(hold)), 0.0, None) * level.ravel()[hold]
        residuals = _community_rel_residuals(hold, y.shape, pred, history.ravel()[hold])
    return Fit(model, residuals)


def predict_consumption(fit: Fit, *, history: np.ndarray, hour, dow, holiday, doy,
                        steps_per_day: int) -> np.ndarray:
    """(meters, H) kWh for the H intervals that follow `history` (H <= 2 days). Rows the
    model cannot serve (no model, no recent level) are NaN: the caller falls back."""
    n, t = history.shape
    h = len(hour)
    week, lag = 7 * steps_per_day, 2 * steps_per_day
    if fit.model is None or h > lag:
        return np.full((n, h), np.nan)
    ok = ~np.isnan(history[:, -week:])
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.where(ok.sum(axis=1) >= week // 2,
                         np.nansum(history[:, -week:], axis=1) / ok.sum(axis=1), np.nan)
    j = np.arange(h)
    short = history[:, t - lag + j] / level[:, None]
    weekly = history[:, t - week + j] / level[:, None]
    _, j_idx = np.meshgrid(np.arange(n), j, indexing="ij")
    x = consumption_features(hour[j_idx.ravel()], dow[j_idx.ravel()], holiday[j_idx.ravel()],
                             doy[j_idx.ravel()], short.ravel(), weekly.ravel())
    pred = np.clip(_predict(fit.model, x), 0.0, None).reshape(n, h) * level[:, None]
    # a missing lag (gap in the meter's data) is handled by the trees; a missing level is not
    return np.where(np.isnan(level)[:, None], np.nan, pred)


def band(values: np.ndarray, rel_residuals: np.ndarray, q: tuple[float, float] = (0.1, 0.9)
         ) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper edges: values x (1 + residual quantile); +/-30 % without residuals."""
    if len(rel_residuals) >= 10:
        lo_q, hi_q = np.quantile(np.clip(rel_residuals, -1.0, 3.0), q)
    else:
        lo_q, hi_q = -0.3, 0.3
    low = np.clip(values * (1 + min(lo_q, 0.0)), 0.0, None)
    return low, np.clip(values * (1 + max(hi_q, 0.0)), 0.0, None)


# --- scoring ----------------------------------------------------------------------------

def mae(forecast: np.ndarray, measured: np.ndarray) -> tuple[float | None, int]:
    """Mean absolute error over the intervals where both exist, and their count."""
    ok = ~np.isnan(forecast) & ~np.isnan(measured)
    n = int(ok.sum())
    if n == 0:
        return None, 0
    return float(np.abs(forecast[ok] - measured[ok]).mean()), n


def skill(mae_forecast: float | None, mae_persistence: float | None) -> float | None:
    """1 - MAE / MAE_persistence (1 perfect, 0 as good as persistence, < 0 worse)."""
    if mae_forecast is None or not mae_persistence:
        return None
    return 1.0 - mae_forecast / mae_persistence
