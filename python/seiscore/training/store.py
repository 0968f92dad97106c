"""An on-disk store of labelled segments (HDF5), so that a data set larger than memory trains.

A *segment* is a stretch of three-component waveform, longer than the model's window, with the
sample positions of its reference picks; training cuts a window from it at a random place
(the random shift of :mod:`.augment`), validation at a fixed one. Segments are stored raw (not
normalised, no labels): labels and normalisation are made when a batch is drawn, so one store
serves any label width or augmentation.

Layout of the file (datasets grow as segments are appended; one segment per chunk)::

    waveforms   float32 [n, channel, length]   zero outside [valid_start, valid_end)
    valid       int64   [n, 2]                 samples that hold data
    anchor      float64 [n]                    the pick the segment was cut around (sample)
    P, S        float32 [n, K]                 picked arrivals (samples), NaN-padded
    P_ignore, S_ignore  float32 [n, K]         unpicked arrivals (samples), NaN-padded
    event, station      str [n]                the event of the anchor pick; NET.STA.LOC
    start_time  float64 [n]                    time of sample 0, s since 1970 (NaN if unknown)

and attributes ``sampling_rate``, ``channel_order`` (e.g. ``"ENZ"``), ``segment_length``,
``max_picks`` (K) and ``source`` (where the segments came from).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..exceptions import InputError

__all__ = ["Segment", "WindowStore", "WindowStoreWriter"]

PHASE_KEYS = ("P", "S", "P_ignore", "S_ignore")


@dataclass
class Segment:
    """One segment before it is stored: ``data[channel, sample]`` and pick positions."""

    data: np.ndarray
    valid: tuple[int, int]
    anchor: float
    picks: dict[str, np.ndarray]  # PHASE_KEYS → sample positions
    event: str
    station: str
    start_time: float = float("nan")


def _str_dtype():
    import h5py

    return h5py.string_dtype("utf-8")


class WindowStoreWriter:
    """Appends segments to a new store; use as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        path,
        *,
        sampling_rate: float,
        channel_order: str,
        segment_length: int,
        max_picks: int = 16,
        source: str = "",
        flush_every: int = 256,
    ):
        import h5py

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.h5 = h5py.File(self.path, "w")
        self.channels = len(channel_order)
        self.length = int(segment_length)
        self.k = int(max_picks)
        self.flush_every = flush_every
        attrs = self.h5.attrs
        attrs["sampling_rate"] = float(sampling_rate)
        attrs["channel_order"] = channel_order
        attrs["segment_length"] = self.length
        attrs["max_picks"] = self.k
        attrs["source"] = source
        shape = (0, self.channels, self.length)
        self.h5.create_dataset(
            "waveforms",
            shape,
            np.float32,
            maxshape=(None, *shape[1:]),
            chunks=(1, *shape[1:]),
            compression="lzf",
        )
        self.h5.create_dataset("valid", (0, 2), np.int64, maxshape=(None, 2))
        self.h5.create_dataset("anchor", (0,), np.float64, maxshape=(None,))
        self.h5.create_dataset("start_time", (0,), np.float64, maxshape=(None,))
        for key in PHASE_KEYS:
            self.h5.create_dataset(key, (0, self.k), np.float32, maxshape=(None, self.k))
        for key in ("event", "station"):
            self.h5.create_dataset(key, (0,), _str_dtype(), maxshape=(None,))
        self.pending: list[Segment] = []
        self.count = 0

    def append(self, segment: Segment) -> None:
        if segment.data.shape != (self.channels, self.length):
            raise InputError(
                f"segment of {segment.station}: shape {segment.data.shape}, the store holds "
                f"{(self.channels, self.length)}"
            )
        self.pending.append(segment)
        if len(self.pending) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        n0, n = self.count, len(self.pending)
        for name in ("waveforms", "valid", "anchor", "start_time", *PHASE_KEYS, "event", "station"):
            self.h5[name].resize(n0 + n, axis=0)
        segs = self.pending
        self.h5["waveforms"][n0:] = np.stack([s.data for s in segs]).astype(np.float32)
        self.h5["valid"][n0:] = np.array([s.valid for s in segs], np.int64)
        self.h5["anchor"][n0:] = np.array([s.anchor for s in segs], np.float64)
        self.h5["start_time"][n0:] = np.array([s.start_time for s in segs], np.float64)
        for key in PHASE_KEYS:
            block = np.full((n, self.k), np.nan, np.float32)
            for i, s in enumerate(segs):
                pos = np.sort(np.asarray(s.picks.get(key, ()), np.float64))[: self.k]
                block[i, : len(pos)] = pos
            self.h5[key][n0:] = block
        self.h5["event"][n0:] = [s.event for s in segs]
        self.h5["station"][n0:] = [s.station for s in segs]
        self.count += n
        self.pending = []

    def close(self) -> Path:
        self.flush()
        self.h5.close()
        return self.path

    def __enter__(self) -> WindowStoreWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class WindowStore:
    """Read access to a store written by :class:`WindowStoreWriter`.

    The small columns (picks, events, stations, valid ranges) are read into memory on opening;
    waveforms stay on disk and are read per batch (:meth:`waveforms`), unless the whole array
    is smaller than ``cache_bytes``, in which case it is read once.
    """

    def __init__(self, path, cache_bytes: int = 512 * 2**20):
        import h5py

        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"window store not found: {self.path}")
        try:
            self.h5 = h5py.File(self.path, "r")
        except OSError as exc:
            raise InputError(f"{self.path}: not an HDF5 window store ({exc})") from None
        if "waveforms" not in self.h5:
            raise InputError(f"{self.path}: not a seiscore window store (no 'waveforms')")
        attrs = self.h5.attrs
        self.sampling_rate = float(attrs["sampling_rate"])
        self.channel_order = str(attrs["channel_order"])
        self.segment_length = int(attrs["segment_length"])
        self.source = str(attrs.get("source", ""))
        self.valid = self.h5["valid"][:]
        self.anchor = self.h5["anchor"][:]
        self.start_time = self.h5["start_time"][:]
        self.picks = {key: self.h5[key][:] for key in PHASE_KEYS}
        self.event = np.array([_text(v) for v in self.h5["event"][:]], dtype=object)
        self.station = np.array([_text(v) for v in self.h5["station"][:]], dtype=object)
        data = self.h5["waveforms"]
        self._cache = data[:] if data.size * 4 <= cache_bytes else None

    def __len__(self) -> int:
        return len(self.anchor)

    def waveforms(self, index) -> np.ndarray:
        """``[len(index), channel, segment_length]`` float32 for the given segments."""
        index = np.asarray(index, dtype=np.int64)
        if self._cache is not None:
            return self._cache[index]
        order = np.argsort(index)
        sorted_index = index[order]
        unique, inverse = np.unique(sorted_index, return_inverse=True)
        block = self.h5["waveforms"][unique.tolist()]  # h5py wants increasing indices
        out = np.empty((len(index), *block.shape[1:]), np.float32)
        out[order] = block[inverse]
        return out

    def close(self) -> None:
        self.h5.close()

    def describe(self) -> str:
        n_events = len(set(self.event.tolist()))
        n_sta = len(set(self.station.tolist()))
        n_p = int(np.isfinite(self.picks["P"]).sum())
        n_s = int(np.isfinite(self.picks["S"]).sum())
        return (
            f"{len(self)} segments of {self.segment_length} samples at {self.sampling_rate:g} Hz "
            f"({self.channel_order}), {n_events} events, {n_sta} stations, "
            f"{n_p} P and {n_s} S labels"
        )


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
