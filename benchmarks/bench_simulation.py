"""Simulation engine at community scale: 50 members, 10 plants, 5 batteries, one year.

Each case runs in its own subprocess so its peak memory (ru_maxrss) is its own:
- hourly (8,760 steps), optimal dispatch in weekly rolling windows (the default);
- 15-minute (35,040 steps), the same;
- hourly over the whole year as ONE LP (no windows), to show what the windows save.
Model building and solver time are reported apart (lp_build_s, lp_solve_s). Goal: < 20 s.
"""

import json
import os
import resource
import subprocess
import sys
import time

CASES = {
    "hourly_weekly_windows": {"freq": "1h", "window_days": 7},
    "quarter_hour_weekly_windows": {"freq": "15min", "window_days": 7},
    "hourly_whole_year_one_lp": {"freq": "1h", "window_days": 366},
}


def scenario(freq: str, window_days: int):
    import numpy as np
    import pandas as pd

    from energy_rules.it_cacer import DEFAULT_IT_PARAMS
    from simulation.engine.inputs import (
        BatteryInput,
        Economics,
        MemberInput,
        PlantInput,
        SimulationInput,
        Statute,
        Tariffs,
    )
    from simulation.physics import BatterySpec

    rng = np.random.default_rng(2025)
    index = pd.date_range(
        "2025-01-01", "2026-01-01", freq=freq, tz="Europe/Rome", inclusive="left"
    ).tz_convert("UTC")
    profiles = ["H0"] * 6 + ["G0", "G1", "G4", "L0"]
    members = [
        MemberInput(
            key=f"m{i}",
            name=f"Member {i}",
            profile=profiles[i % len(profiles)],
            annual_kwh=float(rng.uniform(1800, 9000)),
        )
        for i in range(50)
    ]
    plants = [
        PlantInput(
            key=f"p{i}",
            member_key=f"m{i * 5}",
            lat=44.40 + 0.02 * (i % 5),
            lon=11.30 + 0.02 * (i // 5),
            kwp=float(rng.uniform(6, 120)),
            tilt_deg=float(rng.uniform(10, 35)),
            azimuth_deg=float(rng.uniform(150, 210)),
            geo_zone="north",
        )
        for i in range(10)
    ]
    batteries = [
        BatteryInput(
            key=f"b{i}",
            member_key=f"m{i * 10}",
            spec=BatterySpec(capacity_kwh=float(rng.uniform(10, 60)), power_kw=float(rng.uniform(5, 25))),
        )
        for i in range(5)
    ]
    return SimulationInput(
        index=index,
        time_zone="Europe/Rome",
        regime="it_cer",
        regime_params=DEFAULT_IT_PARAMS,
        members=members,
        plants=plants,
        batteries=batteries,
        tariffs=Tariffs(),
        economics=Economics(),
        statute=Statute(),
        seed=11,
        window_days=window_days,
        time_limit_s=600,
    )


def _child(case: str) -> dict:
    from simulation.engine.run import simulate

    inp = scenario(**CASES[case])
    started = time.perf_counter()
    out = simulate(inp)
    wall = time.perf_counter() - started
    s = out.summary
    return {
        "steps": len(inp.index),
        "wall_s": round(wall, 2),
        "profiles_s": s["timings"]["profiles_s"],
        "lp_build_s": s["timings"]["lp_build_s"],
        "lp_solve_s": s["timings"]["lp_solve_s"],
        "lp_windows": s["solver"]["windows"],
        "solver": s["solver"]["name"],
        "solver_status": s["solver"]["status"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "shared_mwh": round(s["total"]["shared_kwh"] / 1000, 1),
        "optimal_minus_baseline_eur": s["difference"]["objective_eur"],
        "goal_under_20_s": wall < 20,
    }


def run() -> dict:
    results = {}
    for case in CASES:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_simulation", case],
            capture_output=True,
            text=True,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
            check=False,
            timeout=1800,
        )
        if proc.returncode != 0:
            results[case] = {"error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
            continue
        results[case] = json.loads(proc.stdout.strip().splitlines()[-1])
    return results


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    print(json.dumps(_child(sys.argv[1])))
