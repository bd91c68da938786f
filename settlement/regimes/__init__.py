"""The regimes a run can settle: `REGIMES[community.regime](inputs) -> RegimeResult`.

Each module registers itself here; fr_acc and at_eeg plug in the same way (h-alloc)."""

from __future__ import annotations

from settlement.regimes.base import Regime

REGIMES: dict[str, Regime] = {}


def register(name: str):
    def deco(fn: Regime) -> Regime:
        REGIMES[name] = fn
        return fn

    return deco


def _load() -> None:
    # import for the side effect of registering; a missing optional module is not an error
    import importlib

    for module in ("it_cacer", "fr_acc", "at_eeg"):
        try:
            importlib.import_module(f"settlement.regimes.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"settlement.regimes.{module}":
                raise


_load()
