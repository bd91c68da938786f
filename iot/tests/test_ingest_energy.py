"""Interval energy from cumulative counters: property tests (hypothesis) and examples."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iot.ingest.energy import interval_energy

T0 = datetime(2026, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=15)

increments = st.lists(st.floats(min_value=0, max_value=50, allow_nan=False), min_size=1, max_size=60)
spacings = st.lists(st.integers(min_value=1, max_value=6), min_size=60, max_size=60)


def counter(incs, steps, start=1000.0):
    ts, value, series = T0, start, [(T0, start)]
    for inc, k in zip(incs, steps, strict=False):
        ts += STEP * k
        value += inc
        series.append((ts, value))
    return series


@given(incs=increments, steps=spacings)
def test_it_conserves_energy_without_resets(incs, steps):
    series = counter(incs, steps)
    rows = interval_energy(series, STEP)

    assert len(rows) == len(series) - 1
    assert sum(r.energy_kwh for r in rows) == pytest.approx(series[-1][1] - series[0][1], abs=1e-6)
    assert all(r.energy_kwh >= 0 and not r.reset for r in rows)


@given(incs=increments, steps=spacings)
def test_it_flags_exactly_the_gaps(incs, steps):
    rows = interval_energy(counter(incs, steps), STEP)
    assert [r.gap for r in rows] == [k > 1 for k in steps[: len(rows)]]
    assert all(r.end > r.start for r in rows)


@given(incs=increments, steps=spacings, seed=st.integers(0, 2**32))
def test_it_does_not_depend_on_input_order(incs, steps, seed):
    series = counter(incs, steps)
    shuffled = series[:]
    random.Random(seed).shuffle(shuffled)
    assert interval_energy(shuffled, STEP) == interval_energy(series, STEP)


@given(before=increments, after=increments, restart=st.floats(min_value=0, max_value=5))
def test_it_counts_from_zero_after_a_reset(before, after, restart):
    first = counter(before, [1] * len(before))
    ts = first[-1][0] + STEP
    second = counter(after, [1] * len(after), start=restart)
    second = [(ts + (t - T0), v) for t, v in second]  # the register restarts below 1000
    rows = interval_energy(first + second, STEP)

    resets = [r for r in rows if r.reset]
    assert len(resets) == 1 and resets[0].energy_kwh == restart
    expected = (first[-1][1] - first[0][1]) + second[-1][1]
    assert sum(r.energy_kwh for r in rows) == pytest.approx(expected, abs=1e-6)
    assert all(r.energy_kwh >= 0 for r in rows)


@given(incs=increments, drop=st.floats(min_value=1e-9, max_value=0.1))
def test_a_small_drop_is_noise_never_a_reset(incs, drop):
    # a register read at another precision (1817.98605, then 1817.986 from a device rounding
    # to Wh) or a stale value: the interval counts 0, never the whole register
    series = counter(incs, [1] * len(incs))
    last_ts, last = series[-1]
    lower = last * (1 - drop)
    series += [(last_ts + STEP, lower), (last_ts + 2 * STEP, lower + 1.5)]
    rows = interval_energy(series, STEP)

    assert not any(r.reset for r in rows)
    assert rows[-2].energy_kwh == 0 and rows[-1].energy_kwh == pytest.approx(1.5)
    assert sum(r.energy_kwh for r in rows) == pytest.approx(last - series[0][1] + 1.5, abs=1e-6)


def test_the_demos_rounding_is_not_a_reset_and_a_real_one_is():
    series = [(T0, 1817.98605), (T0 + STEP, 1817.986), (T0 + 2 * STEP, 1818.5),
              (T0 + 3 * STEP, 12.0)]  # then the meter is replaced: 12 kWh on the new register
    rows = interval_energy(series, STEP)
    assert [r.reset for r in rows] == [False, False, True]
    assert [r.energy_kwh for r in rows] == [0, pytest.approx(0.514), 12.0]


def test_it_reports_a_gap_once_and_never_interpolates():
    series = [(T0, 10.0), (T0 + STEP, 11.0), (T0 + 5 * STEP, 15.0), (T0 + 6 * STEP, 15.5)]
    rows = interval_energy(series, STEP)

    assert [(r.start, r.end, r.energy_kwh, r.gap) for r in rows] == [
        (T0, T0 + STEP, 1.0, False),
        (T0 + STEP, T0 + 5 * STEP, 4.0, True),
        (T0 + 5 * STEP, T0 + 6 * STEP, 0.5, False),
    ]


def test_it_keeps_the_last_value_of_a_repeated_timestamp_and_needs_two_points():
    assert interval_energy([(T0, 1.0)], STEP) == []
    rows = interval_energy([(T0, 1.0), (T0 + STEP, 2.0), (T0 + STEP, 3.0)], STEP)
    assert [r.energy_kwh for r in rows] == [2.0]
    with pytest.raises(ValueError, match="positive"):
        interval_energy([], timedelta(0))
