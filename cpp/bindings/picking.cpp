// bindings/picking.cpp — seiscore._core.picking: convert, validate, release the GIL, call.
#include "seiscore/picking/convnet.hpp"
#include "seiscore/picking/peaks.hpp"
#include "seiscore/picking/windows.hpp"

#include <algorithm>
#include <memory>
#include <string>

#include "common.hpp"

namespace seiscore::bindings {

namespace {

picking::SeriesLayout layout_of(const py::array& prob) {
  require_dtype<float>(prob, "prob");
  require_ndim(prob, 3, "prob", "[n_traces, n_phases, n_samples]");
  picking::SeriesLayout L;
  L.n_traces = prob.shape(0);
  L.n_phases = prob.shape(1);
  L.n_samples = prob.shape(2);
  L.trace_stride = element_stride<float>(prob, 0, "prob");
  L.phase_stride = element_stride<float>(prob, 1, "prob");
  L.sample_stride = element_stride<float>(prob, 2, "prob");
  return L;
}

py::dict to_dict(picking::PickColumns&& c) {
  py::dict d;
  d["trace"] = to_numpy(std::move(c.trace));
  d["phase"] = to_numpy(std::move(c.phase));
  d["index"] = to_numpy(std::move(c.index));
  d["position"] = to_numpy(std::move(c.position));
  d["value"] = to_numpy(std::move(c.value));
  d["start"] = to_numpy(std::move(c.start));
  d["end"] = to_numpy(std::move(c.end));
  return d;
}

// data float32 [n_channels, n_samples] with contiguous samples, rows int64 [n_rows].
picking::RecordView record_of(const py::array& data, const py::array& rows) {
  require_dtype<float>(data, "data");
  require_ndim(data, 2, "data", "[n_channels, n_samples]");
  if (data.shape(1) > 1 && data.strides(1) != static_cast<py::ssize_t>(sizeof(float))) {
    throw py::value_error("data: samples must be contiguous; pass np.ascontiguousarray(data)");
  }
  picking::RecordView r;
  r.data = static_cast<const float*>(data.data());
  r.n_channels = data.shape(0);
  r.n_samples = data.shape(1);
  r.channel_stride = element_stride<float>(data, 0, "data");
  require_dtype<std::int64_t>(rows, "rows");
  if (rows.ndim() != 1) throw py::value_error("rows: expected a 1-D array of channel indices");
  r.n_rows = rows.shape(0);
  r.rows = vector_arg<std::int64_t>(rows, r.n_rows, "rows");
  return r;
}

// A writeable C-contiguous float32 array with the given shape.
float* output_arg(const py::array& a, const std::vector<py::ssize_t>& shape, const char* name) {
  require_dtype<float>(a, name);
  bool same = a.ndim() == static_cast<py::ssize_t>(shape.size());
  for (std::size_t i = 0; same && i < shape.size(); ++i) same = a.shape(static_cast<py::ssize_t>(i)) == shape[i];
  if (!same) {
    std::string want;
    for (auto d : shape) want += (want.empty() ? "" : ", ") + std::to_string(d);
    throw py::value_error(std::string(name) + ": expected shape [" + want + "]");
  }
  if (!(a.flags() & py::array::c_style)) throw py::value_error(std::string(name) + ": must be C-contiguous");
  if (!a.writeable()) throw py::value_error(std::string(name) + ": must be writeable");
  return static_cast<float*>(const_cast<void*>(a.data()));
}

picking::Normalisation normalisation_of(const std::string& how) {
  if (how == "none") return picking::Normalisation::none;
  if (how == "demean") return picking::Normalisation::demean;
  if (how == "std") return picking::Normalisation::std;
  if (how == "peak") return picking::Normalisation::peak;
  throw py::value_error("normalisation: expected 'none', 'demean', 'std' or 'peak', got '" + how + "'");
}

void bind_windows(py::module_& m) {
  m.def(
      "finite_runs",
      [](const py::array& data, const py::array& rows) {
        const auto r = record_of(data, rows);
        picking::Runs runs;
        {
          py::gil_scoped_release release;
          runs = picking::finite_runs(r);
        }
        return py::make_tuple(to_numpy(std::move(runs.start)), to_numpy(std::move(runs.end)));
      },
      py::arg("data"), py::arg("rows"), "Half-open runs [start, end) where every row of data[rows] is finite.");

  m.def(
      "plan_windows",
      [](const py::array& data, const py::array& rows, std::int64_t window, std::int64_t step) {
        const auto r = record_of(data, rows);
        picking::WindowPlan plan;
        {
          py::gil_scoped_release release;
          plan = picking::plan_windows(r, window, step);
        }
        py::dict d;
        d["start"] = to_numpy(std::move(plan.start));
        d["valid"] = to_numpy(std::move(plan.valid));
        d["left"] = to_numpy(std::move(plan.left));
        d["right"] = to_numpy(std::move(plan.right));
        return d;
      },
      py::arg("data"), py::arg("rows"), py::arg("window"), py::arg("step"),
      "Windows (start, valid, taper flags) over the finite runs of data[rows].");

  m.def(
      "cut_windows",
      [](const py::array& data, const py::array& rows, const py::array& start, const py::array& valid,
         const py::array& out, const std::string& normalisation, bool channels_last, int workers) {
        const auto r = record_of(data, rows);
        const auto norm = normalisation_of(normalisation);
        require_dtype<std::int64_t>(start, "start");
        if (start.ndim() != 1) throw py::value_error("start: expected a 1-D array");
        const py::ssize_t n = start.shape(0);
        const auto* st = vector_arg<std::int64_t>(start, n, "start");
        const auto* va = vector_arg<std::int64_t>(valid, n, "valid");
        require_ndim(out, 3, "out", channels_last ? "[n_windows, window, n_rows]" : "[n_windows, n_rows, window]");
        const py::ssize_t window = out.shape(channels_last ? 1 : 2);
        const py::ssize_t nr = static_cast<py::ssize_t>(r.n_rows);
        float* o = output_arg(out, channels_last ? std::vector<py::ssize_t>{n, window, nr}
                                                 : std::vector<py::ssize_t>{n, nr, window},
                              "out");
        {
          py::gil_scoped_release release;
          picking::cut_windows(r, st, va, n, window, norm, channels_last, o, workers);
        }
      },
      py::arg("data"), py::arg("rows"), py::arg("start"), py::arg("valid"), py::arg("out"),
      py::arg("normalisation"), py::arg("channels_last") = false, py::arg("workers") = 1,
      "Windows of data[rows], normalised per window and row, written into out (NCW or NWC).");

  m.def(
      "stitch_windows",
      [](const py::array& y, const py::array& labels, const py::array& start, const py::array& valid,
         const py::array& left, const py::array& right, std::int64_t edge, const py::array& acc,
         const py::array& weight) {
        require_dtype<float>(y, "y");
        require_ndim(y, 3, "y", "[n_windows, n_labels, window]");
        picking::OutputView v;
        v.y = static_cast<const float*>(y.data());
        v.n_windows = y.shape(0);
        v.n_labels = y.shape(1);
        v.window = y.shape(2);
        v.window_stride = element_stride<float>(y, 0, "y");
        v.label_stride = element_stride<float>(y, 1, "y");
        v.sample_stride = element_stride<float>(y, 2, "y");
        const py::ssize_t n = y.shape(0);
        const auto* st = vector_arg<std::int64_t>(start, n, "start");
        const auto* va = vector_arg<std::int64_t>(valid, n, "valid");
        const auto* le = vector_arg<std::uint8_t>(left, n, "left");
        const auto* ri = vector_arg<std::uint8_t>(right, n, "right");
        require_dtype<std::int64_t>(labels, "labels");
        if (labels.ndim() != 1) throw py::value_error("labels: expected a 1-D array");
        const py::ssize_t n_out = labels.shape(0);
        const auto* lab = vector_arg<std::int64_t>(labels, n_out, "labels");
        require_ndim(acc, 2, "acc", "[n_labels_out, n_samples]");
        const py::ssize_t n_samples = acc.shape(1);
        float* a = output_arg(acc, {n_out, n_samples}, "acc");
        float* w = output_arg(weight, {n_samples}, "weight");
        {
          py::gil_scoped_release release;
          picking::stitch_windows(v, lab, n_out, st, va, le, ri, edge, a, w, n_samples);
        }
      },
      py::arg("y"), py::arg("labels"), py::arg("start"), py::arg("valid"), py::arg("left"), py::arg("right"),
      py::arg("edge"), py::arg("acc"), py::arg("weight"),
      "Add window outputs y[:, labels] with cosine-tapered weights into acc and weight.");

  m.def(
      "finish_stitch",
      [](const py::array& acc, const py::array& weight) {
        require_ndim(acc, 2, "acc", "[n_labels_out, n_samples]");
        float* a = output_arg(acc, {acc.shape(0), acc.shape(1)}, "acc");
        require_dtype<float>(weight, "weight");
        const float* w = vector_arg<float>(weight, acc.shape(1), "weight");
        {
          py::gil_scoped_release release;
          picking::finish_stitch(a, w, acc.shape(0), acc.shape(1));
        }
      },
      py::arg("acc"), py::arg("weight"), "acc /= weight where weight > 0, NaN elsewhere (in place).");
}


// One operation of a ConvNet from a dict (keys as in seiscore.models.native).
picking::NetOp net_op_of(const py::handle& h, std::size_t i) {
  const std::string where = "ops[" + std::to_string(i) + "]";
  if (!py::isinstance<py::dict>(h)) throw py::type_error(where + ": expected a dict");
  const py::dict d = py::reinterpret_borrow<py::dict>(h);
  auto get = [&](const char* key) -> py::object {
    if (!d.contains(key)) throw py::value_error(where + ": missing key '" + key + "'");
    return d[key];
  };
  picking::NetOp op;
  const std::string kind = cast_arg<std::string>(get("kind"), where + ".kind");
  for (const auto& v : get("inputs")) op.inputs.push_back(cast_arg<int>(v, where + ".inputs"));
  op.output = cast_arg<int>(get("output"), where + ".output");
  if (kind == "conv" || kind == "conv_transpose") {
    op.kind = kind == "conv" ? picking::NetOpKind::Conv : picking::NetOpKind::ConvTranspose;
    const py::array w = py::array::ensure(get("weight"));
    const py::array b = py::array::ensure(get("bias"));
    if (!w || !b) throw py::type_error(where + ": weight and bias must be arrays");
    require_dtype<float>(w, (where + ".weight").c_str());
    require_ndim(w, 3, (where + ".weight").c_str(), kind == "conv" ? "[out, in, kernel]" : "[in, out, kernel]");
    if (!(w.flags() & py::array::c_style)) throw py::value_error(where + ".weight: must be C-contiguous");
    op.in_channels = static_cast<int>(w.shape(kind == "conv" ? 1 : 0));
    op.out_channels = static_cast<int>(w.shape(kind == "conv" ? 0 : 1));
    op.kernel = static_cast<int>(w.shape(2));
    const float* wp = static_cast<const float*>(w.data());
    op.weight.assign(wp, wp + w.size());
    const float* bp = vector_arg<float>(b, w.shape(kind == "conv" ? 0 : 1), (where + ".bias").c_str());
    op.bias.assign(bp, bp + op.out_channels);
    op.stride = cast_arg<int>(get("stride"), where + ".stride");
    op.pad_left = cast_arg<int>(get("pad_left"), where + ".pad_left");
    op.pad_right = cast_arg<int>(get("pad_right"), where + ".pad_right");
    op.relu = cast_arg<bool>(get("relu"), where + ".relu");
  } else if (kind == "concat") {
    op.kind = picking::NetOpKind::Concat;
  } else if (kind == "crop") {
    op.kind = picking::NetOpKind::Crop;
    op.start = cast_arg<std::int64_t>(get("start"), where + ".start");
    op.end = cast_arg<std::int64_t>(get("end"), where + ".end");
  } else if (kind == "softmax") {
    op.kind = picking::NetOpKind::Softmax;
  } else {
    throw py::value_error(where + ".kind: expected 'conv', 'conv_transpose', 'concat', 'crop' or 'softmax', got '" +
                          kind + "'");
  }
  return op;
}

std::shared_ptr<picking::ConvNet> make_convnet(int in_channels, std::int64_t length, const py::list& ops, int output) {
  std::vector<picking::NetOp> list;
  for (std::size_t i = 0; i < ops.size(); ++i) list.push_back(net_op_of(ops[i], i));
  return std::make_shared<picking::ConvNet>(in_channels, length, std::move(list), output);
}

// The dict net_op_of() reads.
py::dict net_op_dict(const picking::NetOp& op) {
  static const char* kinds[] = {"conv", "conv_transpose", "concat", "crop", "softmax"};
  py::dict d;
  d["kind"] = kinds[static_cast<int>(op.kind)];
  py::list inputs;
  for (int i : op.inputs) inputs.append(i);
  d["inputs"] = inputs;
  d["output"] = op.output;
  if (op.kind == picking::NetOpKind::Conv || op.kind == picking::NetOpKind::ConvTranspose) {
    const bool conv = op.kind == picking::NetOpKind::Conv;
    py::array_t<float> w({conv ? op.out_channels : op.in_channels, conv ? op.in_channels : op.out_channels, op.kernel});
    std::copy(op.weight.begin(), op.weight.end(), w.mutable_data());
    py::array_t<float> b(static_cast<py::ssize_t>(op.bias.size()));
    std::copy(op.bias.begin(), op.bias.end(), b.mutable_data());
    d["weight"] = w;
    d["bias"] = b;
    d["stride"] = op.stride;
    d["pad_left"] = op.pad_left;
    d["pad_right"] = op.pad_right;
    d["relu"] = op.relu;
  } else if (op.kind == picking::NetOpKind::Crop) {
    d["start"] = op.start;
    d["end"] = op.end;
  }
  return d;
}

void bind_convnet(py::module_& m) {
  py::class_<picking::ConvNet, std::shared_ptr<picking::ConvNet>>(
      m, "ConvNet", "A 1-D convolutional network built by convnet() and run by convnet_run().")
      .def_property_readonly("in_channels", &picking::ConvNet::in_channels)
      .def_property_readonly("in_length", &picking::ConvNet::in_length)
      .def_property_readonly("out_channels", &picking::ConvNet::out_channels)
      .def_property_readonly("out_length", &picking::ConvNet::out_length)
      .def_property_readonly("isa", [](const picking::ConvNet&) { return std::string(picking::ConvNet::isa()); },
                             "Instruction set of the loops on this CPU: avx512, avx2 or baseline.")
      .def(py::pickle(
          [](const picking::ConvNet& net) {  // the arguments of convnet(), to rebuild it
            py::list ops;
            for (const picking::NetOp& op : net.ops()) ops.append(net_op_dict(op));
            return py::make_tuple(net.in_channels(), net.in_length(), ops, net.output());
          },
          [](const py::tuple& t) {
            if (t.size() != 4) throw py::value_error("ConvNet state: expected 4 items");
            return make_convnet(cast_arg<int>(t[0], "in_channels"), cast_arg<std::int64_t>(t[1], "length"),
                                py::list(t[2]), cast_arg<int>(t[3], "output"));
          }));

  m.def(
      "convnet",
      &make_convnet,
      py::arg("in_channels"), py::arg("length"), py::arg("ops"), py::arg("output"),
      "A network of conv / conv_transpose / concat / crop / softmax operations over [channel, time] windows; "
      "tensor 0 is the input, op i writes tensor i + 1.");

  m.def(
      "convnet_run",
      [](const picking::ConvNet& net, const py::array& x, const py::array& y) {
        require_dtype<float>(x, "x");
        require_ndim(x, 3, "x", "[batch, in_channels, in_length]");
        if (!(x.flags() & py::array::c_style)) throw py::value_error("x: must be C-contiguous");
        if (x.shape(1) != net.in_channels() || x.shape(2) != net.in_length()) {
          throw py::value_error("x: expected [batch, " + std::to_string(net.in_channels()) + ", " +
                                std::to_string(net.in_length()) + "]");
        }
        float* out = output_arg(y, {x.shape(0), net.out_channels(), static_cast<py::ssize_t>(net.out_length())}, "y");
        const float* in = static_cast<const float*>(x.data());
        const std::int64_t batch = x.shape(0);
        {
          py::gil_scoped_release release;
          net.run(in, batch, out);
        }
      },
      py::arg("net"), py::arg("x"), py::arg("y"), "Run the network on a batch x, writing y in place.");
}
}  // namespace

void bind_picking(py::module_& parent) {
  auto m = parent.def_submodule("picking", "Pick extraction from phase-probability traces");

  m.def(
      "find_peaks",
      [](const py::array& prob, const py::array& height, const py::array& distance, int workers) {
        const auto L = layout_of(prob);
        const float* h = vector_arg<float>(height, L.n_phases, "height");
        const std::int64_t* d = vector_arg<std::int64_t>(distance, L.n_phases, "distance");
        const float* p = static_cast<const float*>(prob.data());
        picking::PickColumns cols;
        {
          py::gil_scoped_release release;
          cols = picking::find_peaks(p, L, h, d, workers);
        }
        return to_dict(std::move(cols));
      },
      py::arg("prob"), py::arg("height"), py::arg("distance"), py::arg("workers") = 0,
      "Peaks above height[phase] at least distance[phase] samples apart (scipy.signal.find_peaks rules).");

  m.def(
      "find_triggers",
      [](const py::array& prob, const py::array& on, const py::array& off, int workers) {
        const auto L = layout_of(prob);
        const float* pon = vector_arg<float>(on, L.n_phases, "on");
        const float* poff = vector_arg<float>(off, L.n_phases, "off");
        const float* p = static_cast<const float*>(prob.data());
        picking::PickColumns cols;
        {
          py::gil_scoped_release release;
          cols = picking::find_triggers(p, L, pon, poff, workers);
        }
        return to_dict(std::move(cols));
      },
      py::arg("prob"), py::arg("on"), py::arg("off"), py::arg("workers") = 0,
      "One pick per hysteresis-trigger segment (on/off thresholds), at the segment maximum.");

  bind_windows(m);
  bind_convnet(m);
}

}  // namespace seiscore::bindings
