// bindings/association.cpp — seiscore._core.association: convert, validate, release the GIL, call.
#include <set>
#include <string>

#include "seiscore/association/grid_search.hpp"

#include "common.hpp"

namespace seiscore::bindings {

namespace {

namespace A = seiscore::association;

// Columns of the picks, all of length n.
A::PickArrays pick_arrays(const py::array& station, const py::array& phase, const py::array& time,
                          const py::array& weight) {
  require_dtype<std::int32_t>(station, "station");
  require_ndim(station, 1, "station", "[n_picks]");
  const py::ssize_t n = station.shape(0);
  A::PickArrays P;
  P.n = n;
  P.station = vector_arg<std::int32_t>(station, n, "station");
  P.phase = vector_arg<std::int8_t>(phase, n, "phase");
  P.time_s = vector_arg<double>(time, n, "time");
  P.weight = vector_arg<float>(weight, n, "weight");
  return P;
}

A::StationArrays station_arrays(const py::array& x, const py::array& y, const py::array& delay) {
  require_dtype<double>(x, "x_km");
  require_ndim(x, 1, "x_km", "[n_stations]");
  const py::ssize_t n = x.shape(0);
  A::StationArrays S;
  S.n = n;
  S.x_km = vector_arg<double>(x, n, "x_km");
  S.y_km = vector_arg<double>(y, n, "y_km");
  require_dtype<float>(delay, "delay");
  require_ndim(delay, 2, "delay", "[n_stations, 2]");
  if (delay.shape(0) != n || delay.shape(1) != 2 || !(delay.flags() & py::array::c_style)) {
    throw py::value_error("delay: expected a C-contiguous [n_stations, 2] array");
  }
  S.delay_s = static_cast<const float*>(delay.data());
  return S;
}

// times[2, n_depth, n_distance] (one table) or [n_tables, 2, n_depth, n_distance] (one per
// station_table entry).
A::Table table_arrays(const py::array& times, const py::tuple& axes) {
  require_dtype<float>(times, "times");
  if (times.ndim() != 3 && times.ndim() != 4) {
    throw py::value_error("times: expected 3 dimensions [2 (P, S), n_depth, n_distance] or 4 "
                          "[n_tables, 2, n_depth, n_distance], got " + std::to_string(times.ndim()));
  }
  const py::ssize_t lead = times.ndim() - 3;
  if (times.shape(lead) != 2 || !(times.flags() & py::array::c_style) || (lead == 1 && times.shape(0) < 1)) {
    throw py::value_error("times: expected a C-contiguous [(n_tables,) 2, n_depth, n_distance] array (P and S)");
  }
  if (axes.size() != 4) throw py::value_error("axes: expected (depth0_km, ddepth_km, distance0_km, ddistance_km)");
  A::Table T;
  T.times = static_cast<const float*>(times.data());
  T.n_tables = lead == 1 ? times.shape(0) : 1;
  T.n_depth = times.shape(lead + 1);
  T.n_distance = times.shape(lead + 2);
  T.depth0_km = cast_arg<double>(axes[0], "axes[0]");
  T.ddepth_km = cast_arg<double>(axes[1], "axes[1]");
  T.distance0_km = cast_arg<double>(axes[2], "axes[2]");
  T.ddistance_km = cast_arg<double>(axes[3], "axes[3]");
  return T;
}

// The station -> table index column (None: every station uses table 0).
void station_tables(A::Table* T, const py::object& station_table, py::ssize_t n_stations) {
  if (station_table.is_none()) return;
  const py::array a = py::array::ensure(station_table);
  if (!a) throw py::type_error("station_table: expected an int32 array or None");
  T->station_table = vector_arg<std::int32_t>(a, n_stations, "station_table");
}

A::Config config_from(const py::dict& d) {
  A::Config C;
  static const std::set<std::string> known = {
      "x_min_km", "x_max_km", "y_min_km",  "y_max_km",  "z_min_km",    "z_max_km",   "cell_km",
      "cell_depth_km", "tolerance_s", "tolerance_fraction", "max_distance_km", "min_pick_fraction", "min_picks", "min_p",
      "min_s",   "min_p_and_s", "max_rms_s", "min_significance", "block_s", "bin_s", "workers"};
  for (const auto& item : d) {
    const auto key = cast_arg<std::string>(item.first, "config key");
    if (!known.count(key)) throw py::value_error("config: unknown key '" + key + "'");
  }
  auto num = [&](const char* k, double& v) {
    if (d.contains(k)) v = cast_arg<double>(d[k], std::string("config['") + k + "']");
  };
  auto integer = [&](const char* k, int& v) {
    if (d.contains(k)) v = cast_arg<int>(d[k], std::string("config['") + k + "']");
  };
  num("x_min_km", C.x_min_km);
  num("x_max_km", C.x_max_km);
  num("y_min_km", C.y_min_km);
  num("y_max_km", C.y_max_km);
  num("z_min_km", C.z_min_km);
  num("z_max_km", C.z_max_km);
  num("cell_km", C.cell_km);
  num("cell_depth_km", C.cell_depth_km);
  num("tolerance_s", C.tolerance_s);
  num("tolerance_fraction", C.tolerance_fraction);
  num("max_distance_km", C.max_distance_km);
  num("min_pick_fraction", C.min_pick_fraction);
  integer("min_picks", C.min_picks);
  integer("min_p", C.min_p);
  integer("min_s", C.min_s);
  integer("min_p_and_s", C.min_p_and_s);
  num("max_rms_s", C.max_rms_s);
  num("min_significance", C.min_significance);
  num("block_s", C.block_s);
  num("bin_s", C.bin_s);
  integer("workers", C.workers);
  return C;
}

}  // namespace

void bind_association(py::module_& parent) {
  auto m = parent.def_submodule("association", "Phase association: picks to events by a space x origin-time search");

  m.def(
      "associate",
      [](const py::array& station, const py::array& phase, const py::array& time, const py::array& weight,
         const py::array& x_km, const py::array& y_km, const py::array& delay, const py::array& times,
         const py::tuple& axes, const py::dict& config, const py::object& station_table) {
        const auto P = pick_arrays(station, phase, time, weight);
        const auto S = station_arrays(x_km, y_km, delay);
        auto T = table_arrays(times, axes);
        station_tables(&T, station_table, S.n);
        const auto C = config_from(config);
        A::Result r;
        {
          py::gil_scoped_release release;
          r = A::associate(P, S, T, C);
        }
        py::dict out;
        out["time"] = to_numpy(std::move(r.time_s));
        out["x_km"] = to_numpy(std::move(r.x_km));
        out["y_km"] = to_numpy(std::move(r.y_km));
        out["z_km"] = to_numpy(std::move(r.z_km));
        out["n_p"] = to_numpy(std::move(r.n_p));
        out["n_s"] = to_numpy(std::move(r.n_s));
        out["rms_s"] = to_numpy(std::move(r.rms_s));
        out["score"] = to_numpy(std::move(r.score));
        out["significance"] = to_numpy(std::move(r.significance));
        out["pick_event"] = to_numpy(std::move(r.pick_event));
        out["pick_residual_s"] = to_numpy(std::move(r.pick_residual_s));
        out["n_blocks"] = r.n_blocks;
        out["n_seeds"] = r.n_seeds;
        out["n_screened"] = r.n_screened;
        out["n_refined"] = r.n_refined;
        out["n_rejected"] = r.n_rejected;
        return out;
      },
      py::arg("station"), py::arg("phase"), py::arg("time"), py::arg("weight"), py::arg("x_km"), py::arg("y_km"),
      py::arg("delay"), py::arg("times"), py::arg("axes"), py::arg("config"), py::arg("station_table") = py::none(),
      "Events and per-pick assignments (see cpp/seiscore/association/grid_search.hpp).");

  m.def(
      "score_origins",
      [](const py::array& station, const py::array& phase, const py::array& time, const py::array& weight,
         const py::array& x_km, const py::array& y_km, const py::array& delay, const py::array& times,
         const py::tuple& axes, const py::dict& config, const py::array& origins, const py::object& station_table) {
        const auto P = pick_arrays(station, phase, time, weight);
        const auto S = station_arrays(x_km, y_km, delay);
        auto T = table_arrays(times, axes);
        station_tables(&T, station_table, S.n);
        const auto C = config_from(config);
        require_dtype<double>(origins, "origins");
        require_ndim(origins, 2, "origins", "[n_origins, 4]");
        if (origins.shape(1) != 4 || !(origins.flags() & py::array::c_style)) {
          throw py::value_error("origins: expected a C-contiguous [n_origins, 4] array (x_km, y_km, z_km, t0)");
        }
        const py::ssize_t n = origins.shape(0);
        py::array_t<double> score(n);
        py::array_t<std::int32_t> n_p(n), n_s(n);
        py::array_t<double> sig(n);
        const double* o = static_cast<const double*>(origins.data());
        double* ps = score.mutable_data();
        double* psig = sig.mutable_data();
        std::int32_t* pp = n_p.mutable_data();
        std::int32_t* pn = n_s.mutable_data();
        {
          py::gil_scoped_release release;
          A::score_origins(P, S, T, C, o, n, ps, pp, pn, psig);
        }
        py::dict out;
        out["score"] = score;
        out["n_p"] = n_p;
        out["n_s"] = n_s;
        out["significance"] = sig;
        return out;
      },
      py::arg("station"), py::arg("phase"), py::arg("time"), py::arg("weight"), py::arg("x_km"), py::arg("y_km"),
      py::arg("delay"), py::arg("times"), py::arg("axes"), py::arg("config"), py::arg("origins"),
      py::arg("station_table") = py::none(),
      "Scores, matched P/S counts and significance of given origins (x_km, y_km, z_km, t0) over all picks.");

  m.def(
      "travel_time",
      [](const py::array& times, const py::tuple& axes, int phase, const py::array& distance,
         const py::array& depth) {
        const auto T = table_arrays(times, axes);
        require_dtype<double>(distance, "distance");
        require_ndim(distance, 1, "distance", "[n]");
        const py::ssize_t n = distance.shape(0);
        const double* d = vector_arg<double>(distance, n, "distance");
        const double* z = vector_arg<double>(depth, n, "depth");
        py::array_t<double> out(n);
        double* po = out.mutable_data();
        {
          py::gil_scoped_release release;
          for (py::ssize_t i = 0; i < n; ++i) po[i] = A::travel_time(T, phase, d[i], z[i]);
        }
        return out;
      },
      py::arg("times"), py::arg("axes"), py::arg("phase"), py::arg("distance"), py::arg("depth"),
      "Bilinear table interpolation as the search uses it (NaN outside the table).");
}

}  // namespace seiscore::bindings
