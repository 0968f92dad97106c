#include "seiscore/picking/convnet.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "seiscore/core/error.hpp"
#include "seiscore/core/interrupt.hpp"
#include "seiscore/picking/convnet_kernels.hpp"

namespace seiscore::picking {

namespace {

constexpr std::int64_t kBlock = 128;  // rows are whole blocks of this many samples
constexpr std::int64_t kLeft = 32;    // zero samples before every row
constexpr std::int64_t kRight = 256;  // zero samples after a row's last block
constexpr int kMaxKernel = 33;
constexpr int kMaxStride = 16;

std::int64_t round_up(std::int64_t n, std::int64_t m) { return (n + m - 1) / m * m; }

// Floats per row of a tensor of `length` samples: margins on both sides, whole blocks between.
std::int64_t row_stride(std::int64_t length) { return kLeft + round_up(length, kBlock) + kRight; }

// Zero a slot's left margins (its buffer may hold an earlier slot's data).
void clear_margins(float* base, int rows, std::int64_t stride) {
  for (int r = 0; r < rows; ++r) std::fill(base + r * stride, base + r * stride + kLeft, 0.0f);
}

// Zero each row past `length` (what the last block of a pass wrote, or an earlier slot's data).
void clear_tails(float* base, int rows, std::int64_t stride, std::int64_t length) {
  for (int r = 0; r < rows; ++r) std::fill(base + r * stride + kLeft + length, base + (r + 1) * stride, 0.0f);
}

}  // namespace

const char* ConvNet::isa() { return convnet_isa::best().name; }

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
  std::int64_t total = 0;
  for (std::int64_t b : buffers_) total += b;
  SEISCORE_CHECK(total <= (std::int64_t{1} << 30), "the network needs " << total * 4 / (1 << 20)
                                                                        << " MiB of scratch per window (limit 4096 MiB)");
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
  const convnet_isa::Kernels& kernels = convnet_isa::best();
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
              kernels.deinterleave(row(in_rows[c].slot, in_rows[c].row), in_len, s, dst.data());
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
            kernels.convolve(src.data(), static_cast<int>(pass.taps.size()), pass.weight.data(), op.bias.data(),
                     op.out_channels, pass.length, op.relu, dst.data());
          }
          begin_write(plan.out_slot);
          if (op.kind == NetOpKind::ConvTranspose) {  // interleave the output phases
            for (int o = 0; o < op.out_channels; ++o) {
              dst.clear();
              for (int p = 0; p < s; ++p) dst.push_back(row(plan.phase_slot, p * op.out_channels + o));
              kernels.interleave(dst.data(), slots_[plan.out_slot].length, s, row(plan.out_slot, o));
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
          kernels.softmax_rows(src.data(), static_cast<int>(src.size()), slots_[plan.out_slot].length, dst.data());
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
