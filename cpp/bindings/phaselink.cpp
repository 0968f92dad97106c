// bindings/phaselink.cpp — PhaseLink kernels in seiscore._core.association (phaselink_*):
// convert, validate, allocate, release the GIL, call. Contract: seiscore/association/phaselink.hpp.
#include <set>
#include <string>

#include "seiscore/association/phaselink.hpp"

#include "common.hpp"

namespace seiscore::bindings {

namespace {

namespace PL = seiscore::association::phaselink;

// Largest sequences x rows one call allocates (x is 5 float32 per row: 1 GB).
constexpr py::ssize_t kMaxRows = 50'000'000;

// The dictionary's numbers by key; unknown keys are errors.
class Options {
 public:
  Options(const py::dict& d, std::set<std::string> known, std::string what) : d_(d), what_(std::move(what)) {
    for (const auto& item : d) {
      const auto key = cast_arg<std::string>(item.first, what_ + " key");
      if (!known.count(key)) throw py::value_error(what_ + ": unknown key '" + key + "'");
    }
  }
  template <class T>
  void get(const char* key, T& value) const {
    if (d_.contains(key)) value = cast_arg<T>(d_[key], what_ + "['" + key + "']");
  }

 private:
  const py::dict& d_;
  std::string what_;
};

PL::Network network_arrays(const py::array& x, const py::array& y, const py::array& times, const py::tuple& axes,
                           const py::object& station_table) {
  require_dtype<double>(x, "x_km");
  require_ndim(x, 1, "x_km", "[n_stations]");
  PL::Network N;
  N.n_stations = x.shape(0);
  N.x_km = vector_arg<double>(x, N.n_stations, "x_km");
  N.y_km = vector_arg<double>(y, N.n_stations, "y_km");
  require_dtype<float>(times, "times");
  if (times.ndim() != 3 && times.ndim() != 4) {
    throw py::value_error("times: expected [2, n_depth, n_distance] or [n_tables, 2, n_depth, n_distance]");
  }
  const py::ssize_t lead = times.ndim() - 3;
  if (times.shape(lead) != 2 || !(times.flags() & py::array::c_style) || (lead == 1 && times.shape(0) < 1)) {
    throw py::value_error("times: expected a C-contiguous [(n_tables,) 2, n_depth, n_distance] array (P and S)");
  }
  N.times = static_cast<const float*>(times.data());
  N.n_tables = lead == 1 ? times.shape(0) : 1;
  N.n_depth = times.shape(lead + 1);
  N.n_distance = times.shape(lead + 2);
  if (axes.size() != 4) throw py::value_error("axes: expected (depth0_km, ddepth_km, distance0_km, ddistance_km)");
  N.depth0_km = cast_arg<double>(axes[0], "axes[0]");
  N.ddepth_km = cast_arg<double>(axes[1], "axes[1]");
  N.distance0_km = cast_arg<double>(axes[2], "axes[2]");
  N.ddistance_km = cast_arg<double>(axes[3], "axes[3]");
  if (!station_table.is_none()) {
    const py::array a = py::array::ensure(station_table);
    if (!a) throw py::type_error("station_table: expected an int32 array or None");
    N.station_table = vector_arg<std::int32_t>(a, N.n_stations, "station_table");
  }
  return N;
}

PL::Network station_arrays(const py::array& x, const py::array& y) {
  require_dtype<double>(x, "x_km");
  require_ndim(x, 1, "x_km", "[n_stations]");
  PL::Network N;
  N.n_stations = x.shape(0);
  N.x_km = vector_arg<double>(x, N.n_stations, "x_km");
  N.y_km = vector_arg<double>(y, N.n_stations, "y_km");
  return N;
}

PL::PickColumns pick_arrays(const py::array& station, const py::array& phase, const py::array& time) {
  require_dtype<std::int32_t>(station, "station");
  require_ndim(station, 1, "station", "[n_picks]");
  PL::PickColumns P;
  P.n = station.shape(0);
  P.station = vector_arg<std::int32_t>(station, P.n, "station");
  P.phase = vector_arg<std::int8_t>(phase, P.n, "phase");
  P.time_s = vector_arg<double>(time, P.n, "time");
  return P;
}

// The features' numbers (the card's feature settings; other card keys are ignored) and the
// optional pair bounds ([2 n_stations, 2 n_stations] float32 each, or None).
PL::Features features_from(const py::dict& d, const py::object& pair_lo, const py::object& pair_hi,
                           py::ssize_t n_stations) {
  PL::Features F;
  const Options o(d, {"center_x_km", "center_y_km", "scale_km", "window_s", "max_picks", "pair_margin_s", "pair_grid"},
                  "features");
  o.get("center_x_km", F.center_x_km);
  o.get("center_y_km", F.center_y_km);
  o.get("scale_km", F.scale_km);
  o.get("window_s", F.window_s);
  o.get("max_picks", F.max_picks);
  if (F.max_picks < 1 || F.max_picks > 65536) throw py::value_error("features['max_picks']: expected 1 .. 65536");
  if (pair_lo.is_none() != pair_hi.is_none()) throw py::value_error("pair_lo, pair_hi: give both or neither");
  if (!pair_lo.is_none()) {
    const py::array lo = py::array::ensure(pair_lo), hi = py::array::ensure(pair_hi);
    if (!lo || !hi) throw py::type_error("pair_lo, pair_hi: expected float32 arrays or None");
    for (const auto* a : {&lo, &hi}) {
      require_dtype<float>(*a, "pair bounds");
      if (a->ndim() != 2 || a->shape(0) != 2 * n_stations || a->shape(1) != 2 * n_stations ||
          !(a->flags() & py::array::c_style)) {
        throw py::value_error("pair_lo, pair_hi: expected C-contiguous [2 n_stations, 2 n_stations] arrays");
      }
    }
    F.pair_lo = static_cast<const float*>(lo.data());
    F.pair_hi = static_cast<const float*>(hi.data());
  }
  return F;
}

void volume_from(const Options& o, PL::Volume& v) {
  o.get("x_min_km", v.x_min_km);
  o.get("x_max_km", v.x_max_km);
  o.get("y_min_km", v.y_min_km);
  o.get("y_max_km", v.y_max_km);
  o.get("z_min_km", v.z_min_km);
  o.get("z_max_km", v.z_max_km);
}

PL::GeneratorConfig generator_from(const py::dict& d) {
  PL::GeneratorConfig C;
  const Options o(d,
                  {"x_min_km", "x_max_km", "y_min_km", "y_max_km", "z_min_km", "z_max_km", "rate_min", "rate_max",
                   "cluster_prob", "cluster_sigma_min_km", "cluster_sigma_max_km", "noise_min_s", "noise_max_s",
                   "outlier_fraction", "outlier_s", "radius_min_km", "radius_max_km", "drop_min", "drop_max",
                   "false_rate_min", "false_rate_max", "model_error_max", "span_before_s"},
                  "config");
  volume_from(o, C.volume);
  o.get("rate_min", C.rate_min);
  o.get("rate_max", C.rate_max);
  o.get("cluster_prob", C.cluster_prob);
  o.get("cluster_sigma_min_km", C.cluster_sigma_min_km);
  o.get("cluster_sigma_max_km", C.cluster_sigma_max_km);
  o.get("noise_min_s", C.noise_min_s);
  o.get("noise_max_s", C.noise_max_s);
  o.get("outlier_fraction", C.outlier_fraction);
  o.get("outlier_s", C.outlier_s);
  o.get("radius_min_km", C.radius_min_km);
  o.get("radius_max_km", C.radius_max_km);
  o.get("drop_min", C.drop_min);
  o.get("drop_max", C.drop_max);
  o.get("false_rate_min", C.false_rate_min);
  o.get("false_rate_max", C.false_rate_max);
  o.get("model_error_max", C.model_error_max);
  o.get("span_before_s", C.span_before_s);
  return C;
}

PL::LocateConfig locate_from(const py::dict& d) {
  PL::LocateConfig C;
  const Options o(d,
                  {"x_min_km", "x_max_km", "y_min_km", "y_max_km", "z_min_km", "z_max_km", "tolerance_s",
                   "slowness_s_km", "min_step_km", "min_picks", "max_events", "workers"},
                  "config");
  volume_from(o, C.volume);
  o.get("tolerance_s", C.tolerance_s);
  o.get("slowness_s_km", C.slowness_s_km);
  o.get("min_step_km", C.min_step_km);
  o.get("min_picks", C.min_picks);
  o.get("max_events", C.max_events);
  o.get("workers", C.workers);
  return C;
}

void check_rows(py::ssize_t n, py::ssize_t L, const char* what) {
  if (n < 0) throw py::value_error(std::string(what) + ": expected n >= 0");
  if (n > 0 && L > kMaxRows / n) {
    throw py::value_error(std::string(what) + ": " + std::to_string(n) + " sequences x " + std::to_string(L) +
                          " picks is more than one call makes (" + std::to_string(kMaxRows) +
                          " rows); ask for fewer sequences at a time");
  }
}

// Sets of pick indices in CSR form: offsets [n_sets + 1] (int64, from 0, the last = the number of
// members) and members [n_members] (int64); `rows` names the sets in messages.
struct Csr {
  const std::int64_t* offsets;
  py::ssize_t n_sets;
  const std::int64_t* members;
};

Csr csr_arrays(const py::array& offsets, const py::array& members, const std::string& rows) {
  require_dtype<std::int64_t>(offsets, "offsets");
  require_ndim(offsets, 1, "offsets", ("[" + rows + " + 1]").c_str());
  if (offsets.shape(0) < 1) throw py::value_error("offsets: expected at least one entry (0)");
  const py::ssize_t n_sets = offsets.shape(0) - 1;
  const std::int64_t* po = vector_arg<std::int64_t>(offsets, n_sets + 1, "offsets");
  require_dtype<std::int64_t>(members, "members");
  require_ndim(members, 1, "members", "[n_members]");
  if (po[n_sets] != members.shape(0)) {
    throw py::value_error("offsets: the last offset must equal the number of members");
  }
  return {po, n_sets, vector_arg<std::int64_t>(members, members.shape(0), "members")};
}

void bind_generate(py::module_& m) {
  m.def(
      "phaselink_generate",
      [](const py::array& x_km, const py::array& y_km, const py::array& times, const py::tuple& axes,
         const py::object& station_table, const py::dict& features, const py::object& pair_lo,
         const py::object& pair_hi, const py::dict& config, std::uint64_t seed, std::int64_t first, std::int64_t n,
         int workers) {
        const auto N = network_arrays(x_km, y_km, times, axes, station_table);
        const auto F = features_from(features, pair_lo, pair_hi, N.n_stations);
        const auto C = generator_from(config);
        check_rows(n, F.max_picks, "phaselink_generate");
        const py::ssize_t L = F.max_picks;
        py::array_t<float> x({static_cast<py::ssize_t>(n), L, static_cast<py::ssize_t>(PL::kFeatures)});
        py::array_t<float> y({static_cast<py::ssize_t>(n), L});
        py::array_t<std::int32_t> length(static_cast<py::ssize_t>(n));
        float* px = x.mutable_data();
        float* py_ = y.mutable_data();
        std::int32_t* pl = length.mutable_data();
        {
          py::gil_scoped_release release;
          PL::generate(N, F, C, seed, first, n, workers, px, py_, pl);
        }
        return py::make_tuple(x, y, length);
      },
      py::arg("x_km"), py::arg("y_km"), py::arg("times"), py::arg("axes"), py::arg("station_table"),
      py::arg("features"), py::arg("pair_lo"), py::arg("pair_hi"), py::arg("config"), py::arg("seed"),
      py::arg("first"), py::arg("n"), py::arg("workers") = 0,
      "Synthetic PhaseLink training sequences (x, y, length); see cpp/seiscore/association/phaselink.hpp.");
}

void bind_sequences(py::module_& m) {
  m.def(
      "phaselink_sequences",
      [](const py::array& x_km, const py::array& y_km, const py::array& station, const py::array& phase,
         const py::array& time, const py::array& starts, const py::dict& features, const py::object& pair_lo,
         const py::object& pair_hi, int workers) {
        const auto N = station_arrays(x_km, y_km);
        const auto P = pick_arrays(station, phase, time);
        const auto F = features_from(features, pair_lo, pair_hi, N.n_stations);
        require_dtype<std::int64_t>(starts, "starts");
        require_ndim(starts, 1, "starts", "[n_starts]");
        const py::ssize_t n = starts.shape(0);
        const std::int64_t* ps = vector_arg<std::int64_t>(starts, n, "starts");
        check_rows(n, F.max_picks, "phaselink_sequences");
        const py::ssize_t L = F.max_picks;
        py::array_t<float> x({n, L, static_cast<py::ssize_t>(PL::kFeatures)});
        py::array_t<std::int64_t> index({n, L});
        py::array_t<std::int32_t> length(n);
        float* px = x.mutable_data();
        std::int64_t* pi = index.mutable_data();
        std::int32_t* pl = length.mutable_data();
        {
          py::gil_scoped_release release;
          PL::build_sequences(N, F, P, ps, n, workers, px, pi, pl);
        }
        return py::make_tuple(x, index, length);
      },
      py::arg("x_km"), py::arg("y_km"), py::arg("station"), py::arg("phase"), py::arg("time"), py::arg("starts"),
      py::arg("features"), py::arg("pair_lo"), py::arg("pair_hi"), py::arg("workers") = 0,
      "Linker input sequences (x, index, length) of time-sorted picks from the given starts.");
}

void bind_link(py::module_& m) {
  m.def(
      "phaselink_link",
      [](const py::array& offsets, const py::array& members, std::int64_t n_picks, const py::dict& config) {
        const Csr sets = csr_arrays(offsets, members, "n_sets");
        const std::int64_t* po = sets.offsets;
        const py::ssize_t n_sets = sets.n_sets;
        const std::int64_t* pm = sets.members;
        // a cap that keeps the per-pick outputs and votes allocatable (12 bytes and a vector per pick)
        constexpr std::int64_t kMaxPicks = std::int64_t{1} << 28;
        if (n_picks < 0 || n_picks > kMaxPicks)
          throw py::value_error("n_picks: expected 0 to " + std::to_string(kMaxPicks) + " picks, got " +
                                std::to_string(n_picks));
        PL::LinkConfig C;
        const Options o(config, {"min_nucleate", "min_merge", "merge_fraction"}, "config");
        o.get("min_nucleate", C.min_nucleate);
        o.get("min_merge", C.min_merge);
        o.get("merge_fraction", C.merge_fraction);
        py::array_t<std::int64_t> cluster(static_cast<py::ssize_t>(n_picks));
        py::array_t<std::int32_t> votes(static_cast<py::ssize_t>(n_picks));
        std::int64_t* pc = cluster.mutable_data();
        std::int32_t* pv = votes.mutable_data();
        std::int64_t n_clusters = 0;
        {
          py::gil_scoped_release release;
          n_clusters = PL::link(n_picks, po, n_sets, pm, C, pc, pv);
        }
        return py::make_tuple(cluster, votes, n_clusters);
      },
      py::arg("offsets"), py::arg("members"), py::arg("n_picks"), py::arg("config"),
      "Clusters of linked picks (pick_cluster, pick_votes, n_clusters) from linked sets (CSR).");
}

void bind_locate(py::module_& m) {
  m.def(
      "phaselink_locate",
      [](const py::array& station, const py::array& phase, const py::array& time, const py::array& x_km,
         const py::array& y_km, const py::array& times, const py::tuple& axes, const py::object& station_table,
         const py::array& offsets, const py::array& members, const py::dict& config) {
        const auto P = pick_arrays(station, phase, time);
        const auto N = network_arrays(x_km, y_km, times, axes, station_table);
        const auto C = locate_from(config);
        const Csr clusters = csr_arrays(offsets, members, "n_clusters");
        const std::int64_t* po = clusters.offsets;
        const py::ssize_t n_clusters = clusters.n_sets;
        const std::int64_t* pm = clusters.members;
        PL::Located r;
        {
          py::gil_scoped_release release;
          r = PL::locate(N, P, po, n_clusters, pm, C);
        }
        py::dict out;
        out["cluster"] = to_numpy(std::move(r.cluster));
        out["x_km"] = to_numpy(std::move(r.x_km));
        out["y_km"] = to_numpy(std::move(r.y_km));
        out["z_km"] = to_numpy(std::move(r.z_km));
        out["time"] = to_numpy(std::move(r.time_s));
        out["n_inliers"] = to_numpy(std::move(r.n_inliers));
        out["event_of_member"] = to_numpy(std::move(r.event_of_member));
        out["residual_of_member"] = to_numpy(std::move(r.residual_of_member));
        return out;
      },
      py::arg("station"), py::arg("phase"), py::arg("time"), py::arg("x_km"), py::arg("y_km"), py::arg("times"),
      py::arg("axes"), py::arg("station_table"), py::arg("offsets"), py::arg("members"), py::arg("config"),
      "Origins of pick clusters by a coarse-to-fine grid search; inliers and residuals of the members.");
}

void bind_match(py::module_& m) {
  m.def(
      "phaselink_match",
      [](const py::array& station, const py::array& phase, const py::array& time, const py::array& x_km,
         const py::array& y_km, const py::array& times, const py::tuple& axes, const py::object& station_table,
         const py::array& events, double tolerance_s, double max_distance_km, int workers) {
        const auto P = pick_arrays(station, phase, time);
        const auto N = network_arrays(x_km, y_km, times, axes, station_table);
        require_dtype<double>(events, "events");
        require_ndim(events, 2, "events", "[n_events, 4]");
        if (events.shape(1) != 4 || !(events.flags() & py::array::c_style)) {
          throw py::value_error("events: expected a C-contiguous [n_events, 4] array (x_km, y_km, z_km, t0)");
        }
        const auto* pe = static_cast<const double*>(events.data());
        const std::int64_t n = events.shape(0);
        PL::Matches r;
        {
          py::gil_scoped_release release;
          r = PL::match(N, P, pe, n, tolerance_s, max_distance_km, workers);
        }
        py::dict out;
        out["event"] = to_numpy(std::move(r.event));
        out["pick"] = to_numpy(std::move(r.pick));
        out["residual"] = to_numpy(std::move(r.residual_s));
        return out;
      },
      py::arg("station"), py::arg("phase"), py::arg("time"), py::arg("x_km"), py::arg("y_km"), py::arg("times"),
      py::arg("axes"), py::arg("station_table"), py::arg("events"), py::arg("tolerance_s"),
      py::arg("max_distance_km"), py::arg("workers") = 0,
      "Each event's nearest pick per station and phase within the tolerance (event, pick, residual).");
}

void bind_pair_bounds(py::module_& m) {
  m.def(
      "phaselink_pair_bounds",
      [](const py::array& x_km, const py::array& y_km, const py::array& times, const py::tuple& axes,
         const py::object& station_table, const py::dict& volume, int n_grid, double margin_s, double slowness_s_km,
         int workers) {
        const auto N = network_arrays(x_km, y_km, times, axes, station_table);
        PL::Volume V;
        volume_from(Options(volume, {"x_min_km", "x_max_km", "y_min_km", "y_max_km", "z_min_km", "z_max_km"}, "volume"),
                    V);
        if (N.n_stations > 4000) throw py::value_error("phaselink_pair_bounds: at most 4,000 stations");
        const py::ssize_t n_k = 2 * N.n_stations;
        py::array_t<float> lo({n_k, n_k}), hi({n_k, n_k});
        float* pl = lo.mutable_data();
        float* ph = hi.mutable_data();
        {
          py::gil_scoped_release release;
          PL::pair_bounds(N, V, n_grid, margin_s, slowness_s_km, workers, pl, ph);
        }
        return py::make_tuple(lo, hi);
      },
      py::arg("x_km"), py::arg("y_km"), py::arg("times"), py::arg("axes"), py::arg("station_table"),
      py::arg("volume"), py::arg("n_grid"), py::arg("margin_s"), py::arg("slowness_s_km"), py::arg("workers") = 0,
      "Range of arrival-time differences (lo, hi) of every pair of station-phases over the volume.");
}

}  // namespace

// Registers into the seiscore._core.association submodule that bind_association made.
void bind_phaselink(py::module_& parent) {
  auto m = parent.attr("association").cast<py::module_>();
  bind_pair_bounds(m);
  bind_generate(m);
  bind_sequences(m);
  bind_link(m);
  bind_locate(m);
  bind_match(m);
}

}  // namespace seiscore::bindings
