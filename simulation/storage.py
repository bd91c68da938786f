"""The interval table of a run, stored compactly: numpy npz (zlib) in a binary column."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pandas as pd


def frame_to_npz(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    arrays = {f"c_{name}": frame[name].to_numpy(dtype=np.float64) for name in frame.columns}
    np.savez_compressed(
        buf, __index__=frame.index.as_unit("ns").asi8, __columns__=np.array(list(frame.columns)), **arrays
    )
    return buf.getvalue()


def npz_to_frame(blob: bytes) -> pd.DataFrame:
    with np.load(io.BytesIO(bytes(blob)), allow_pickle=False) as data:
        columns = [str(c) for c in data["__columns__"]]
        index = pd.DatetimeIndex(pd.to_datetime(data["__index__"], utc=True), name="interval_start")
        return pd.DataFrame({c: data[f"c_{c}"] for c in columns}, index=index)


def curve_to_blob(curve: np.ndarray) -> bytes:
    return zlib.compress(np.asarray(curve, dtype="<f8").tobytes())


def blob_to_curve(blob: bytes) -> np.ndarray:
    return np.frombuffer(zlib.decompress(bytes(blob)), dtype="<f8").copy()
