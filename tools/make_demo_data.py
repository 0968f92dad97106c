"""Write the bundled demo records: real 30 s three-component windows from PhaseNet's
reference set (NCEDC, northern California networks; MIT licence, AI4EPS/PhaseNet) as miniSEED, with
the analysts' P and S picks as CSV.

    python tools/make_demo_data.py ../shared/data/phasenet/phasenet_tf_reference.npz \
        python/seiscore/data/demo

Each window's start time and station come from its name (``NET_STA_YYYYMMDDhhmmssCC[_k]``); the
channel codes (HHE/HHN/HHZ) are assigned here, the originals are not in the reference file.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import obspy

N_WINDOWS = 12


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reference", type=Path)
    ap.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    ref = np.load(args.reference)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    taken = set()
    for i, name in enumerate(ref["name"]):
        net, sta, stamp = name.removesuffix(".npz").split("_")[:3]
        if sta in taken or len(taken) == N_WINDOWS:
            continue
        taken.add(sta)
        start = obspy.UTCDateTime(
            f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[8:10]}:{stamp[10:12]}:{stamp[12:14]}.{stamp[14:16]}"
        )
        st = obspy.Stream()
        for c, comp in enumerate("ENZ"):
            tr = obspy.Trace(ref["waveform"][i, :, c].astype(np.float32))
            tr.stats.update(
                dict(
                    network=net,
                    station=sta,
                    location="",
                    channel=f"HH{comp}",
                    sampling_rate=100.0,
                    starttime=start,
                )
            )
            st.append(tr)
        st.write(
            str(args.out / f"{net}.{sta}.{start.strftime('%Y%m%dT%H%M%S')}.mseed"), format="MSEED"
        )
        for phase, idx in (("P", ref["p_index"][i]), ("S", ref["s_index"][i])):
            t = start + int(idx) / 100.0
            rows.append((net, sta, phase, t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")))
    with open(args.out / "manual_picks.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["network", "station", "phase", "time"])
        w.writerows(rows)
    (args.out / "README.md").write_text(
        "Demo records for `seiscore-pick --demo`: 12 real 30 s windows (100 Hz, E/N/Z) from the\n"
        "PhaseNet reference set (NCEDC, northern California; AI4EPS/PhaseNet, MIT licence),\n"
        "with the analysts' P and S picks in `manual_picks.csv`. Written by\n"
        "`tools/make_demo_data.py`; channel codes HH? are assigned there.\n"
    )
    print(f"wrote {len(taken)} records and {len(rows)} manual picks to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
