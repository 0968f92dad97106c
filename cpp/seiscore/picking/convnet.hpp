// seiscore/picking/convnet.hpp — a small 1-D convolutional network evaluated on the CPU without
// a general inference engine: the layer kinds of the U-Net pickers (PhaseNet) and nothing else.
//
// Why: PhaseNet's convolutions have 3-32 channels. A general engine either lowers them to
// im2col + GEMM or pads the channels to its vector blocks (16 on AVX-512), and spends most of
// a call on data movement. Here the time axis is the vector axis: every tap of every input
// channel is one contiguous vector load, multiplied into up to 8 output channels held in
// registers, so no channel count is padded and no column matrix is built. Strided
// convolutions and transposed convolutions run as polyphase stride-1 convolutions.
//
// Layout: one window is [channels][time], float32; a batch is windows one after another.
// Tensors are numbered; tensor 0 is the input. Shapes are inferred at construction and every
// inconsistency is refused there (InvalidArgument), so run() only computes.
#pragma once

#include <cstdint>
#include <vector>

namespace seiscore::picking {

enum class NetOpKind { Conv, ConvTranspose, Concat, Crop, Softmax };

struct NetOp {
  NetOpKind kind = NetOpKind::Conv;
  std::vector<int> inputs;  // tensor ids (Concat: two or more, others: one)
  int output = -1;          // a new tensor id (each tensor is written once)
  // Conv: weight [out][in][kernel]; ConvTranspose: weight [in][out][kernel] (ONNX layouts).
  std::vector<float> weight, bias;
  int in_channels = 0, out_channels = 0, kernel = 0, stride = 1, pad_left = 0, pad_right = 0;
  bool relu = false;
  std::int64_t start = 0, end = 0;  // Crop: samples [start, end) of the time axis
};

class ConvNet {
 public:
  // in_channels x length windows; `output` is the tensor returned by run().
  ConvNet(int in_channels, std::int64_t length, std::vector<NetOp> ops, int output);

  int in_channels() const { return in_channels_; }
  std::int64_t in_length() const { return length_; }
  int out_channels() const { return shapes_[output_].channels; }
  std::int64_t out_length() const { return shapes_[output_].length; }
  const std::vector<NetOp>& ops() const { return ops_; }
  int output() const { return output_; }
  // The instruction set of the loops run() uses on this CPU: "avx512", "avx2" or "baseline".
  static const char* isa();

  // x: [batch][in_channels][length], y: [batch][out_channels][out_length], both contiguous.
  // Thread-safe (scratch memory is per call). NaN or inf in x propagate as they would in the
  // network's arithmetic.
  void run(const float* x, std::int64_t batch, float* y) const;

 private:
  struct Shape {
    int channels = 0;
    std::int64_t length = 0;
  };
  // Stored rows live in slots: a tensor computed by a Conv, ConvTranspose, Crop or Softmax (or
  // the input) has one, a Concat is a list of other tensors' rows (no copy), and a strided
  // Conv or a ConvTranspose has one more for its phases. Slots whose contents are no longer
  // needed lend their buffer to later ones, so a call's working set stays small (in cache).
  struct RowRef {
    int slot = 0;
    int row = 0;
  };
  struct Tap {  // one input row read by a convolution, shifted by `offset` samples
    int slot = 0;
    int row = 0;
    std::int64_t offset = 0;
  };
  struct Pass {  // one stride-1 convolution (a whole op, or one output phase of an op)
    std::vector<Tap> taps;
    std::vector<float> weight;  // [tap][out_channels]
    std::int64_t length = 0;    // outputs computed
    int phase = 0;              // output phase (ConvTranspose), else 0
  };
  struct Plan {
    std::vector<Pass> passes;
    int out_slot = -1;    // the output's slot (-1 for a Concat)
    int phase_slot = -1;  // strided Conv: input phases; ConvTranspose: output phases
  };
  struct Slot {
    int buffer = 0;  // index of the scratch buffer it occupies
    int rows = 0;
    std::int64_t length = 0;
    std::int64_t stride = 0;  // floats per row, margins included
  };

  int add_slot(int rows, std::int64_t length);
  void plan_memory();

  int in_channels_;
  std::int64_t length_;
  std::vector<NetOp> ops_;
  int output_;
  std::vector<Shape> shapes_;
  std::vector<std::vector<RowRef>> rows_;  // per tensor
  std::vector<Plan> plans_;                // per op
  std::vector<Slot> slots_;                // slot 0: the input
  std::vector<std::int64_t> buffers_;      // floats per scratch buffer
};

}  // namespace seiscore::picking
