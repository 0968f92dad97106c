"""Where waveforms come from: a folder of files, an SDS archive, or any object with ObsPy's
``get_waveforms(network, station, location, channel, starttime, endtime)`` (an FDSN or
Earthworm client, an ObsPy wave bank as ANXCOR users have, or your own).

:func:`open_source` turns what the user gave into such an object; :class:`FolderSource` does
it for files and folders (indexed once by their headers), :class:`SDSSource` for an SDS
archive. :func:`read_window` reads a time window of chosen channels from any source, turning
each failure into a message that names the channel; :class:`WaveformLoader` is a picklable
``loader(t0, t1) -> list[Waveforms]`` for the stages that take one (correlation).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import obspy

from ..exceptions import InputError
from . import waveforms as wio

__all__ = [
    "FolderSource",
    "SDSSource",
    "WaveformLoader",
    "open_source",
    "read_window",
    "source_ids",
]


@dataclass
class _Span:
    path: str
    nslc: str
    start: obspy.UTCDateTime
    end: obspy.UTCDateTime


class FolderSource:
    """Waveform files (and folders, walked) indexed by their headers; ``get_waveforms``
    reads only the files that overlap the window, cut on read."""

    def __init__(self, inputs, messages: list | None = None):
        self.messages = messages if messages is not None else []
        files = wio.find_waveform_files(inputs, messages=self.messages)
        self.spans: list[_Span] = []
        for path in files:
            st, errors = wio.read_waveform_files([path], headonly=True)
            self.messages.extend(errors)
            self.spans.extend(
                _Span(str(path), tr.id, tr.stats.starttime, tr.stats.endtime) for tr in st
            )
        if not self.spans:
            raise InputError(f"{inputs}: no readable waveform file")

    def ids(self) -> list[str]:
        return sorted({s.nslc for s in self.spans})

    def get_waveforms(self, network, station, location, channel, starttime, endtime):
        pattern = f"{network}.{station}.{location}.{channel}"
        t0, t1 = obspy.UTCDateTime(starttime), obspy.UTCDateTime(endtime)
        paths = sorted(
            {
                s.path
                for s in self.spans
                if fnmatch.fnmatchcase(s.nslc, pattern) and s.end >= t0 and s.start <= t1
            }
        )
        st, errors = wio.read_waveform_files(paths, starttime=t0, endtime=t1)
        self.messages.extend(errors)
        return st.select(id=pattern)


class SDSSource:
    """An SDS archive (``YEAR/NET/STA/CHAN.D/NET.STA.LOC.CHAN.D.YEAR.DOY``)."""

    def __init__(self, root):
        from obspy.clients.filesystem.sds import Client

        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError(f"{self.root}: SDS root is not an existing folder")
        self.client = Client(str(self.root))

    def ids(self) -> list[str]:
        return sorted(".".join(n) for n in self.client.get_all_nslc())

    def get_waveforms(self, network, station, location, channel, starttime, endtime):
        return self.client.get_waveforms(
            network,
            station,
            location,
            channel,
            obspy.UTCDateTime(starttime),
            obspy.UTCDateTime(endtime),
        )


def _looks_sds(path: Path) -> bool:
    """A folder holding ``YEAR/NET/STA/CHAN.D`` subfolders."""
    if not path.is_dir():
        return False
    for year in path.iterdir():
        if year.is_dir() and year.name.isdigit() and len(year.name) == 4:
            for chan in year.glob("*/*/*.D"):
                if chan.is_dir():
                    return True
    return False


def open_source(obj, *, sds: bool | None = None, messages: list | None = None):
    """A waveform source from a path (file or folder; an SDS root when ``sds`` is true, or
    when ``sds`` is None and the folder has the SDS layout), a list of paths, or an object
    with ``get_waveforms`` (returned as is)."""
    if hasattr(obj, "get_waveforms"):
        return obj
    if isinstance(obj, (str, Path)):
        path = Path(obj)
        if sds or (sds is None and _looks_sds(path)):
            return SDSSource(path)
    elif not isinstance(obj, (list, tuple)):
        raise InputError(
            f"waveforms: expected a path, a list of paths or an object with get_waveforms(...), "
            f"got {type(obj).__name__}"
        )
    return FolderSource(obj, messages)


def source_ids(source, ids=None) -> list[str]:
    """The ``NET.STA.LOC.CHA`` channels to read: ``ids`` when given (wildcards allowed), else
    what the source lists (:class:`FolderSource`, :class:`SDSSource`, or any object with an
    ``ids()`` or ObsPy's ``get_all_nslc()``)."""
    if ids is not None:
        return [str(i) for i in ids]
    if hasattr(source, "ids"):
        return source.ids()
    if hasattr(source, "get_all_nslc"):
        return sorted(".".join(n) for n in source.get_all_nslc())
    raise InputError(
        "this waveform source cannot list its channels: give the channels to read "
        "(ids=['NET.STA.LOC.CHA', ...], wildcards allowed)"
    )


def read_window(source, ids, starttime, endtime) -> tuple[obspy.Stream, list[str]]:
    """The records of ``ids`` (``NET.STA.LOC.CHA``, wildcards allowed) in [starttime, endtime]
    from ``source``; a channel that fails or has no data gives a message naming it."""
    st, messages = obspy.Stream(), []
    t0, t1 = obspy.UTCDateTime(starttime), obspy.UTCDateTime(endtime)
    for nslc in ids:
        parts = nslc.split(".")
        if len(parts) != 4:
            raise InputError(f"channel id {nslc!r}: expected NET.STA.LOC.CHA")
        try:
            got = source.get_waveforms(*parts, t0, t1)
        except Exception as exc:  # noqa: BLE001 - clients raise many types (no data, network)
            messages.append(f"{nslc}: no data from {t0} to {t1} ({type(exc).__name__}: {exc})")
            continue
        if not len(got):
            messages.append(f"{nslc}: no data from {t0} to {t1}")
        st += got
    return st, messages


@dataclass
class WaveformLoader:
    """``loader(t0, t1) -> list[Waveforms]`` over a source (for
    :func:`seiscore.correlation.correlate`); conversion notes accumulate in ``messages``."""

    source: object
    ids: list
    sampling_rate: float | None = None
    components: tuple = ("E", "N", "Z")
    require: tuple = ()
    messages: list = field(default_factory=list)

    def __call__(self, t0, t1):
        start = obspy.UTCDateTime(str(np.datetime64(t0, "ns")))
        end = obspy.UTCDateTime(str(np.datetime64(t1, "ns")))
        st, notes = read_window(self.source, self.ids, start, end)
        self.messages.extend(notes)
        out, notes = wio.to_waveforms(
            st, sampling_rate=self.sampling_rate, components=self.components, require=self.require
        )
        self.messages.extend(notes)
        return out
