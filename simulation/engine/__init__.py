"""The simulation engine: pure functions over numpy arrays, no Django.

inputs.py    what a run needs (members, plants, batteries, prices, regime, economics)
prices.py    time-of-use bands and the synthetic zonal price series
regime.py    TIP per plant and interval, CU_Af valorisation (DOMAIN.md, Italy)
dispatch.py  rule-based baseline and the optimal LP (HiGHS), in rolling windows
balance.py   energy balance, shared energy, the objective, GSE allocation
economics.py NPV, IRR, payback, statute split with largest remainder
run.py       orchestration with progress and cancellation callbacks
"""
