"""An IEC 61850 MMS server on loopback (pyiec61850-ng / libiec61850), built at run time.

The data model: IED "CW", logical device "LD0" (object references "CWLD0/..."), with
LLN0, MMXU1 (measurements: TotW, Hz, PhV-less MV data objects) and MMTR1 (TotWh, a BCR
counter). libiec61850 serves it from its own thread.

    with Iec61850LoopbackServer() as server:
        server.set_float("MMXU1.TotW.mag.f", 4321.5)
        server.set_int64("MMTR1.TotWh.actVal", 123456789)
"""

from __future__ import annotations

import time
from pathlib import Path

from iot.testing.modbus import free_port

IED, LD = "CW", "LD0"
PREFIX = f"{IED}{LD}/"
MEASUREMENTS = ("TotW", "Hz", "TotVAr")


class Iec61850LoopbackServer:
    def __init__(self, *, port: int | None = None):
        import pyiec61850.pyiec61850 as lib

        self.lib = lib
        self.port = port or free_port()
        self._model = self._server = None

    def _build_model(self):
        lib = self.lib
        model = lib.IedModel_create(IED)
        device = lib.LogicalDevice_create(LD, model)
        lln0 = lib.LogicalNode_create("LLN0", device)
        lib.CDC_ENS_create("Mod", lib.toModelNode(lln0), 0)
        mmxu = lib.LogicalNode_create("MMXU1", device)
        for name in MEASUREMENTS:
            lib.CDC_MV_create(name, lib.toModelNode(mmxu), 0, False)
        mmtr = lib.LogicalNode_create("MMTR1", device)
        lib.CDC_BCR_create("TotWh", lib.toModelNode(mmtr), 0)
        return model

    def _attribute(self, ref: str):
        node = self.lib.IedModel_getModelNodeByObjectReference(self._model, PREFIX + ref)
        if node is None:
            raise KeyError(ref)
        return self.lib.toDataAttribute(node)

    def _update(self, fn, ref: str, value) -> None:
        self.lib.IedServer_lockDataModel(self._server)
        try:
            fn(self._server, self._attribute(ref), value)
        finally:
            self.lib.IedServer_unlockDataModel(self._server)

    def set_float(self, ref: str, value: float, *, quality: int = 0, stamp: bool = True) -> None:
        """Set an MV's `mag.f`, its quality and (stamp) its timestamp to now."""
        self._update(self.lib.IedServer_updateFloatAttributeValue, ref, float(value))
        do = ref.split(".mag")[0]
        self._update(self.lib.IedServer_updateQuality, f"{do}.q", quality)
        if stamp:
            self._update(self.lib.IedServer_updateUTCTimeAttributeValue, f"{do}.t", int(time.time() * 1000))

    def set_int64(self, ref: str, value: int) -> None:
        self._update(self.lib.IedServer_updateInt64AttributeValue, ref, int(value))

    def start(self) -> Iec61850LoopbackServer:
        self._model = self._build_model()
        self._server = self.lib.IedServer_create(self._model)
        self.lib.IedServer_start(self._server, self.port)
        if not self.lib.IedServer_isRunning(self._server):
            raise RuntimeError(f"IEC 61850 server did not start on port {self.port}")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self.lib.IedServer_stop(self._server)
            self.lib.IedServer_destroy(self._server)
            self._server = None
        if self._model is not None:
            self.lib.IedModel_destroy(self._model)
            self._model = None

    def __enter__(self) -> Iec61850LoopbackServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


OPEN61850_SCL = Path(__file__).parent / "data" / "meter.cid"
OPEN61850_PREFIX = "OWLD0/"


class Open61850LoopbackServer:
    """An open61850 MMS server serving `data/meter.cid` (IED "OW", LD0 with MMXU1 TotW/Hz
    and MMTR1 TotWh): the same library as the poller's client, next to libiec61850 above."""

    def __init__(self):
        from open61850.server import IedModel, MmsServer

        self.model = IedModel.from_scl(OPEN61850_SCL)
        self.server = MmsServer(self.model, host="127.0.0.1", port=0)

    @property
    def port(self) -> int:
        return self.server.port

    def set(self, reference: str, value) -> None:
        """Set `OWLD0/<reference>` (e.g. "MMXU1.TotW.mag.f[MX]")."""
        self.model.set(OPEN61850_PREFIX + reference, value)

    def __enter__(self) -> Open61850LoopbackServer:
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()
