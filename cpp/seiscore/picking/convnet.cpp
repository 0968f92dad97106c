#include "seiscore/picking/convnet.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "seiscore/core/error.hpp"
#include "seiscore/core/interrupt.hpp"

// The vector helpers are always inlined into one function: no vector crosses a call boundary.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

// The convolution loop is compiled three times on x86-64 (AVX-512, AVX2 + FMA, baseline) and
// the loader picks the one the CPU supports (function multi-versioning through an ifunc).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__) && \
    !defined(SEISCORE_NO_MULTIVERSION)
#define SEISCORE_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SEISCORE_MULTIVERSION
#endif
#define SEISCORE_INLINE inline __attribute__((always_inline))

namespace seiscore::picking {

namespace {

typedef float v16 __attribute__((vector_size(64)));

constexpr std::int64_t kBlock = 128;  // rows are whole blocks of this many samples
constexpr std::int64_t kLeft = 32;    // zero samples before every row
constexpr std::int64_t kRight = 128;  // zero samples after a row's last block
constexpr int kMaxKernel = 33;
constexpr int kMaxStride = 16;

std::int64_t round_up(std::int64_t n, std::int64_t m) { return (n + m - 1) / m * m; }

// Floats per row of a tensor of `length` samples: margins on both sides, whole blocks between.
std::int64_t row_stride(std::int64_t length) { return kLeft + round_up(length, kBlock) + kRight; }

SEISCORE_INLINE v16 load16(const float* p) {
  v16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

SEISCORE_INLINE void store16(float* p, v16 v) { std::memcpy(p, &v, sizeof v); }

SEISCORE_INLINE v16 splat(float x) { return v16{x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }

// CB output channels over n samples (rounded up to whole blocks of 16 * TV <= 64): out[c][t] = bias[c] + sum over
// taps k of w[k * ldw + c] * src[k][t], then max(., 0) when relu. CB x TV accumulators are
// independent chains of multiply-adds, enough of them to hide the FMA latency.
template <int CB, int TV>
SEISCORE_INLINE void conv_channels(const float* const* src, int ntaps, const float* w, int ldw, const float* bias,
                                   std::int64_t n, bool relu, float* const* out) {
  const v16 zero = splat(0.0f);
  for (std::int64_t t0 = 0; t0 < n; t0 += 16 * TV) {
    v16 a[CB][TV];
#pragma GCC unroll 8
    for (int c = 0; c < CB; ++c) {
#pragma GCC unroll 8
      for (int v = 0; v < TV; ++v) a[c][v] = splat(bias[c]);
    }
    for (int k = 0; k < ntaps; ++k) {
      const float* p = src[k] + t0;
      v16 x[TV];
#pragma GCC unroll 8
      for (int v = 0; v < TV; ++v) x[v] = load16(p + 16 * v);
      const float* wk = w + static_cast<std::int64_t>(k) * ldw;
#pragma GCC unroll 8
      for (int c = 0; c < CB; ++c) {
        const v16 wv = splat(wk[c]);
#pragma GCC unroll 8
        for (int v = 0; v < TV; ++v) a[c][v] += wv * x[v];
      }
    }
#pragma GCC unroll 8
    for (int c = 0; c < CB; ++c) {
#pragma GCC unroll 8
      for (int v = 0; v < TV; ++v) {
        if (relu) a[c][v] = a[c][v] > zero ? a[c][v] : zero;
        store16(out[c] + t0 + 16 * v, a[c][v]);
      }
    }
  }
}

SEISCORE_MULTIVERSION
void convolve(const float* const* src, int ntaps, const float* w, const float* bias, int n_out, std::int64_t n,
              bool relu, float* const* out) {
  int c = 0;
  // Short rows (the bottom of a U-Net): blocks as long as the row, so no lanes are wasted.
  if (n <= 16) {
    for (; c + 8 <= n_out; c += 8) conv_channels<8, 1>(src, ntaps, w + c, n_out, bias + c, n, relu, out + c);
  } else if (n > 32 && n <= 48) {
    for (; c + 8 <= n_out; c += 8) conv_channels<8, 3>(src, ntaps, w + c, n_out, bias + c, n, relu, out + c);
  }
  for (; c + 8 <= n_out; c += 8) conv_channels<8, 2>(src, ntaps, w + c, n_out, bias + c, n, relu, out + c);
  const float* wc = w + c;
  const float* bc = bias + c;
  float* const* oc = out + c;
  switch (n_out - c) {  // the remaining 1-7 channels in one pass
    case 7: conv_channels<7, 4>(src, ntaps, wc, n_out, bc, n, relu, oc); break;
    case 6: conv_channels<6, 4>(src, ntaps, wc, n_out, bc, n, relu, oc); break;
    case 5: conv_channels<5, 4>(src, ntaps, wc, n_out, bc, n, relu, oc); break;
    case 4: conv_channels<4, 4>(src, ntaps, wc, n_out, bc, n, relu, oc); break;
    case 3: conv_channels<3, 4>(src, ntaps, wc, n_out, bc, n, relu, oc); break;
    case 2: conv_channels<2, 8>(src, ntaps, wc, n_out, bc, n, relu, oc); break;
    case 1: conv_channels<1, 8>(src, ntaps, wc, n_out, bc, n, relu, oc); break;
    default: break;
  }
}

// e^x for x <= 0 (the argument of a softmax after its maximum is subtracted), 16 lanes: x =
// n ln2 + r with |r| <= ln2 / 2, e^r from Cephes' degree-6 polynomial for expf (relative error
// about 1e-7), 2^n put into the exponent bits. Below -87.3 the result is 0 (a float's range).
SEISCORE_INLINE v16 exp_nonpositive(v16 x) {
  typedef std::int32_t v16i __attribute__((vector_size(64)));
  const v16 x0 = x;
  const v16 lo = splat(-87.3f);
  const v16 valid = x >= lo ? splat(1.0f) : splat(0.0f);
  x = x >= lo ? x : lo;
  const v16 t = x * splat(1.44269504088896341f) - splat(0.5f);  // x <= 0: round to nearest
  const v16i ni = __builtin_convertvector(t, v16i);                 // truncates toward zero
  const v16 n = __builtin_convertvector(ni, v16);
  v16 r = x - n * splat(0.693359375f);
  r = r - n * splat(-2.12194440e-4f);
  v16 p = splat(1.9875691500e-4f);
  p = p * r + splat(1.3981999507e-3f);
  p = p * r + splat(8.3334519073e-3f);
  p = p * r + splat(4.1665795894e-2f);
  p = p * r + splat(1.6666665459e-1f);
  p = p * r + splat(5.0000001201e-1f);
  p = p * r * r + r + splat(1.0f);
  const v16i bits = (ni + 127) << 23;
  v16 scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const v16 e = p * scale * valid;
  return x0 == x0 ? e : x0;  // NaN stays NaN
}

// Softmax over n_rows rows at each of n samples (n_rows >= 1): out[c][t] = e^(x[c][t] - m[t]) /
// sum over c, m[t] the largest x[.][t]. Whole 16-sample vectors (rows have room past n).
SEISCORE_MULTIVERSION
void softmax_rows(const float* const* x, int n_rows, std::int64_t n, float* const* out) {
  for (std::int64_t t = 0; t < n; t += 16) {
    v16 top = load16(x[0] + t);
    for (int c = 1; c < n_rows; ++c) {
      const v16 v = load16(x[c] + t);
      top = v > top ? v : top;
    }
    v16 sum = splat(0.0f);
    for (int c = 0; c < n_rows; ++c) {
      const v16 e = exp_nonpositive(load16(x[c] + t) - top);
      store16(out[c] + t, e);
      sum += e;
    }
    for (int c = 0; c < n_rows; ++c) store16(out[c] + t, load16(out[c] + t) / sum);
  }
}

// phase[p][j] = x[s * j + p] for j < ceil(n_in / s) (0 past the end of x).
SEISCORE_MULTIVERSION
void deinterleave(const float* x, std::int64_t n_in, int s, float* const* phase) {
  if (s == 4) {
    const std::int64_t full = n_in / 4;
    float* p0 = phase[0];
    float* p1 = phase[1];
    float* p2 = phase[2];
    float* p3 = phase[3];
    for (std::int64_t j = 0; j < full; ++j) {
      p0[j] = x[4 * j];
      p1[j] = x[4 * j + 1];
      p2[j] = x[4 * j + 2];
      p3[j] = x[4 * j + 3];
    }
    for (std::int64_t t = 4 * full; t < round_up(n_in, 4); ++t) phase[t % 4][t / 4] = t < n_in ? x[t] : 0.0f;
    return;
  }
  for (std::int64_t t = 0; t < round_up(n_in, s); ++t) phase[t % s][t / s] = t < n_in ? x[t] : 0.0f;
}

// y[s * j + p] = phase[p][j] for the n_out samples of y.
SEISCORE_MULTIVERSION
void interleave(float* const* phase, std::int64_t n_out, int s, float* y) {
  if (s == 4) {
    const std::int64_t full = n_out / 4;
    const float* p0 = phase[0];
    const float* p1 = phase[1];
    const float* p2 = phase[2];
    const float* p3 = phase[3];
    for (std::int64_t j = 0; j < full; ++j) {
      y[4 * j] = p0[j];
      y[4 * j + 1] = p1[j];
      y[4 * j + 2] = p2[j];
      y[4 * j + 3] = p3[j];
    }
    for (std::int64_t t = 4 * full; t < n_out; ++t) y[t] = phase[t % 4][t / 4];
    return;
  }
  for (std::int64_t t = 0; t < n_out; ++t) y[t] = phase[t % s][t / s];
}

// Zero a slot's left margins (its buffer may hold an earlier slot's data).
void clear_margins(float* base, int rows, std::int64_t stride) {
  for (int r = 0; r < rows; ++r) std::fill(base + r * stride, base + r * stride + kLeft, 0.0f);
}

// Zero each row past `length` (what the last block of a pass wrote, or an earlier slot's data).
void clear_tails(float* base, int rows, std::int64_t stride, std::int64_t length) {
  for (int r = 0; r < rows; ++r) std::fill(base + r * stride + kLeft + length, base + (r + 1) * stride, 0.0f);
}

}  // namespace

int ConvNet::add_slot(int rows, std::int64_t length) {
  slots_.push_back({0, rows, length, row_stride(length)});
  return static_cast<int>(slots_.size()) - 1;
}

ConvNet::ConvNet(int in_channels, std::int64_t length, std::vector<NetOp> ops, int output)
    : in_channels_(in_channels), length_(length), ops_(std::move(ops)), output_(output) {
  SEISCORE_CHECK(in_channels >= 1 && in_channels <= 4096, "in_channels must be in 1..4096, got " << in_channels);
  SEISCORE_CHECK(length >= 1 && length <= (std::int64_t{1} << 24),
                 "length must be in 1..2^24 samples, got " << length);
  SEISCORE_CHECK(!ops_.empty(), "the network has no operations");
  SEISCORE_CHECK(ops_.size() <= 4096, "too many operations: " << ops_.size());
  auto own_rows = [](int slot, int n) {
    std::vector<RowRef> r;
    for (int c = 0; c < n; ++c) r.push_back({slot, c});
    return r;
  };
  shapes_.push_back({in_channels, length});
  rows_.push_back(own_rows(add_slot(in_channels, length), in_channels));
  plans_.resize(ops_.size());
  auto input_shape = [&](std::size_t i, int id) -> Shape {
    SEISCORE_CHECK(id >= 0 && id < static_cast<int>(shapes_.size()),
                   "op " << i << ": input tensor " << id << " is not defined before it");
    return shapes_[static_cast<std::size_t>(id)];
  };
  for (std::size_t i = 0; i < ops_.size(); ++i) {
    NetOp& op = ops_[i];
    Plan& plan = plans_[i];
    SEISCORE_CHECK(op.output == static_cast<int>(shapes_.size()),
                   "op " << i << ": output tensor must be " << shapes_.size() << " (tensors are numbered in order), got "
                         << op.output);
    if (op.kind == NetOpKind::Concat) {
      SEISCORE_CHECK(op.inputs.size() >= 2, "op " << i << ": concat needs at least two inputs");
    } else {
      SEISCORE_CHECK(op.inputs.size() == 1, "op " << i << ": expected one input, got " << op.inputs.size());
    }
    Shape out{};
    if (op.kind == NetOpKind::Conv || op.kind == NetOpKind::ConvTranspose) {
      const Shape in = input_shape(i, op.inputs[0]);
      const std::vector<RowRef>& in_rows = rows_[static_cast<std::size_t>(op.inputs[0])];
      SEISCORE_CHECK(op.in_channels == in.channels,
                     "op " << i << ": in_channels " << op.in_channels << " but the input has " << in.channels);
      SEISCORE_CHECK(op.out_channels >= 1 && op.out_channels <= 4096, "op " << i << ": out_channels must be in 1..4096");
      SEISCORE_CHECK(op.kernel >= 1 && op.kernel <= kMaxKernel, "op " << i << ": kernel must be in 1.." << kMaxKernel);
      SEISCORE_CHECK(op.stride >= 1 && op.stride <= kMaxStride, "op " << i << ": stride must be in 1.." << kMaxStride);
      SEISCORE_CHECK(op.pad_left >= 0 && op.pad_right >= 0 && op.pad_left < op.kernel && op.pad_right < op.kernel,
                     "op " << i << ": pads must be in 0..kernel-1");
      const std::size_t n_weight = static_cast<std::size_t>(op.in_channels) * op.out_channels * op.kernel;
      SEISCORE_CHECK(op.weight.size() == n_weight,
                     "op " << i << ": weight has " << op.weight.size() << " values, expected " << n_weight);
      SEISCORE_CHECK(op.bias.size() == static_cast<std::size_t>(op.out_channels),
                     "op " << i << ": bias has " << op.bias.size() << " values, expected " << op.out_channels);
      const int s = op.stride, K = op.kernel;
      std::int64_t src_len = in.length;  // samples of the rows the taps read
      if (op.kind == NetOpKind::Conv) {
        const std::int64_t padded = in.length + op.pad_left + op.pad_right;
        SEISCORE_CHECK(padded >= K, "op " << i << ": input of " << in.length << " samples is shorter than the kernel");
        out = {op.out_channels, (padded - K) / s + 1};
        if (s > 1) {
          src_len = (in.length + s - 1) / s;
          plan.phase_slot = add_slot(s * op.in_channels, src_len);
        }
        Pass pass;
        pass.length = out.length;
        for (int c = 0; c < op.in_channels; ++c) {
          for (int k = 0; k < K; ++k) {
            const std::int64_t m = k - op.pad_left;  // output t reads input s*t + m
            if (s == 1) {
              pass.taps.push_back({in_rows[c].slot, in_rows[c].row, m});
            } else {
              const std::int64_t p = ((m % s) + s) % s;
              pass.taps.push_back({plan.phase_slot, static_cast<int>(p) * op.in_channels + c, (m - p) / s});
            }
            for (int o = 0; o < op.out_channels; ++o) {
              pass.weight.push_back(op.weight[(static_cast<std::size_t>(o) * op.in_channels + c) * K + k]);
            }
          }
        }
        plan.passes.push_back(std::move(pass));
      } else {
        // ONNX ConvTranspose (no output padding): out[s*i + k - pad_left] += x[i] * w[k].
        const std::int64_t full = (in.length - 1) * s + K;
        SEISCORE_CHECK(full > op.pad_left + op.pad_right, "op " << i << ": the pads remove the whole output");
        out = {op.out_channels, full - op.pad_left - op.pad_right};
        plan.phase_slot = add_slot(s * op.out_channels, (out.length + s - 1) / s);
        for (int r = 0; r < s && r < out.length; ++r) {  // outputs s*j + r
          Pass pass;
          pass.phase = r;
          pass.length = (out.length - r + s - 1) / s;
          for (int c = 0; c < op.in_channels; ++c) {
            for (int k = 0; k < K; ++k) {
              const int q = k - op.pad_left - r;  // x[j - q/s] feeds out[s*j + r] through w[k]
              if (((q % s) + s) % s != 0) continue;
              pass.taps.push_back({in_rows[c].slot, in_rows[c].row, -static_cast<std::int64_t>(q / s)});
              for (int o = 0; o < op.out_channels; ++o) {
                pass.weight.push_back(op.weight[(static_cast<std::size_t>(c) * op.out_channels + o) * K + k]);
              }
            }
          }
          plan.passes.push_back(std::move(pass));
        }
      }
      // Every read stays inside the source rows' zero margins.
      for (const Pass& pass : plan.passes) {
        for (const Tap& tap : pass.taps) {
          SEISCORE_CHECK(tap.offset >= -kLeft && round_up(pass.length, kBlock) + 64 + tap.offset <=
                                                     round_up(src_len, kBlock) + kRight,
                         "op " << i << ": kernel, stride and pads reach too far outside the input");
        }
      }
    } else if (op.kind == NetOpKind::Concat) {
      const Shape first = input_shape(i, op.inputs[0]);
      out = {0, first.length};
      for (int id : op.inputs) {
        const Shape in = input_shape(i, id);
        SEISCORE_CHECK(in.length == first.length, "op " << i << ": concat of inputs with " << first.length << " and "
                                                        << in.length << " samples");
        out.channels += in.channels;
        SEISCORE_CHECK(out.channels <= 4096, "op " << i << ": more than 4096 channels");
      }
    } else if (op.kind == NetOpKind::Crop) {
      const Shape in = input_shape(i, op.inputs[0]);
      SEISCORE_CHECK(op.start >= 0 && op.start < op.end && op.end <= in.length,
                     "op " << i << ": crop [" << op.start << ", " << op.end << ") outside 0.." << in.length);
      out = {in.channels, op.end - op.start};
    } else {
      out = input_shape(i, op.inputs[0]);
    }
    if (op.kind == NetOpKind::Concat) {
      std::vector<RowRef> refs;
      for (int id : op.inputs) {
        const auto& r = rows_[static_cast<std::size_t>(id)];
        refs.insert(refs.end(), r.begin(), r.end());
      }
      rows_.push_back(std::move(refs));
    } else {
      plan.out_slot = add_slot(out.channels, out.length);
      rows_.push_back(own_rows(plan.out_slot, out.channels));
    }
    shapes_.push_back(out);
  }
  SEISCORE_CHECK(output >= 0 && output < static_cast<int>(shapes_.size()),
                 "output tensor " << output << " is not defined (0.." << shapes_.size() - 1 << ")");
  plan_memory();
}

// Give every slot a scratch buffer, reusing the buffers of slots no longer read.
void ConvNet::plan_memory() {
  const int n_ops = static_cast<int>(ops_.size());
  std::vector<int> last_use(slots_.size(), -1);
  for (int i = 0; i < n_ops; ++i) {
    for (int id : ops_[static_cast<std::size_t>(i)].inputs) {
      for (const RowRef& r : rows_[static_cast<std::size_t>(id)]) last_use[r.slot] = i;
    }
    if (plans_[i].phase_slot >= 0) last_use[plans_[i].phase_slot] = i;
    if (plans_[i].out_slot >= 0) last_use[plans_[i].out_slot] = std::max(last_use[plans_[i].out_slot], i);
  }
  for (const RowRef& r : rows_[static_cast<std::size_t>(output_)]) last_use[r.slot] = n_ops;  // kept to the end
  std::vector<int> free_buffers;
  auto take = [&](int slot) {
    const std::int64_t need = slots_[slot].rows * slots_[slot].stride;
    int best = -1;  // the smallest free buffer that is large enough, else the largest free one
    for (std::size_t k = 0; k < free_buffers.size(); ++k) {
      const std::int64_t have = buffers_[free_buffers[k]];
      if (best < 0) {
        best = static_cast<int>(k);
        continue;
      }
      const std::int64_t cur = buffers_[free_buffers[best]];
      if ((have >= need && (cur < need || have < cur)) || (cur < need && have > cur)) best = static_cast<int>(k);
    }
    if (best < 0) {
      buffers_.push_back(need);
      slots_[slot].buffer = static_cast<int>(buffers_.size()) - 1;
      return;
    }
    const int b = free_buffers[best];
    free_buffers.erase(free_buffers.begin() + best);
    buffers_[b] = std::max(buffers_[b], need);
    slots_[slot].buffer = b;
  };
  auto release_after = [&](int i) {
    for (std::size_t s = 0; s < slots_.size(); ++s) {
      if (last_use[s] == i) free_buffers.push_back(slots_[s].buffer);
    }
  };
  take(0);
  for (int i = 0; i < n_ops; ++i) {
    if (plans_[i].phase_slot >= 0) take(plans_[i].phase_slot);
    if (plans_[i].out_slot >= 0) take(plans_[i].out_slot);
    release_after(i);
  }
}

void ConvNet::run(const float* x, std::int64_t batch, float* y) const {
  SEISCORE_CHECK(batch >= 0, "batch must be >= 0");
  if (batch == 0) return;
  // Scratch buffers are kept per thread between calls (a fresh allocation of this size is a
  // fresh mapping: page faults on every call). Their contents need no clearing: every slot's
  // margins and tails are zeroed when it is written, and nothing is read before it is written.
  thread_local std::vector<std::vector<float>> buffers;
  if (buffers.size() < buffers_.size()) buffers.resize(buffers_.size());
  for (std::size_t b = 0; b < buffers_.size(); ++b) {
    if (buffers[b].size() < static_cast<std::size_t>(buffers_[b])) buffers[b].resize(static_cast<std::size_t>(buffers_[b]));
  }
  struct Trim {  // a large network's scratch is not kept
    ~Trim() {
      std::size_t total = 0;
      for (const auto& v : buffers) total += v.size();
      if (total > (std::size_t{16} << 20)) buffers.clear();
    }
  } trim;
  auto base = [&](int slot) { return buffers[static_cast<std::size_t>(slots_[slot].buffer)].data(); };
  auto row = [&](int slot, int r) { return base(slot) + r * slots_[slot].stride + kLeft; };
  auto begin_write = [&](int slot) { clear_margins(base(slot), slots_[slot].rows, slots_[slot].stride); };
  auto end_write = [&](int slot) {
    clear_tails(base(slot), slots_[slot].rows, slots_[slot].stride, slots_[slot].length);
  };
  std::vector<const float*> src;
  std::vector<float*> dst;
  const std::int64_t in_size = static_cast<std::int64_t>(in_channels_) * length_;
  const Shape out_shape = shapes_[static_cast<std::size_t>(output_)];
  const std::int64_t out_size = static_cast<std::int64_t>(out_shape.channels) * out_shape.length;

  for (std::int64_t b = 0; b < batch; ++b) {
    interrupt_point();
    begin_write(0);
    for (int c = 0; c < in_channels_; ++c) {
      std::memcpy(row(0, c), x + b * in_size + c * length_, static_cast<std::size_t>(length_) * sizeof(float));
    }
    end_write(0);
    for (std::size_t i = 0; i < ops_.size(); ++i) {
      const NetOp& op = ops_[i];
      const Plan& plan = plans_[i];
      const std::vector<RowRef>& in_rows = rows_[static_cast<std::size_t>(op.inputs[0])];
      switch (op.kind) {
        case NetOpKind::Conv:
        case NetOpKind::ConvTranspose: {
          const int s = op.stride;
          const std::int64_t in_len = shapes_[static_cast<std::size_t>(op.inputs[0])].length;
          if (op.kind == NetOpKind::Conv && s > 1) {  // de-interleave the input into its phases
            begin_write(plan.phase_slot);
            for (int c = 0; c < op.in_channels; ++c) {
              dst.clear();
              for (int p = 0; p < s; ++p) dst.push_back(row(plan.phase_slot, p * op.in_channels + c));
              deinterleave(row(in_rows[c].slot, in_rows[c].row), in_len, s, dst.data());
            }
            end_write(plan.phase_slot);
          }
          for (const Pass& pass : plan.passes) {
            src.clear();
            for (const Tap& tap : pass.taps) src.push_back(row(tap.slot, tap.row) + tap.offset);
            dst.clear();
            for (int o = 0; o < op.out_channels; ++o) {
              dst.push_back(op.kind == NetOpKind::Conv ? row(plan.out_slot, o)
                                                       : row(plan.phase_slot, pass.phase * op.out_channels + o));
            }
            convolve(src.data(), static_cast<int>(pass.taps.size()), pass.weight.data(), op.bias.data(),
                     op.out_channels, pass.length, op.relu, dst.data());
          }
          begin_write(plan.out_slot);
          if (op.kind == NetOpKind::ConvTranspose) {  // interleave the output phases
            for (int o = 0; o < op.out_channels; ++o) {
              dst.clear();
              for (int p = 0; p < s; ++p) dst.push_back(row(plan.phase_slot, p * op.out_channels + o));
              interleave(dst.data(), slots_[plan.out_slot].length, s, row(plan.out_slot, o));
            }
          }
          end_write(plan.out_slot);
          break;
        }
        case NetOpKind::Concat:  // a view of its inputs' rows
          break;
        case NetOpKind::Crop: {
          begin_write(plan.out_slot);
          for (int c = 0; c < slots_[plan.out_slot].rows; ++c) {
            std::memcpy(row(plan.out_slot, c), row(in_rows[c].slot, in_rows[c].row) + op.start,
                        static_cast<std::size_t>(slots_[plan.out_slot].length) * sizeof(float));
          }
          end_write(plan.out_slot);
          break;
        }
        case NetOpKind::Softmax: {  // over the channels, at every sample
          src.clear();
          dst.clear();
          for (int c = 0; c < slots_[plan.out_slot].rows; ++c) {
            src.push_back(row(in_rows[c].slot, in_rows[c].row));
            dst.push_back(row(plan.out_slot, c));
          }
          begin_write(plan.out_slot);
          softmax_rows(src.data(), static_cast<int>(src.size()), slots_[plan.out_slot].length, dst.data());
          end_write(plan.out_slot);
          break;
        }
      }
    }
    const std::vector<RowRef>& res = rows_[static_cast<std::size_t>(output_)];
    for (int c = 0; c < out_shape.channels; ++c) {
      std::memcpy(y + b * out_size + c * out_shape.length, row(res[c].slot, res[c].row),
                  static_cast<std::size_t>(out_shape.length) * sizeof(float));
    }
  }
}

}  // namespace seiscore::picking
