"""Band-limited resampling of 16-bit mono audio (libswresample through PyAV): plain interpolation
leaves images above the old Nyquist frequency that recognisers mishear and callers hear as hiss."""

from __future__ import annotations

import numpy as np


def resample_s16(samples: np.ndarray, src: int, dst: int) -> np.ndarray:
    """int16 mono `samples` at `src` Hz, resampled to `dst` Hz."""
    if src == dst or samples.size == 0:
        return samples.astype(np.int16, copy=False)
    import av

    frame = av.AudioFrame.from_ndarray(samples.astype(np.int16, copy=False).reshape(1, -1), format="s16",
                                       layout="mono")
    frame.sample_rate = src
    resampler = av.AudioResampler(format="s16", layout="mono", rate=dst)
    chunks = [f.to_ndarray().reshape(-1) for f in (*resampler.resample(frame), *resampler.resample(None))]
    return np.concatenate(chunks).astype(np.int16, copy=False) if chunks else samples[:0].astype(np.int16)
