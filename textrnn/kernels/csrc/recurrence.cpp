// Python entry points of the fused recurrence kernels: tensor checks, buffers, the parallel split
// over batch rows, and the one large GEMM that gives the recurrent kernel's gradient.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/utils/pybind.h>

#include <optional>
#include <vector>

#if defined(__SSE__) || defined(_M_X64)
#include <xmmintrin.h>
#define TEXTRNN_HAS_MXCSR 1
#endif

#include "common.h"
#include "gru.h"
#include "lstm.h"
#include "simple_rnn.h"

namespace textrnn {
namespace {

using at::Tensor;
using OptTensor = std::optional<Tensor>;

// Gradients that decay through hundreds of steps reach subnormal floats, which the CPU handles
// 10-100x slower; flush them to zero while a kernel runs (restored after, threads are shared).
class FlushSubnormals {
 public:
#if defined(TEXTRNN_HAS_MXCSR)
  FlushSubnormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040u); }
  ~FlushSubnormals() { _mm_setcsr(saved_); }

 private:
  unsigned int saved_;
#endif
};

constexpr int64_t kMinRowsPerThread = 4;

// Thread `tid` of `nt` owns rows tid, tid + nt, ... for all steps (interleaved, so batches sorted
// by length still balance); `f(rows)` runs once per thread. nt respects torch.get_num_threads().
template <typename F>
void for_row_sets(int64_t batch, const F& f) {
  const int64_t nt = std::max<int64_t>(
      1, std::min<int64_t>(at::get_num_threads(), batch / kMinRowsPerThread));
  at::parallel_for(0, nt, 1, [&](int64_t begin, int64_t end) {
    FlushSubnormals guard;
    for (int64_t tid = begin; tid < end; ++tid) {
      std::vector<int64_t> rows;
      for (int64_t b = tid; b < batch; b += nt) rows.push_back(b);
      f(rows);
    }
  });
}

void check_float(const Tensor& t, const char* name, const Tensor& like) {
  TORCH_CHECK_TYPE(t.device().is_cpu(), "textrnn kernels: `", name, "` must be a CPU tensor.");
  TORCH_CHECK_TYPE(t.scalar_type() == like.scalar_type(), "textrnn kernels: `", name,
                   "` has dtype ", t.scalar_type(), ", expected ", like.scalar_type(), ".");
}

void check_shape(const Tensor& t, const char* name, at::IntArrayRef shape) {
  TORCH_CHECK_VALUE(t.sizes() == shape, "textrnn kernels: `", name, "` has shape ", t.sizes(),
                    ", expected ", shape, ".");
}

// lengths as a contiguous int64 tensor with values in [0, steps], or an undefined tensor.
Tensor checked_lengths(const OptTensor& lengths, int64_t batch, int64_t steps) {
  if (!lengths.has_value() || !lengths->defined()) return Tensor();
  Tensor l = lengths->to(at::kCPU, at::kLong).contiguous();
  check_shape(l, "lengths", {batch});
  const int64_t* p = l.data_ptr<int64_t>();
  for (int64_t b = 0; b < batch; ++b)
    TORCH_CHECK_VALUE(p[b] >= 0 && p[b] <= steps, "textrnn kernels: `lengths` must lie in [0, ",
                      steps, "], got ", p[b], " for row ", b, ".");
  return l;
}

// Uninitialised: the kernels write every step a row runs, and zero the returned buffers (outputs,
// input-projection gradients) after a row stops; saved buffers are only read where written.
Tensor buffer(at::IntArrayRef shape, const Tensor& like) { return at::empty(shape, like.options()); }

template <typename T>
const T* opt_ptr(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

const int64_t* lengths_ptr(const Tensor& l) { return l.defined() ? l.data_ptr<int64_t>() : nullptr; }

Tensor contiguous_or_undefined(const OptTensor& t) {
  return t.has_value() && t->defined() ? t->contiguous() : Tensor();
}

// dU = sum over (b, t) of h_{t-1}[b]^T d[b, t], with h_{t-1} = out[b, t - 1] (h0[b] at t = 0).
// Flattening out and d to (B*T, .) and pairing row i of out with row i + 1 of d gives every term
// with one GEMM; the B - 1 pairs that cross a batch row are subtracted and the t = 0 terms added.
Tensor recurrent_kernel_grad(const Tensor& out, const Tensor& h0, const Tensor& d) {
  const int64_t B = out.size(0), T = out.size(1), u = out.size(2);
  Tensor grad = at::mm(h0.t(), d.select(1, 0));
  if (B * T > 1) {
    Tensor of = out.reshape({B * T, u});
    Tensor df = d.flatten(0, 1);
    grad.addmm_(of.narrow(0, 0, B * T - 1).t(), df.narrow(0, 1, B * T - 1));
  }
  if (B > 1) {
    grad.addmm_(out.narrow(0, 0, B - 1).select(1, T - 1).t(), d.narrow(0, 1, B - 1).select(1, 0),
                1, -1);
  }
  return grad;
}

// ------------------------------------------------------------------------------- SimpleRNN
std::vector<Tensor> simple_rnn_forward(const Tensor& xw_, const Tensor& h0_, const Tensor& U_,
                                       const OptTensor& lengths_) {
  TORCH_CHECK_VALUE(xw_.dim() == 3, "textrnn kernels: `xw` must be (batch, steps, units).");
  const Tensor xw = xw_.contiguous(), h0 = h0_.contiguous(), U = U_.contiguous();
  const int64_t B = xw.size(0), T = xw.size(1), u = xw.size(2);
  check_float(h0, "h0", xw);
  check_float(U, "recurrent_kernel", xw);
  check_shape(h0, "h0", {B, u});
  check_shape(U, "recurrent_kernel", {u, u});
  const Tensor lengths = checked_lengths(lengths_, B, T);
  Tensor out = buffer({B, T, u}, xw);
  Tensor hlast = at::empty({B, u}, xw.options());
  AT_DISPATCH_FLOATING_TYPES(xw.scalar_type(), "simple_rnn_forward", [&] {
    for_row_sets(B, [&](const std::vector<int64_t>& rows) {
      simple_rnn_forward_rows<scalar_t>(rows, xw.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(),
                                        U.data_ptr<scalar_t>(), lengths_ptr(lengths), T, u,
                                        out.data_ptr<scalar_t>(), hlast.data_ptr<scalar_t>());
    });
  });
  return {out, hlast};
}

std::vector<Tensor> simple_rnn_backward(const OptTensor& gout_, const OptTensor& ghlast_,
                                        const Tensor& h0, const Tensor& U, const Tensor& out,
                                        const OptTensor& lengths_, bool weight_grad) {
  const int64_t B = out.size(0), T = out.size(1), u = out.size(2);
  const Tensor gout = contiguous_or_undefined(gout_), ghlast = contiguous_or_undefined(ghlast_);
  const Tensor lengths = checked_lengths(lengths_, B, T);
  const Tensor UT = U.t().contiguous();
  Tensor dxw = buffer({B, T, u}, out);
  Tensor dh0 = at::empty({B, u}, out.options());
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "simple_rnn_backward", [&] {
    for_row_sets(B, [&](const std::vector<int64_t>& rows) {
      simple_rnn_backward_rows<scalar_t>(rows, opt_ptr<scalar_t>(gout), opt_ptr<scalar_t>(ghlast),
                                         UT.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
                                         lengths_ptr(lengths), T, u, dxw.data_ptr<scalar_t>(),
                                         dh0.data_ptr<scalar_t>());
    });
  });
  return {dxw, dh0, weight_grad ? recurrent_kernel_grad(out, h0, dxw) : Tensor()};
}

// ------------------------------------------------------------------------------------ LSTM
std::vector<Tensor> lstm_forward(const Tensor& xw_, const Tensor& h0_, const Tensor& c0_,
                                 const Tensor& U_, const OptTensor& lengths_) {
  TORCH_CHECK_VALUE(xw_.dim() == 3, "textrnn kernels: `xw` must be (batch, steps, 4 * units).");
  const Tensor xw = xw_.contiguous(), h0 = h0_.contiguous(), c0 = c0_.contiguous(),
               U = U_.contiguous();
  const int64_t B = xw.size(0), T = xw.size(1), u = xw.size(2) / 4;
  TORCH_CHECK_VALUE(xw.size(2) == 4 * u, "textrnn kernels: `xw` last dimension must be 4 * units.");
  check_float(h0, "h0", xw);
  check_float(c0, "c0", xw);
  check_float(U, "recurrent_kernel", xw);
  check_shape(h0, "h0", {B, u});
  check_shape(c0, "c0", {B, u});
  check_shape(U, "recurrent_kernel", {u, 4 * u});
  const Tensor lengths = checked_lengths(lengths_, B, T);
  Tensor gates = buffer({B, T, 4 * u}, xw);
  Tensor cells = buffer({B, T, u}, xw);
  Tensor out = buffer({B, T, u}, xw);
  Tensor hlast = at::empty({B, u}, xw.options());
  Tensor clast = at::empty({B, u}, xw.options());
  AT_DISPATCH_FLOATING_TYPES(xw.scalar_type(), "lstm_forward", [&] {
    for_row_sets(B, [&](const std::vector<int64_t>& rows) {
      lstm_forward_rows<scalar_t>(rows, xw.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(),
                                  c0.data_ptr<scalar_t>(), U.data_ptr<scalar_t>(),
                                  lengths_ptr(lengths), T, u, gates.data_ptr<scalar_t>(),
                                  cells.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
                                  hlast.data_ptr<scalar_t>(), clast.data_ptr<scalar_t>());
    });
  });
  return {out, hlast, clast, gates, cells};
}

std::vector<Tensor> lstm_backward(const OptTensor& gout_, const OptTensor& ghlast_,
                                  const OptTensor& gclast_, const Tensor& h0, const Tensor& c0,
                                  const Tensor& U, const Tensor& out, const Tensor& gates,
                                  const Tensor& cells, const OptTensor& lengths_,
                                  bool weight_grad) {
  const int64_t B = out.size(0), T = out.size(1), u = out.size(2);
  const Tensor gout = contiguous_or_undefined(gout_), ghlast = contiguous_or_undefined(ghlast_),
               gclast = contiguous_or_undefined(gclast_);
  const Tensor lengths = checked_lengths(lengths_, B, T);
  const Tensor UT = U.t().contiguous();
  Tensor dxw = buffer({B, T, 4 * u}, out);
  Tensor dh0 = at::empty({B, u}, out.options());
  Tensor dc0 = at::empty({B, u}, out.options());
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "lstm_backward", [&] {
    for_row_sets(B, [&](const std::vector<int64_t>& rows) {
      lstm_backward_rows<scalar_t>(
          rows, opt_ptr<scalar_t>(gout), opt_ptr<scalar_t>(ghlast), opt_ptr<scalar_t>(gclast),
          UT.data_ptr<scalar_t>(), c0.data_ptr<scalar_t>(), gates.data_ptr<scalar_t>(),
          cells.data_ptr<scalar_t>(), lengths_ptr(lengths), T, u, dxw.data_ptr<scalar_t>(),
          dh0.data_ptr<scalar_t>(), dc0.data_ptr<scalar_t>());
    });
  });
  return {dxw, dh0, dc0, weight_grad ? recurrent_kernel_grad(out, h0, dxw) : Tensor()};
}

// ------------------------------------------------------------------------------------- GRU
std::vector<Tensor> gru_forward(const Tensor& xw_, const Tensor& h0_, const Tensor& U_,
                                const Tensor& rbias_, const OptTensor& lengths_) {
  TORCH_CHECK_VALUE(xw_.dim() == 3, "textrnn kernels: `xw` must be (batch, steps, 3 * units).");
  const Tensor xw = xw_.contiguous(), h0 = h0_.contiguous(), U = U_.contiguous(),
               rbias = rbias_.contiguous();
  const int64_t B = xw.size(0), T = xw.size(1), u = xw.size(2) / 3;
  TORCH_CHECK_VALUE(xw.size(2) == 3 * u, "textrnn kernels: `xw` last dimension must be 3 * units.");
  check_float(h0, "h0", xw);
  check_float(U, "recurrent_kernel", xw);
  check_float(rbias, "recurrent_bias", xw);
  check_shape(h0, "h0", {B, u});
  check_shape(U, "recurrent_kernel", {u, 3 * u});
  check_shape(rbias, "recurrent_bias", {3 * u});
  const Tensor lengths = checked_lengths(lengths_, B, T);
  Tensor saved = buffer({B, T, 4 * u}, xw);
  Tensor out = buffer({B, T, u}, xw);
  Tensor hlast = at::empty({B, u}, xw.options());
  AT_DISPATCH_FLOATING_TYPES(xw.scalar_type(), "gru_forward", [&] {
    for_row_sets(B, [&](const std::vector<int64_t>& rows) {
      gru_forward_rows<scalar_t>(rows, xw.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(),
                                 U.data_ptr<scalar_t>(), rbias.data_ptr<scalar_t>(),
                                 lengths_ptr(lengths), T, u, saved.data_ptr<scalar_t>(),
                                 out.data_ptr<scalar_t>(), hlast.data_ptr<scalar_t>());
    });
  });
  return {out, hlast, saved};
}

std::vector<Tensor> gru_backward(const OptTensor& gout_, const OptTensor& ghlast_,
                                 const Tensor& h0, const Tensor& U, const Tensor& out,
                                 const Tensor& saved, const OptTensor& lengths_,
                                 bool weight_grad, bool bias_grad) {
  const int64_t B = out.size(0), T = out.size(1), u = out.size(2);
  const Tensor gout = contiguous_or_undefined(gout_), ghlast = contiguous_or_undefined(ghlast_);
  const Tensor lengths = checked_lengths(lengths_, B, T);
  const Tensor UT = U.t().contiguous();
  Tensor dxw = buffer({B, T, 3 * u}, out);
  Tensor dhuh = buffer({B, T, u}, out);
  Tensor dh0 = at::empty({B, u}, out.options());
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "gru_backward", [&] {
    for_row_sets(B, [&](const std::vector<int64_t>& rows) {
      gru_backward_rows<scalar_t>(rows, opt_ptr<scalar_t>(gout), opt_ptr<scalar_t>(ghlast),
                                  UT.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(),
                                  saved.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
                                  lengths_ptr(lengths), T, u, dxw.data_ptr<scalar_t>(),
                                  dhuh.data_ptr<scalar_t>(), dh0.data_ptr<scalar_t>());
    });
  });
  // Columns z, r of U see the same gradient as xw; the candidate's columns see r * da_h.
  const Tensor dzr = dxw.narrow(2, 0, 2 * u);
  Tensor dU, dbias;
  if (weight_grad) {
    dU = at::cat({recurrent_kernel_grad(out, h0, dzr), recurrent_kernel_grad(out, h0, dhuh)}, 1);
  }
  if (bias_grad) dbias = at::cat({dzr.sum({0, 1}), dhuh.sum({0, 1})}, 0);
  return {dxw, dh0, dU, dbias};
}

}  // namespace
}  // namespace textrnn

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "textrnn's fused CPU recurrence kernels (SimpleRNN, LSTM, GRU reset_after).";
  m.def("simple_rnn_forward", &textrnn::simple_rnn_forward);
  m.def("simple_rnn_backward", &textrnn::simple_rnn_backward);
  m.def("lstm_forward", &textrnn::lstm_forward);
  m.def("lstm_backward", &textrnn::lstm_backward);
  m.def("gru_forward", &textrnn::gru_forward);
  m.def("gru_backward", &textrnn::gru_backward);
  m.def("num_threads", [] { return at::get_num_threads(); });
}
