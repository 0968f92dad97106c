"""Output of correlate() Datasets: NetCDF-4 or Zarr files (:func:`write`, :func:`read`) and ObsPy
Streams with SAC headers (:func:`to_obspy`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..exceptions import BackendUnavailable, InputError


def _netcdf_engine() -> str:
    try:
        import h5netcdf  # noqa: F401
        import h5py  # noqa: F401
    except ImportError:
        pass
    else:
        return "h5netcdf"
    try:
        import netCDF4  # noqa: F401
    except ImportError:
        raise BackendUnavailable(
            "writing NetCDF needs h5netcdf and h5py (pip install h5netcdf h5py) or netCDF4"
        ) from None
    return "netcdf4"


def write(ds, path) -> Path:
    """Write a correlation Dataset to NetCDF-4 (``.nc``; h5netcdf, or netCDF4) or Zarr (``.zarr``).

    Returns the path. An existing file or store is replaced.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".zarr":
        try:
            import zarr  # noqa: F401
        except ImportError:
            raise BackendUnavailable(
                "writing .zarr needs the zarr package (pip install zarr)"
            ) from None
        # fixed-width unicode has no stable Zarr v3 encoding; variable-length strings do
        strings = {k: v.astype(object) for k, v in ds.variables.items() if v.dtype.kind == "U"}
        ds.assign_coords({k: v for k, v in strings.items() if k in ds.coords}).to_zarr(
            path, mode="w", consolidated=False
        )
    elif suffix in (".nc", ".nc4", ".netcdf", ".h5", ".hdf5"):
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.to_netcdf(path, engine=_netcdf_engine())
    else:
        raise InputError(f"{path}: unknown output format {suffix!r}; use .nc (NetCDF) or .zarr")
    return path


def read(path):
    """Read a Dataset written by :func:`write` (loaded into memory)."""
    import xarray as xr

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.suffix.lower() == ".zarr":
        return xr.open_zarr(path, consolidated=False).load()
    with xr.open_dataset(path, engine=_netcdf_engine()) as ds:
        return ds.load()


def to_obspy(ds, variable: str = "ccf_linear", *, day=None):
    """The CCFs of ``variable`` as an ObsPy Stream, one trace per pair and component.

    Trace ids are the receiver's network, station and location with channel = the component
    (``"ZZ"``); ``stats.correlation`` holds source, receiver, component, distance (km), azimuth
    and back-azimuth, and ``stats.sac`` the SAC header NoisePy writes (``b = -max_lag``, event
    = source, station = receiver, ``dist`` in km, ``user0`` = windows stacked). The first sample
    is at lag ``-max_lag``; ``starttime`` is the start of the stacked period (``day`` for a
    daily substack: pass its date).
    """
    from obspy import Stream, Trace, UTCDateTime

    if variable not in ds:
        raise InputError(f"{variable!r} not in the dataset (have {sorted(ds.data_vars)})")
    da = ds[variable]
    start = ds.attrs.get("starttime", "1970-01-01T00:00:00Z")
    counts = ds["n_windows"]
    if "day" in da.dims:
        if day is None:
            raise InputError(f"{variable} has one stack per day: pass day=")
        da = da.sel(day=np.datetime64(day, "ns"))
        counts = ds["daily_n_windows"].sel(day=np.datetime64(day, "ns"))
        start = str(np.datetime64(day, "ns"))
    if "window" in da.dims:
        raise InputError("to_obspy takes stacks; select one window first (ds.isel(window=i))")
    fs = float(ds.attrs["sampling_rate"])
    max_lag = float(ds["lag"].values[-1])
    st = Stream()
    for p in range(da.sizes["pair"]):
        src, rcv = str(ds["source"].values[p]), str(ds["receiver"].values[p])
        net, sta, loc = (rcv.split(".") + ["", "", ""])[:3]
        for c, comp in enumerate(ds["component"].values):
            tr = Trace(np.asarray(da.values[p, c], dtype=np.float32))
            tr.stats.network, tr.stats.station, tr.stats.location = net, sta, loc
            tr.stats.channel = str(comp)
            tr.stats.sampling_rate = fs
            tr.stats.starttime = UTCDateTime(start)
            info = {
                "source": src,
                "receiver": rcv,
                "component": str(comp),
                "variable": variable,
                "distance_km": float(ds["distance_km"].values[p]),
                "azimuth_deg": float(ds["azimuth_deg"].values[p]),
                "backazimuth_deg": float(ds["backazimuth_deg"].values[p]),
                "max_lag_s": max_lag,
                "n_windows": int(counts.values[p, c]),
            }
            tr.stats.correlation = info
            tr.stats.sac = _sac_header(ds, p, info)
            st.append(tr)
    return st


# SAC header fields taken from the Dataset's pair coordinates (when known)
_SAC_COORDINATES = (
    ("evla", "source_latitude"),
    ("evlo", "source_longitude"),
    ("stla", "receiver_latitude"),
    ("stlo", "receiver_longitude"),
    ("dist", "distance_km"),
    ("az", "azimuth_deg"),
    ("baz", "backazimuth_deg"),
)


def _sac_header(ds, p: int, info: dict) -> dict:
    """The SAC header NoisePy writes for pair ``p`` (``info``: the trace's stats.correlation)."""
    max_lag = info["max_lag_s"]
    sac = {
        "b": -max_lag,
        "e": max_lag,
        "user0": float(info["n_windows"]),
        "kevnm": info["source"][-16:],
    }
    for key, name in _SAC_COORDINATES:
        v = float(ds[name].values[p])
        if np.isfinite(v):
            sac[key] = v
    return sac
