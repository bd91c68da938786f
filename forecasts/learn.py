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
SEASON_MIN_DAYS = 365
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


def _season_doy(doy: np.ndarray, history_days: int) -> np.ndarray:
    """The day of year as a feature only with a year of history: over weeks of it a day of
    year names each past day, and the trees learn that day's weather or noise instead of a
    season (then the clear sky, the recent level and the calendar carry the season)."""
    return doy if history_days >= SEASON_MIN_DAYS else np.zeros_like(doy)


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


def _time_of_day_ratio(measured: np.ndarray, clear: np.ndarray, steps_per_day: int,
                       long_pr: np.ndarray) -> np.ndarray:
    """(n, steps_per_day) the plant's own measured / clear-sky ratio at each time of day over
    its history (a tree shading the mornings, a wall the evenings), shrunk towards its mean
    ratio where the clear sky gives little energy at that time."""
    n, t = measured.shape
    days = t // steps_per_day
    m = measured[:, : days * steps_per_day].reshape(n, days, steps_per_day)
    c = clear[:, : days * steps_per_day].reshape(n, days, steps_per_day)
    ok = ~np.isnan(m)
    msum = np.where(ok, m, 0.0).sum(axis=1)
    csum = np.where(ok, c, 0.0).sum(axis=1)
    prior = 0.05 * csum.max(axis=1, initial=0.0)[:, None] + 1e-9  # a few days' worth at the weakest hours
    return (msum + prior * long_pr[:, None]) / (csum + prior)


def _day_weights(ratios: np.ndarray, long_pr: np.ndarray, max_lag: int = 4) -> np.ndarray:
    """w[L] (L = 0..max_lag): how much of a day's departure from the plant's mean ratio is
    still there L days later, the autocorrelation of the plant's daily ratios (pooled over
    the community's plants, clipped to 0..0.9; 0 with fewer than 10 pairs of days). The
    level expected for a day L days after the last measured one is mean + w[L] x departure:
    persistence takes w = 1, which is right only when the weather lasts."""
    dev = ratios - long_pr[:, None]
    w = np.zeros(max_lag + 1)
    ok = ~np.isnan(dev)
    var = np.nansum(dev ** 2) / max(ok.sum(), 1)
    for lag in range(1, max_lag + 1):
        a, b = dev[:, lag:], dev[:, :-lag]
        both = ~np.isnan(a) & ~np.isnan(b)
        if both.sum() >= 10 and var > 0:
            w[lag] = float(np.clip((a[both] * b[both]).mean() / var, 0.0, 0.9))
    return w


def production_features(clear_per_kwp, hour, doy, own_ratio, long_pr) -> np.ndarray:
    s, c = _season(doy)
    return np.column_stack([clear_per_kwp, hour, s, c, own_ratio, long_pr])


@dataclass
class ProductionFit(Fit):
    """The trees (on production over the day's own ratio: the weather of a day is the level's
    business, not theirs), each plant's ratio by time of day, its mean ratio, its last
    measured day's ratio and the weights of that day by lag (`_day_weights`)."""

    own_ratio: np.ndarray | None = None  # (plants, steps_per_day)
    long_pr: np.ndarray | None = None
    last_pr: np.ndarray | None = None
    weights: np.ndarray | None = None
    phase: int = 0  # position in the day of the first step after the history
    steps_per_day: int = 24
    seasonal: bool = False

    def level(self, h: int) -> np.ndarray:
        """(plants, h) the ratio expected at each of the next h steps."""
        j = np.arange(h)
        lag = np.minimum((self.phase + j) // self.steps_per_day + 1, len(self.weights) - 1)
        w = self.weights[lag][None, :]
        return self.long_pr[:, None] + w * (self.last_pr - self.long_pr)[:, None]


def fit_production(*, clear_per_kwp: np.ndarray, measured_per_kwp: np.ndarray, hour: np.ndarray,
                   doy: np.ndarray, steps_per_day: int, holdout_days: int = 2, seed: int = 0
                   ) -> tuple[ProductionFit, np.ndarray, np.ndarray]:
    """Fit the pooled production model on (plants, T) history arrays that start at a
    midnight. Returns (fit, the ratio expected for the next day per plant, long_pr per plant).

    Forecast = clear sky x the plant's own shape (trees on clear-sky kWh/kWp, hour, the
    plant's ratio at that time of day, its mean ratio; season only with a year of history:
    with weeks of it a day of year names each past day and the trees learn its weather)
    x the level expected for the day: the plant's mean ratio plus the weight of its last
    measured day's departure from it at that lag (`_day_weights`, estimated on its history).
    Without enough history for the trees: clear sky x ratio by time of day x that level."""
    n, t = measured_per_kwp.shape
    days = t // steps_per_day
    ratios = daily_ratio(measured_per_kwp, clear_per_kwp, steps_per_day)
    with np.errstate(all="ignore"):
        long_pr = np.nanmean(ratios, axis=1) if days else np.full(n, np.nan)
    long_pr = np.where(np.isnan(long_pr), DEFAULT_CLEAR_SKY_RATIO, long_pr)
    seen = ~np.isnan(ratios)
    last_idx = np.where(seen.any(axis=1), days - 1 - np.argmax(seen[:, ::-1], axis=1), -1) if days else \
        np.full(n, -1)
    last_pr = np.where(last_idx >= 0, ratios[np.arange(n), np.maximum(last_idx, 0)] if days else long_pr,
                       long_pr)
    weights = _day_weights(ratios, long_pr) if days else np.zeros(5)
    # the last measured day is usually the day before the partial one the history ends in
    behind = np.where(last_idx >= 0, days - 1 - last_idx, 0)
    shift = int(np.median(behind)) if n else 0
    weights = np.concatenate([weights[min(shift, len(weights) - 1):], np.repeat(weights[-1:], shift)])
    own = _time_of_day_ratio(measured_per_kwp, clear_per_kwp, steps_per_day, long_pr)
    base = ProductionFit(None, np.array([]), own_ratio=own, long_pr=long_pr, last_pr=last_pr, weights=weights,
                         phase=t % steps_per_day + (t // steps_per_day - days) * steps_per_day,
                         steps_per_day=steps_per_day, seasonal=days >= SEASON_MIN_DAYS)
    next_pr = base.level(steps_per_day * 2)[:, -1]

    tt = days * steps_per_day
    day_pr = np.repeat(ratios, steps_per_day, axis=1)
    pos = np.arange(tt) % steps_per_day
    cs, me = clear_per_kwp[:, :tt], measured_per_kwp[:, :tt]
    with np.errstate(divide="ignore", invalid="ignore"):
        y = me / day_pr
    usable = (cs > 0) & ~np.isnan(y) & (day_pr > 0.05)
    train_end = max(0, tt - holdout_days * steps_per_day)
    in_train = np.zeros_like(usable)
    in_train[:, :train_end] = True
    rows = _subsample(usable & in_train, seed)
    hold = np.flatnonzero(usable & ~in_train)
    if len(rows) < MIN_TRAIN_ROWS:
        return base, next_pr, long_pr
    season_doy = doy if base.seasonal else np.zeros_like(doy)

    def x_of(flat):
        i, j = np.unravel_index(flat, cs.shape)
        return production_features(cs[i, j], hour[j], season_doy[j], own[i, pos[j]], long_pr[i])

    base.model = _fit(x_of(rows), y.ravel()[rows], seed)
    if len(hold):
        # the hold-out as forecast: the trees' shape x the level known two days before
        i, j = np.unravel_index(hold, cs.shape)
        before = ratios[i, np.maximum(j // steps_per_day - 2, 0)]
        before = np.where(np.isnan(before), long_pr[i], before)
        level = long_pr[i] + _day_weights(ratios, long_pr)[2] * (before - long_pr[i])
        pred = np.clip(_predict(base.model, x_of(hold)), 0.0, None) * level
        base.rel_residuals = _community_rel_residuals(hold, cs.shape, pred, me.ravel()[hold])
    return base, next_pr, long_pr


def _community_rel_residuals(flat, shape, pred, actual) -> np.ndarray:
    """(actual - predicted) / predicted of the community's sum per interval."""
    _, j = np.unravel_index(flat, shape)
    psum = np.bincount(j, weights=pred, minlength=shape[1])
    asum = np.bincount(j, weights=actual, minlength=shape[1])
    keep = psum > 1e-6
    return (asum[keep] - psum[keep]) / psum[keep]


def predict_production(fit: ProductionFit, *, clear_per_kwp: np.ndarray, hour: np.ndarray, doy: np.ndarray,
                       next_pr: np.ndarray, long_pr: np.ndarray) -> np.ndarray:
    """(plants, H) kWh per kWp: the trees' shape (or, without them, the plant's ratio by time
    of day) x the level expected for each step's day (`ProductionFit.level`)."""
    n, h = clear_per_kwp.shape
    level = fit.level(h)
    pos = (fit.phase + np.arange(h)) % fit.steps_per_day
    if fit.model is None:
        out = clear_per_kwp * fit.own_ratio[:, pos] / fit.long_pr[:, None] * level
    else:
        i, j = np.meshgrid(np.arange(n), np.arange(h), indexing="ij")
        season_doy = doy if fit.seasonal else np.zeros_like(doy)
        x = production_features(clear_per_kwp.ravel(), hour[j.ravel()], season_doy[j.ravel()],
                                fit.own_ratio[i.ravel(), pos[j.ravel()]], fit.long_pr[i.ravel()])
        out = np.clip(_predict(fit.model, x), 0.0, None).reshape(n, h) * level
    return np.where(clear_per_kwp > 0, np.clip(out, 0.0, clear_per_kwp * 1.1), 0.0)


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
    doy = _season_doy(doy, t // steps_per_day)

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
    doy = _season_doy(doy, t // steps_per_day)
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
