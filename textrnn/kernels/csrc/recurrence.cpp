// Python entry points of the fused recurrence kernels: tensor checks, buffers and their layout,
// the parallel split over batch rows, and the one large GEMM that gives the recurrent kernel's
// gradient.
//
// Every (batch, steps, .) tensor is taken and returned in one of two memory layouts: batch-major
// (contiguous) or time-major (a (B, T, .) view of contiguous (T, B, .) memory, what
// `x.transpose(0, 1)` gives). The layout of `xw` decides; the outputs and saved buffers follow it.
// Time-major is the faster one (see Layout in common.h).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/utils/pybind.h>

#include <atomic>
#include <numeric>
#include <optional>
#include <functional>
#include <vector>

#if defined(__SSE__) || defined(_M_X64)
#include <xmmintrin.h>
#define TEXTRNN_HAS_MXCSR 1
#endif

#include "buffer_pool.h"
#include "common.h"
#include "embedding.h"
#include "gru.h"
#include "lstm.h"
#include "optimizers.h"
#include "simple_rnn.h"
#include "tokens.h"

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

// Rows per chunk of work (0: the static split, one set of rows per thread). Set by benchmarks.
std::atomic<int64_t> g_chunk_rows{-1};

// Rows per chunk: small enough that a thread which loses its core to another process hands most
// of its share to the others (about 4 chunks per thread), large enough to keep the row blocks of
// the per-step products full (a multiple of kRowBlock).
int64_t chunk_rows(int64_t batch, int64_t nt) {
  const int64_t forced = g_chunk_rows.load(std::memory_order_relaxed);
  if (forced >= 0) return forced;
  const int64_t per = (batch + 4 * nt - 1) / (4 * nt);
  return std::max<int64_t>(2 * kRowBlock, (per + kRowBlock - 1) / kRowBlock * kRowBlock);
}

// Runs `f(rows)` over the batch's rows, sorted by decreasing length (all rows when there are no
// lengths): the rows still running at any step form a prefix of each `rows`, so the kernels stop
// scanning at the first finished row. Rows never interact inside a recurrence, so any split is
// exact. The rows are cut into chunks of consecutive rows, longest first, that the threads take
// from a shared counter: on a machine where other processes hold some cores, a thread that gets
// less CPU takes fewer chunks instead of holding the whole call up (a static split made the
// call as slow as its slowest thread). The thread count respects torch.get_num_threads().
// `max_threads` > 0 caps the thread count (1: all in the calling thread).
template <typename F>
void for_row_sets(int64_t batch, const int64_t* lengths, const F& f, int64_t max_threads = 0) {
  std::vector<int64_t> order(batch);
  std::iota(order.begin(), order.end(), int64_t(0));
  if (lengths) {
    std::stable_sort(order.begin(), order.end(),
                     [lengths](int64_t a, int64_t b) { return lengths[a] > lengths[b]; });
  }
  int64_t nt = std::max<int64_t>(
      1, std::min<int64_t>(at::get_num_threads(), batch / kMinRowsPerThread));
  if (max_threads > 0) nt = std::min(nt, max_threads);
  if (nt == 1) {  // no parallel region: nothing waits for a thread that another process delays
    FlushSubnormals guard;
    f(order);
    return;
  }
  const int64_t chunk = chunk_rows(batch, nt);
  if (chunk == 0) {  // static: thread tid owns every nt-th row
    at::parallel_for(0, nt, 1, [&](int64_t begin, int64_t end) {
      FlushSubnormals guard;
      for (int64_t tid = begin; tid < end; ++tid) {
        std::vector<int64_t> rows;
        for (int64_t k = tid; k < batch; k += nt) rows.push_back(order[k]);
        f(rows);
      }
    });
    return;
  }
  const int64_t chunks = (batch + chunk - 1) / chunk;
  std::atomic<int64_t> next{0};
  at::parallel_for(0, std::min(nt, chunks), 1, [&](int64_t, int64_t) {
    FlushSubnormals guard;
    std::vector<int64_t> rows;
    for (int64_t c = next.fetch_add(1); c < chunks; c = next.fetch_add(1)) {
      const int64_t first = c * chunk, last = std::min(batch, first + chunk);
      rows.assign(order.begin() + first, order.begin() + last);
      f(rows);
    }
  });
}

// f(begin, end) over [0, n) in pieces of `grain` that the threads take from a shared counter (a
// thread short of CPU takes fewer), for elementwise passes.
template <typename F>
void for_pieces(int64_t n, int64_t grain, const F& f) {
  const int64_t pieces = (n + grain - 1) / grain;
  const int64_t nt = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), pieces));
  std::atomic<int64_t> next{0};
  at::parallel_for(0, nt, 1, [&](int64_t, int64_t) {
    for (int64_t p = next.fetch_add(1); p < pieces; p = next.fetch_add(1))
      f(p * grain, std::min(n, (p + 1) * grain));
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

BufferPool& pool() {
  static BufferPool instance;
  return instance;
}

// A (B, T, width) buffer in the layout of the call: uninitialised and recycled (buffer_pool.h).
// The kernels write every step a row runs, and zero the returned buffers (outputs, input-projection
// gradients) after a row stops; saved buffers are only read where written.
Tensor buffer(int64_t B, int64_t T, int64_t width, const Tensor& like, bool time_major) {
  if (time_major) return pool().get({T, B, width}, like).transpose(0, 1);
  return pool().get({B, T, width}, like);
}

bool is_time_major(const Tensor& t) {
  return t.size(0) > 1 && t.size(1) > 1 && !t.is_contiguous() && t.transpose(0, 1).is_contiguous();
}

// `t` (B, T, .) with its memory in the given layout (a copy only if it is not already).
Tensor in_layout(const Tensor& t, bool time_major) {
  return time_major ? t.transpose(0, 1).contiguous().transpose(0, 1) : t.contiguous();
}

// starts as a contiguous int64 tensor with starts[b] + lengths[b] <= steps, or undefined.
Tensor checked_starts(const OptTensor& starts, const Tensor& lengths, int64_t batch, int64_t steps) {
  if (!starts.has_value() || !starts->defined()) return Tensor();
  TORCH_CHECK_VALUE(lengths.defined(), "textrnn kernels: `starts` needs `lengths`.");
  Tensor s = starts->to(at::kCPU, at::kLong).contiguous();
  check_shape(s, "starts", {batch});
  const int64_t* p = s.data_ptr<int64_t>();
  const int64_t* l = lengths.data_ptr<int64_t>();
  for (int64_t b = 0; b < batch; ++b)
    TORCH_CHECK_VALUE(p[b] >= 0 && p[b] + l[b] <= steps, "textrnn kernels: row ", b,
                      " would run steps [", p[b], ", ", p[b] + l[b], "), outside the ", steps,
                      " steps.");
  return s;
}

Layout layout_of(int64_t B, int64_t T, bool time_major, const Tensor& starts) {
  Layout L = time_major ? Layout{T, 1, B} : Layout{T, T, 1};
  L.starts = starts.defined() ? starts.data_ptr<int64_t>() : nullptr;
  return L;
}

template <typename T>
const T* opt_ptr(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

const int64_t* lengths_ptr(const Tensor& l) { return l.defined() ? l.data_ptr<int64_t>() : nullptr; }

Tensor optional_in_layout(const OptTensor& t, bool time_major) {
  return t.has_value() && t->defined() ? in_layout(*t, time_major) : Tensor();
}

Tensor contiguous_or_undefined(const OptTensor& t) {
  return t.has_value() && t->defined() ? t->contiguous() : Tensor();
}

// a^T b for a (K, m) and b (K, n), the same bits at any thread count. Weight gradients are such
// sums over a batch's rows and steps (K = B T); MKL's threaded GEMM splits K by the thread count,
// so with it the weights after a step differed in their last bits between 1 and 2 threads, and a
// run's result would depend on machine load where the thread count adapts to it
// (textrnn.training.threads_policy). Here K is cut into pieces of kGradPieceRows rows (a function
// of K alone), the threads take pieces, each piece's product accumulates row by row in a register
// tile (`tn_piece`, no BLAS: MKL plans its split by its own thread count even inside a parallel
// region), and the pieces are added in order.
constexpr int64_t kGradPieceRows = 512;

// out (m, n) = sum over k < rows of a[k]^T b[k], a (rows, m) and b (rows, n) with unit column
// stride and row strides lda, ldb (a column slice of a wider buffer needs no copy). Tiles of
// kTileRows x kTileVectors registers of accumulators (16 registers) stay in registers over k; the
// edges take the plain loop. Each output sums its rows in order, whichever path computes it.
constexpr int kTileRows = 8;
constexpr int kTileVectors = 2;

#if defined(__GNUC__)
// Rows [i0, i0 + MI) and columns [j0, j0 + kTileVectors W) of `tn_piece`, in registers.
template <typename T, int MI>
inline void tn_tile(const T* __restrict a, const T* __restrict b, int64_t rows, int64_t lda,
                    int64_t ldb, int64_t n, T* __restrict out, int64_t i0, int64_t j0) {
  using V = typename VecOf<T>::type;
  constexpr int64_t W = sizeof(V) / sizeof(T);
  V acc[MI][kTileVectors] = {};
  for (int64_t k = 0; k < rows; ++k) {
    const T* ak = a + k * lda + i0;
    V bv[kTileVectors];
    for (int v = 0; v < kTileVectors; ++v) bv[v] = vload<V>(b + k * ldb + j0 + v * W);
    for (int r = 0; r < MI; ++r) {
      const T s = ak[r];
      for (int v = 0; v < kTileVectors; ++v) acc[r][v] += s * bv[v];
    }
  }
  for (int r = 0; r < MI; ++r)
    for (int v = 0; v < kTileVectors; ++v) vstore(out + (i0 + r) * n + j0 + v * W, acc[r][v]);
}

template <typename T, int MI>
inline void tn_tile_upto(int mi, const T* a, const T* b, int64_t rows, int64_t lda, int64_t ldb,
                         int64_t n, T* out, int64_t i0, int64_t j0) {
  if constexpr (MI > 0) {
    if (mi == MI) return tn_tile<T, MI>(a, b, rows, lda, ldb, n, out, i0, j0);
    tn_tile_upto<T, MI - 1>(mi, a, b, rows, lda, ldb, n, out, i0, j0);
  }
}
#endif

template <typename T>
void tn_piece(const T* __restrict a, const T* __restrict b, int64_t rows, int64_t m, int64_t n,
              int64_t lda, int64_t ldb, T* __restrict out) {
#if defined(__GNUC__)
  using V = typename VecOf<T>::type;
  constexpr int64_t NJ = kTileVectors * static_cast<int64_t>(sizeof(V) / sizeof(T));
#else
  constexpr int64_t NJ = 8;
#endif
  // Row blocks of at most kTileRows, of even sizes (33 rows: 7, 7, 7, 7, 5; not 8, 8, 8, 8, 1).
  const int64_t blocks = (m + kTileRows - 1) / kTileRows, block = (m + blocks - 1) / blocks;
  for (int64_t i0 = 0; i0 < m; i0 += block) {
    const int64_t mi = std::min<int64_t>(block, m - i0);
    for (int64_t j0 = 0; j0 < n; j0 += NJ) {
      const int64_t nj = std::min(NJ, n - j0);
#if defined(__GNUC__)
      if (nj == NJ) {
        tn_tile_upto<T, kTileRows>(static_cast<int>(mi), a, b, rows, lda, ldb, n, out, i0, j0);
        continue;
      }
#endif
      for (int64_t r = 0; r < mi; ++r)
        for (int64_t c = 0; c < nj; ++c) out[(i0 + r) * n + j0 + c] = T(0);
      for (int64_t k = 0; k < rows; ++k) {
        const T* ak = a + k * lda + i0;
        const T* bk = b + k * ldb + j0;
        for (int64_t r = 0; r < mi; ++r) {
          const T s = ak[r];
          T* o = out + (i0 + r) * n + j0;
          for (int64_t c = 0; c < nj; ++c) o[c] += s * bk[c];
        }
      }
    }
  }
}

Tensor grad_tn(const Tensor& a_, const Tensor& b_) {
  TORCH_CHECK_VALUE(a_.dim() == 2 && b_.dim() == 2 && a_.size(0) == b_.size(0),
                    "textrnn kernels: grad_tn takes (K, m) and (K, n), got ", a_.sizes(), " and ",
                    b_.sizes(), ".");
  TORCH_CHECK_TYPE(a_.device().is_cpu(), "textrnn kernels: grad_tn takes CPU tensors.");
  check_float(b_, "b", a_);
  // Rows with unit column stride are read in place (a column slice of a wider buffer: no copy).
  auto rows_unit = [](const Tensor& t) {
    const Tensor d = t.detach();
    return (d.size(1) <= 1 || d.stride(1) == 1) && d.stride(0) >= d.size(1) ? d : d.contiguous();
  };
  const Tensor a = rows_unit(a_), b = rows_unit(b_);
  const int64_t K = a.size(0), m = a.size(1), n = b.size(1);
  const int64_t lda = a.stride(0);
  const int64_t ldb = b.stride(0);
  const int64_t pieces = std::max<int64_t>(1, (K + kGradPieceRows - 1) / kGradPieceRows);
  Tensor parts = pool().get({pieces, m, n}, a);  // every piece written below
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "grad_tn", [&] {
    const scalar_t* pa = a.data_ptr<scalar_t>();
    const scalar_t* pb = b.data_ptr<scalar_t>();
    scalar_t* po = parts.data_ptr<scalar_t>();
    for_pieces(pieces, 1, [&](int64_t begin, int64_t end) {
      FlushSubnormals guard;
      for (int64_t p = begin; p < end; ++p) {
        const int64_t first = p * kGradPieceRows, rows = std::min(K, first + kGradPieceRows) - first;
        tn_piece<scalar_t>(pa + first * lda, pb + first * ldb, rows, m, n, lda, ldb, po + p * m * n);
      }
    });
  });
  // The pieces added in order, element by element (the threads take ranges of elements).
  Tensor sum = at::empty({m, n}, a.options());
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "grad_tn_sum", [&] {
    const scalar_t* po = parts.data_ptr<scalar_t>();
    scalar_t* ps = sum.data_ptr<scalar_t>();
    const int64_t size = m * n;
    for_pieces(size, 1024, [&](int64_t begin, int64_t end) {
      for (int64_t e = begin; e < end; ++e) ps[e] = po[e];
      for (int64_t p = 1; p < pieces; ++p) {
        const scalar_t* q = po + p * size;
        TEXTRNN_SIMD for (int64_t e = begin; e < end; ++e) ps[e] += q[e];
      }
    });
  });
  return sum;
}

// dU = sum over (b, t) of h_{t-1}[b]^T d[b, t], with h_{t-1} = out[b, t - 1] (h0[b] at t = 0), as
// few GEMMs over all rows and steps at once. Time-major: flattening steps 0..T-2 of out and 1..T-1
// of d to (., B*(T-1)) pairs every h_{t-1} with its d_t. Batch-major: flattening the whole
// buffers and pairing row i of out with row i + 1 of d gives every term plus B - 1 pairs that cross
// from one batch row to the next, which are subtracted.
//
// Rows that start late have zero outputs before their first step, so the pairs there vanish, and
// their h0 term pairs h0[b] with d at their first step.
Tensor recurrent_kernel_grad(const Tensor& out, const Tensor& h0, const Tensor& d, bool time_major,
                             const Tensor& starts) {
  const int64_t B = out.size(0), T = out.size(1), u = out.size(2);
  if (T == 0) return at::zeros({u, d.size(2)}, out.options());
  // (A row of length 0 may start at T; its d is zero anywhere.)
  const Tensor d_first =
      starts.defined() ? d.index({at::arange(B, starts.options()), starts.clamp_max(T - 1)})
                       : d.select(1, 0);
  Tensor grad = grad_tn(h0, d_first);
  if (time_major) {
    if (T > 1) {
      const Tensor o = out.transpose(0, 1).narrow(0, 0, T - 1).flatten(0, 1);  // (B*(T-1), u)
      const Tensor dd = d.transpose(0, 1).narrow(0, 1, T - 1).flatten(0, 1);
      grad.add_(grad_tn(o, dd));
    }
    return grad;
  }
  if (B * T > 1) {
    Tensor of = out.reshape({B * T, u});
    Tensor df = d.flatten(0, 1);
    grad.add_(grad_tn(of.narrow(0, 0, B * T - 1), df.narrow(0, 1, B * T - 1)));
  }
  if (B > 1) {
    grad.sub_(grad_tn(out.narrow(0, 0, B - 1).select(1, T - 1), d.narrow(0, 1, B - 1).select(1, 0)));
  }
  return grad;
}

// The recurrent dropout mask (B, Q u) as a contiguous tensor, or undefined.
Tensor checked_rmask(const OptTensor& rmask, const Tensor& like, int64_t B, int64_t width) {
  if (!rmask.has_value() || !rmask->defined()) return Tensor();
  Tensor m = rmask->contiguous();
  check_float(m, "recurrent_mask", like);
  check_shape(m, "recurrent_mask", {B, width});
  return m;
}

// The recurrent kernel's Q gate blocks (u, Q u) -> (Q, u, u), contiguous, for the masked products.
Tensor gate_blocks(const Tensor& U, int64_t Q) {
  const int64_t u = U.size(0);
  return U.reshape({u, Q, u}).permute({1, 0, 2}).contiguous();
}

// dU with recurrent dropout: gate q's columns pair h_{t-1} * mask_q with that gate's d_q.
Tensor masked_recurrent_kernel_grad(const Tensor& out, const Tensor& h0, const std::vector<Tensor>& d,
                                    const Tensor& rmask, bool time_major, const Tensor& starts) {
  const int64_t u = out.size(2);
  std::vector<Tensor> cols;
  for (size_t q = 0; q < d.size(); ++q) {
    const Tensor m = rmask.narrow(1, static_cast<int64_t>(q) * u, u);
    const Tensor out_m = in_layout(out * m.unsqueeze(1), time_major);
    cols.push_back(recurrent_kernel_grad(out_m, h0 * m, d[q], time_major, starts));
  }
  return at::cat(cols, 1);
}

// xw in a layout the kernels take: itself if batch- or time-major, else a contiguous copy.
Tensor checked_xw(const Tensor& xw, int64_t gates) {
  TORCH_CHECK_VALUE(xw.dim() == 3 && xw.size(2) % gates == 0,
                    "textrnn kernels: `xw` must be (batch, steps, ", gates, " * units), got ",
                    xw.sizes(), ".");
  TORCH_CHECK_TYPE(xw.device().is_cpu(), "textrnn kernels: `xw` must be a CPU tensor.");
  return is_time_major(xw) ? xw : xw.contiguous();
}

// ------------------------------------------------------------------------------- SimpleRNN
std::vector<Tensor> simple_rnn_forward(const Tensor& xw_, const Tensor& h0_, const Tensor& U_,
                                       const OptTensor& lengths_, const OptTensor& starts_,
                                       const OptTensor& rmask_) {
  const Tensor xw = checked_xw(xw_, 1), h0 = h0_.contiguous(), U = U_.contiguous();
  const int64_t B = xw.size(0), T = xw.size(1), u = xw.size(2);
  check_float(h0, "h0", xw);
  check_float(U, "recurrent_kernel", xw);
  check_shape(h0, "h0", {B, u});
  check_shape(U, "recurrent_kernel", {u, u});
  const Tensor lengths = checked_lengths(lengths_, B, T);
  const Tensor starts = checked_starts(starts_, lengths, B, T);
  const bool tm = is_time_major(xw);
  const Layout L = layout_of(B, T, tm, starts);
  const Tensor rmask = checked_rmask(rmask_, xw, B, u);
  Tensor out = buffer(B, T, u, xw, tm);
  Tensor hlast = at::empty({B, u}, xw.options());
  AT_DISPATCH_FLOATING_TYPES(xw.scalar_type(), "simple_rnn_forward", [&] {
    for_row_sets(B, lengths_ptr(lengths), [&](const std::vector<int64_t>& rows) {
      simple_rnn_forward_rows<scalar_t>(rows, xw.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(),
                                        U.data_ptr<scalar_t>(), lengths_ptr(lengths), L, u,
                                        out.data_ptr<scalar_t>(), hlast.data_ptr<scalar_t>(),
                                        opt_ptr<scalar_t>(rmask));
    });
  });
  return {out, hlast};
}

std::vector<Tensor> simple_rnn_backward(const OptTensor& gout_, const OptTensor& ghlast_,
                                        const Tensor& h0, const Tensor& U, const Tensor& out,
                                        const OptTensor& lengths_, const OptTensor& starts_,
                                        bool weight_grad, const OptTensor& rmask_) {
  const int64_t B = out.size(0), T = out.size(1), u = out.size(2);
  const bool tm = is_time_major(out);
  const Tensor gout = optional_in_layout(gout_, tm), ghlast = contiguous_or_undefined(ghlast_);
  const Tensor lengths = checked_lengths(lengths_, B, T);
  const Tensor starts = checked_starts(starts_, lengths, B, T);
  const Layout L = layout_of(B, T, tm, starts);
  const Tensor UT = U.t().contiguous();
  const Tensor rmask = checked_rmask(rmask_, out, B, u);
  Tensor dxw = buffer(B, T, u, out, tm);
  Tensor dh0 = at::empty({B, u}, out.options());
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "simple_rnn_backward", [&] {
    for_row_sets(B, lengths_ptr(lengths), [&](const std::vector<int64_t>& rows) {
      simple_rnn_backward_rows<scalar_t>(rows, opt_ptr<scalar_t>(gout), opt_ptr<scalar_t>(ghlast),
                                         UT.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
                                         lengths_ptr(lengths), L, u, dxw.data_ptr<scalar_t>(),
                                         dh0.data_ptr<scalar_t>(), opt_ptr<scalar_t>(rmask));
    });
  });
  Tensor dU;
  if (weight_grad) {
    dU = rmask.defined() ? masked_recurrent_kernel_grad(out, h0, {dxw}, rmask, tm, starts)
                         : recurrent_kernel_grad(out, h0, dxw, tm, starts);
  }
  return {dxw, dh0, dU};
}

// ------------------------------------------------------------------------------------ LSTM
std::vector<Tensor> lstm_forward(const Tensor& xw_, const Tensor& h0_, const Tensor& c0_,
                                 const Tensor& U_, const OptTensor& lengths_, const OptTensor& starts_,
                                 const OptTensor& rmask_) {
  const Tensor xw = checked_xw(xw_, 4), h0 = h0_.contiguous(), c0 = c0_.contiguous(),
               U = U_.contiguous();
  const int64_t B = xw.size(0), T = xw.size(1), u = xw.size(2) / 4;
  check_float(h0, "h0", xw);
  check_float(c0, "c0", xw);
  check_float(U, "recurrent_kernel", xw);
  check_shape(h0, "h0", {B, u});
  check_shape(c0, "c0", {B, u});
  check_shape(U, "recurrent_kernel", {u, 4 * u});
  const Tensor lengths = checked_lengths(lengths_, B, T);
  const Tensor starts = checked_starts(starts_, lengths, B, T);
  const bool tm = is_time_major(xw);
  const Layout L = layout_of(B, T, tm, starts);
  const Tensor rmask = checked_rmask(rmask_, xw, B, 4 * u);
  const Tensor Ub = rmask.defined() ? gate_blocks(U, 4) : Tensor();
  Tensor gates = buffer(B, T, 4 * u, xw, tm);
  Tensor cells = buffer(B, T, u, xw, tm);
  Tensor out = buffer(B, T, u, xw, tm);
  Tensor hlast = at::empty({B, u}, xw.options());
  Tensor clast = at::empty({B, u}, xw.options());
  AT_DISPATCH_FLOATING_TYPES(xw.scalar_type(), "lstm_forward", [&] {
    for_row_sets(B, lengths_ptr(lengths), [&](const std::vector<int64_t>& rows) {
      lstm_forward_rows<scalar_t>(rows, xw.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(),
                                  c0.data_ptr<scalar_t>(), U.data_ptr<scalar_t>(),
                                  lengths_ptr(lengths), L, u, gates.data_ptr<scalar_t>(),
                                  cells.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
                                  hlast.data_ptr<scalar_t>(), clast.data_ptr<scalar_t>(),
                                  opt_ptr<scalar_t>(rmask), opt_ptr<scalar_t>(Ub));
    });
  });
  return {out, hlast, clast, gates, cells};
}

// The final (h, c) only, without saving activations or outputs (inference): the fused float
// steps over a ring of scratch per row where they apply, else lstm_forward's results.
std::vector<Tensor> lstm_forward_last(const Tensor& xw_, const Tensor& h0_, const Tensor& c0_,
                                      const Tensor& U_, const OptTensor& lengths_,
                                      const OptTensor& starts_) {
  const Tensor xw = checked_xw(xw_, 4);
  const int64_t u = xw.size(2) / 4;
#if defined(__GNUC__) && !defined(TEXTRNN_NO_FUSED_STEPS)
  if (xw.scalar_type() == at::kFloat && u % kFloatLanes == 0) {
    const Tensor h0 = h0_.contiguous(), c0 = c0_.contiguous(), U = U_.contiguous();
    const int64_t B = xw.size(0), T = xw.size(1);
    check_float(h0, "h0", xw);
    check_float(c0, "c0", xw);
    check_float(U, "recurrent_kernel", xw);
    check_shape(h0, "h0", {B, u});
    check_shape(c0, "c0", {B, u});
    check_shape(U, "recurrent_kernel", {u, 4 * u});
    const Tensor lengths = checked_lengths(lengths_, B, T);
    const Tensor starts = checked_starts(starts_, lengths, B, T);
    const Layout L = layout_of(B, T, is_time_major(xw), starts);
    Tensor hlast = at::empty({B, u}, xw.options());
    Tensor clast = at::empty({B, u}, xw.options());
    for_row_sets(B, lengths_ptr(lengths), [&](const std::vector<int64_t>& rows) {
      lstm_last_rows_fused(rows, xw.data_ptr<float>(), h0.data_ptr<float>(), c0.data_ptr<float>(),
                           U.data_ptr<float>(), lengths_ptr(lengths), L, u,
                           hlast.data_ptr<float>(), clast.data_ptr<float>());
    });
    return {hlast, clast};
  }
#endif
  std::vector<Tensor> all = lstm_forward(xw, h0_, c0_, U_, lengths_, starts_, std::nullopt);
  return {all[1], all[2]};
}

// The final (h, c) of an LSTM whose inputs are token ids and whose input projection is a table:
// `table` (V, 4u) holds embedding @ kernel + bias for every id (the Embedding folded in), so each
// step's input is a row of it. Row b runs ids[offsets[b] .. offsets[b] + lengths[b]) from row
// state_rows[b] of h0, c0 (S, u). Float32, u a multiple of the vector width (fused_lanes()).
// At most `max_threads` threads (0: torch's count).
std::vector<Tensor> lstm_last_ids(const Tensor& table_, const Tensor& ids_, const Tensor& offsets_,
                                  const Tensor& lengths_, const Tensor& state_rows_,
                                  const Tensor& h0_, const Tensor& c0_, const Tensor& U_,
                                  int64_t max_threads) {
#if defined(__GNUC__) && !defined(TEXTRNN_NO_FUSED_STEPS)
  const Tensor table = table_.contiguous(), h0 = h0_.contiguous(), c0 = c0_.contiguous(),
               U = U_.contiguous();
  TORCH_CHECK_TYPE(table.device().is_cpu() && table.scalar_type() == at::kFloat && table.dim() == 2,
                   "textrnn kernels: `table` must be a 2-D float32 CPU tensor.");
  const int64_t V = table.size(0), u = table.size(1) / 4;
  TORCH_CHECK_VALUE(table.size(1) == 4 * u && u > 0 && u % kFloatLanes == 0,
                    "textrnn kernels: lstm_last_ids needs units that are a multiple of ",
                    kFloatLanes, ", got a table of width ", table.size(1), ".");
  check_float(h0, "h0", table);
  check_float(c0, "c0", table);
  check_float(U, "recurrent_kernel", table);
  TORCH_CHECK_VALUE(h0.dim() == 2 && h0.size(1) == u, "textrnn kernels: `h0` must be (rows, ", u,
                    "), got ", h0.sizes(), ".");
  check_shape(c0, "c0", h0.sizes());
  check_shape(U, "recurrent_kernel", {u, 4 * u});
  TORCH_CHECK_TYPE(ids_.scalar_type() == at::kInt && ids_.dim() == 1,
                   "textrnn kernels: `ids` must be a 1-D int32 tensor.");
  const Tensor ids = ids_.contiguous();
  const Tensor offsets = offsets_.to(at::kCPU, at::kLong).contiguous();
  const Tensor lengths = lengths_.to(at::kCPU, at::kLong).contiguous();
  const Tensor state_rows = state_rows_.to(at::kCPU, at::kLong).contiguous();
  const int64_t B = offsets.numel(), N = ids.numel(), S = h0.size(0);
  check_shape(lengths, "lengths", {B});
  check_shape(state_rows, "state_rows", {B});
  const int32_t* id = ids.data_ptr<int32_t>();
  const int64_t *off = offsets.data_ptr<int64_t>(), *len = lengths.data_ptr<int64_t>(),
                *srow = state_rows.data_ptr<int64_t>();
  for (int64_t b = 0; b < B; ++b) {
    TORCH_CHECK_VALUE(len[b] >= 0 && off[b] >= 0 && off[b] + len[b] <= N, "textrnn kernels: row ",
                      b, " would read ids [", off[b], ", ", off[b] + len[b], ") of ", N, ".");
    TORCH_CHECK_VALUE(srow[b] >= 0 && srow[b] < S, "textrnn kernels: row ", b,
                      " starts from state row ", srow[b], ", outside the ", S, " of h0.");
    for (int64_t k = off[b]; k < off[b] + len[b]; ++k)
      TORCH_CHECK_INDEX(id[k] >= 0 && id[k] < V, "textrnn kernels: token id ", id[k],
                        " is out of range for a table of ", V, " rows.");
  }
  Tensor hlast = at::empty({B, u}, table.options());
  Tensor clast = at::empty({B, u}, table.options());
  {
    pybind11::gil_scoped_release no_gil;
    for_row_sets(B, len, [&](const std::vector<int64_t>& rows) {
      lstm_last_ids_rows(rows, table.data_ptr<float>(), id, off, len, srow, h0.data_ptr<float>(),
                         c0.data_ptr<float>(), U.data_ptr<float>(), u, hlast.data_ptr<float>(),
                         clast.data_ptr<float>());
    }, max_threads);
  }
  return {hlast, clast};
#else
  TORCH_CHECK(false, "textrnn kernels: lstm_last_ids needs the fused steps (GCC or Clang).");
  return {};
#endif
}

// ------------------------------------------------------- recurrences reading a projection table
// The *_forward_ids entries run a recurrence whose input projection is read from a table instead
// of an xw buffer: `table` (V, G u) holds embedding @ kernel + bias for every id (the Embedding
// folded in), and row b's step s reads row ids[b, s] of it. They return what the xw entries
// return for a time-major xw (the buffers time-major, ready for the backward entries), without
// the (T, B, G u) gather of the table's rows. Float32, u a multiple of the vector width
// (fused_lanes()).
#if defined(__GNUC__) && !defined(TEXTRNN_NO_FUSED_STEPS)
struct TableInput {
  Tensor table, ids, lengths, starts;
  Layout L;
  int64_t B = 0, T = 0, u = 0, width = 0;
  const float* tab = nullptr;
  const int64_t* id = nullptr;
  int64_t id_b = 0, id_t = 0;

  // Row b's t-th step's input (width floats), `pos` unused (the buffers' position of that step).
  const float* operator()(int64_t b, int64_t t, int64_t) const {
    return tab + id[b * id_b + (L.start(b) + t) * id_t] * width;
  }
};

TableInput checked_table_input(const Tensor& table_, const Tensor& ids, int64_t gates,
                               const OptTensor& lengths_, const OptTensor& starts_,
                               const char* what) {
  TableInput in;
  in.table = table_.contiguous();
  TORCH_CHECK_TYPE(in.table.device().is_cpu() && in.table.scalar_type() == at::kFloat &&
                       in.table.dim() == 2,
                   "textrnn kernels: `table` must be a 2-D float32 CPU tensor.");
  const int64_t V = in.table.size(0);
  in.width = in.table.size(1);
  in.u = in.width / gates;
  TORCH_CHECK_VALUE(in.width == gates * in.u && in.u > 0 && in.u % kFloatLanes == 0,
                    "textrnn kernels: ", what, " needs units that are a multiple of ", kFloatLanes,
                    ", got a table of width ", in.width, ".");
  TORCH_CHECK_TYPE(ids.device().is_cpu() && ids.scalar_type() == at::kLong && ids.dim() == 2,
                   "textrnn kernels: `ids` must be a 2-D int64 CPU tensor.");
  in.ids = ids;
  in.B = ids.size(0);
  in.T = ids.size(1);
  in.lengths = checked_lengths(lengths_, in.B, in.T);
  in.starts = checked_starts(starts_, in.lengths, in.B, in.T);
  in.L = layout_of(in.B, in.T, true, in.starts);
  in.tab = in.table.data_ptr<float>();
  in.id = ids.data_ptr<int64_t>();
  in.id_b = ids.stride(0);
  in.id_t = ids.stride(1);
  const int64_t* len = lengths_ptr(in.lengths);
  for (int64_t b = 0; b < in.B; ++b)  // every id a row reads, before any thread starts
    for (int64_t t = 0; t < row_steps(len, b, in.T); ++t) {
      const int64_t r = in.id[b * in.id_b + (in.L.start(b) + t) * in.id_t];
      TORCH_CHECK_INDEX(r >= 0 && r < V, "textrnn kernels: index ", r, " at (", b, ", ",
                        in.L.start(b) + t, ") is out of range for a table of ", V, " rows.");
    }
  return in;
}
#endif

#if defined(__GNUC__) && !defined(TEXTRNN_NO_FUSED_STEPS)
// `t` contiguous, after checking it has `like`'s dtype (on the CPU) and `shape`.
Tensor checked_like(const Tensor& t, const char* name, const Tensor& like, at::IntArrayRef shape) {
  const Tensor c = t.contiguous();
  check_float(c, name, like);
  check_shape(c, name, shape);
  return c;
}
#endif

std::vector<Tensor> simple_rnn_forward_ids(const Tensor& table, const Tensor& ids,
                                           const Tensor& h0_, const Tensor& U_,
                                           const OptTensor& lengths_, const OptTensor& starts_) {
#if defined(__GNUC__) && !defined(TEXTRNN_NO_FUSED_STEPS)
  const TableInput in = checked_table_input(table, ids, 1, lengths_, starts_, "simple_rnn_forward_ids");
  const int64_t B = in.B, T = in.T, u = in.u;
  const Tensor h0 = checked_like(h0_, "h0", in.table, {B, u});
  const Tensor U = checked_like(U_, "recurrent_kernel", in.table, {u, u});
  Tensor out = buffer(B, T, u, in.table, true);
  Tensor hlast = at::empty({B, u}, in.table.options());
  const int64_t* len = lengths_ptr(in.lengths);
  for_row_sets(B, len, [&](const std::vector<int64_t>& rows) {
    if (u % (2 * kFloatLanes) == 0) {
      simple_rnn_forward_rows_fused_at<2>(rows, in, h0.data_ptr<float>(), U.data_ptr<float>(), len,
                                          in.L, u, out.data_ptr<float>());
    } else {
      simple_rnn_forward_rows_fused_at<1>(rows, in, h0.data_ptr<float>(), U.data_ptr<float>(), len,
                                          in.L, u, out.data_ptr<float>());
    }
    finish_rows<float>(rows, h0.data_ptr<float>(), len, in.L, u, out.data_ptr<float>(),
                       hlast.data_ptr<float>());
  });
  return {out, hlast};
#else
  TORCH_CHECK(false, "textrnn kernels: simple_rnn_forward_ids needs the fused steps (GCC or Clang).");
  return {};
#endif
}

std::vector<Tensor> lstm_forward_ids(const Tensor& table, const Tensor& ids, const Tensor& h0_,
                                     const Tensor& c0_, const Tensor& U_, const OptTensor& lengths_,
                                     const OptTensor& starts_) {
#if defined(__GNUC__) && !defined(TEXTRNN_NO_FUSED_STEPS)
  const TableInput in = checked_table_input(table, ids, 4, lengths_, starts_, "lstm_forward_ids");
  const int64_t B = in.B, T = in.T, u = in.u;
  const Tensor h0 = checked_like(h0_, "h0", in.table, {B, u});
  const Tensor c0 = checked_like(c0_, "c0", in.table, {B, u});
  const Tensor U = checked_like(U_, "recurrent_kernel", in.table, {u, 4 * u});
  Tensor gates = buffer(B, T, 4 * u, in.table, true);
  Tensor cells = buffer(B, T, u, in.table, true);
  Tensor out = buffer(B, T, u, in.table, true);
  Tensor hlast = at::empty({B, u}, in.table.options());
  Tensor clast = at::empty({B, u}, in.table.options());
  const int64_t* len = lengths_ptr(in.lengths);
  for_row_sets(B, len, [&](const std::vector<int64_t>& rows) {
    lstm_forward_rows_fused_at(rows, in, h0.data_ptr<float>(), c0.data_ptr<float>(),
                               U.data_ptr<float>(), len, in.L, u, gates.data_ptr<float>(),
                               cells.data_ptr<float>(), out.data_ptr<float>());
    lstm_forward_finish<float>(rows, h0.data_ptr<float>(), c0.data_ptr<float>(), len, in.L, u,
                               cells.data_ptr<float>(), out.data_ptr<float>(),
                               hlast.data_ptr<float>(), clast.data_ptr<float>());
  });
  return {out, hlast, clast, gates, cells};
#else
  TORCH_CHECK(false, "textrnn kernels: lstm_forward_ids needs the fused steps (GCC or Clang).");
  return {};
#endif
}

// The final (h, c) alone of lstm_forward_ids (inference: nothing saved, no sequence written).
std::vector<Tensor> lstm_last_table(const Tensor& table, const Tensor& ids, const Tensor& h0_,
                                    const Tensor& c0_, const Tensor& U_, const OptTensor& lengths_,
                                    const OptTensor& starts_) {
#if defined(__GNUC__) && !defined(TEXTRNN_NO_FUSED_STEPS)
  const TableInput in = checked_table_input(table, ids, 4, lengths_, starts_, "lstm_last_table");
  const int64_t B = in.B, T = in.T, u = in.u;
  const Tensor h0 = checked_like(h0_, "h0", in.table, {B, u});
  const Tensor c0 = checked_like(c0_, "c0", in.table, {B, u});
  const Tensor U = checked_like(U_, "recurrent_kernel", in.table, {u, 4 * u});
  Tensor hlast = at::empty({B, u}, in.table.options());
  Tensor clast = at::empty({B, u}, in.table.options());
  const int64_t* len = lengths_ptr(in.lengths);
  for_row_sets(B, len, [&](const std::vector<int64_t>& rows) {
    lstm_last_rows_fused_at(
        rows, [&](int64_t b, int64_t t) { return in(b, t, 0); },
        [&](int64_t b) { return row_steps(len, b, T); }, [](int64_t b) { return b; },
        h0.data_ptr<float>(), c0.data_ptr<float>(), U.data_ptr<float>(), u,
        hlast.data_ptr<float>(), clast.data_ptr<float>());
  });
  return {hlast, clast};
#else
  TORCH_CHECK(false, "textrnn kernels: lstm_last_table needs the fused steps (GCC or Clang).");
  return {};
#endif
}

std::vector<Tensor> gru_forward_ids(const Tensor& table, const Tensor& ids, const Tensor& h0_,
                                    const Tensor& U_, const Tensor& rbias_,
                                    const OptTensor& lengths_, const OptTensor& starts_) {
#if defined(__GNUC__) && !defined(TEXTRNN_NO_FUSED_STEPS)
  const TableInput in = checked_table_input(table, ids, 3, lengths_, starts_, "gru_forward_ids");
  const int64_t B = in.B, T = in.T, u = in.u;
  const Tensor h0 = checked_like(h0_, "h0", in.table, {B, u});
  const Tensor U = checked_like(U_, "recurrent_kernel", in.table, {u, 3 * u});
  const Tensor rbias = checked_like(rbias_, "recurrent_bias", in.table, {3 * u});
  Tensor saved = buffer(B, T, 4 * u, in.table, true);
  Tensor out = buffer(B, T, u, in.table, true);
  Tensor hlast = at::empty({B, u}, in.table.options());
  const int64_t* len = lengths_ptr(in.lengths);
  for_row_sets(B, len, [&](const std::vector<int64_t>& rows) {
    gru_forward_rows_fused_at(rows, in, h0.data_ptr<float>(), U.data_ptr<float>(),
                              rbias.data_ptr<float>(), len, in.L, u, saved.data_ptr<float>(),
                              out.data_ptr<float>());
    finish_rows<float>(rows, h0.data_ptr<float>(), len, in.L, u, out.data_ptr<float>(),
                       hlast.data_ptr<float>());
  });
  return {out, hlast, saved};
#else
  TORCH_CHECK(false, "textrnn kernels: gru_forward_ids needs the fused steps (GCC or Clang).");
  return {};
#endif
}

int64_t fused_lanes() {
#if defined(__GNUC__) && !defined(TEXTRNN_NO_FUSED_STEPS)
  return kFloatLanes;
#else
  return 0;
#endif
}

// ------------------------------------------------------------------------------- tokens
// Ids of NUL-separated texts (tokens.h): (ids int32, offsets int64 with one entry per text and one
// more at the end). Raises if the buffer does not hold `texts` texts.
std::vector<Tensor> encode_texts(const TokenTable& table, const pybind11::bytes& data, int64_t texts,
                                 int64_t start, int64_t oov) {
  char* p = nullptr;
  Py_ssize_t n = 0;
  TORCH_CHECK(PyBytes_AsStringAndSize(data.ptr(), &p, &n) == 0, "textrnn kernels: bad bytes.");
  std::vector<int32_t> ids;
  std::vector<int64_t> offsets;
  int64_t found = 0;
  {
    pybind11::gil_scoped_release no_gil;
    ids.reserve(static_cast<size_t>(n / 5) + 16);
    offsets.reserve(static_cast<size_t>(texts) + 1);
    found = table.encode(p, static_cast<size_t>(n), static_cast<int32_t>(start),
                         static_cast<int32_t>(oov), ids, offsets);
  }
  TORCH_CHECK_VALUE(found == texts, "textrnn kernels: the buffer holds ", found,
                    " texts, expected ", texts, ".");
  Tensor ids_t = at::empty({static_cast<int64_t>(ids.size())}, at::kInt);
  std::memcpy(ids_t.data_ptr<int32_t>(), ids.data(), ids.size() * sizeof(int32_t));
  Tensor off_t = at::empty({static_cast<int64_t>(offsets.size())}, at::kLong);
  std::memcpy(off_t.data_ptr<int64_t>(), offsets.data(), offsets.size() * sizeof(int64_t));
  return {ids_t, off_t};
}

std::vector<Tensor> lstm_backward(const OptTensor& gout_, const OptTensor& ghlast_,
                                  const OptTensor& gclast_, const Tensor& h0, const Tensor& c0,
                                  const Tensor& U, const Tensor& out, const Tensor& gates,
                                  const Tensor& cells, const OptTensor& lengths_,
                                  const OptTensor& starts_, bool weight_grad,
                                  const OptTensor& rmask_) {
  const int64_t B = out.size(0), T = out.size(1), u = out.size(2);
  const bool tm = is_time_major(out);
  const Tensor gout = optional_in_layout(gout_, tm), ghlast = contiguous_or_undefined(ghlast_),
               gclast = contiguous_or_undefined(gclast_);
  const Tensor rmask = checked_rmask(rmask_, out, B, 4 * u);
  const Tensor lengths = checked_lengths(lengths_, B, T);
  const Tensor starts = checked_starts(starts_, lengths, B, T);
  const Layout L = layout_of(B, T, tm, starts);
  const Tensor UT = U.t().contiguous();
  Tensor dxw = buffer(B, T, 4 * u, out, tm);
  Tensor dh0 = at::empty({B, u}, out.options());
  Tensor dc0 = at::empty({B, u}, out.options());
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "lstm_backward", [&] {
    for_row_sets(B, lengths_ptr(lengths), [&](const std::vector<int64_t>& rows) {
      lstm_backward_rows<scalar_t>(
          rows, opt_ptr<scalar_t>(gout), opt_ptr<scalar_t>(ghlast), opt_ptr<scalar_t>(gclast),
          UT.data_ptr<scalar_t>(), c0.data_ptr<scalar_t>(), gates.data_ptr<scalar_t>(),
          cells.data_ptr<scalar_t>(), lengths_ptr(lengths), L, u, dxw.data_ptr<scalar_t>(),
          dh0.data_ptr<scalar_t>(), dc0.data_ptr<scalar_t>(), opt_ptr<scalar_t>(rmask));
    });
  });
  Tensor dU;
  if (weight_grad && rmask.defined()) {
    std::vector<Tensor> d;
    for (int64_t q = 0; q < 4; ++q) d.push_back(dxw.narrow(2, q * u, u));
    dU = masked_recurrent_kernel_grad(out, h0, d, rmask, tm, starts);
  } else if (weight_grad) {
    dU = recurrent_kernel_grad(out, h0, dxw, tm, starts);
  }
  return {dxw, dh0, dc0, dU};
}

// ------------------------------------------------------------------------------------- GRU
std::vector<Tensor> gru_forward(const Tensor& xw_, const Tensor& h0_, const Tensor& U_,
                                const Tensor& rbias_, const OptTensor& lengths_, const OptTensor& starts_,
                                const OptTensor& rmask_) {
  const Tensor xw = checked_xw(xw_, 3), h0 = h0_.contiguous(), U = U_.contiguous(),
               rbias = rbias_.contiguous();
  const int64_t B = xw.size(0), T = xw.size(1), u = xw.size(2) / 3;
  check_float(h0, "h0", xw);
  check_float(U, "recurrent_kernel", xw);
  check_float(rbias, "recurrent_bias", xw);
  check_shape(h0, "h0", {B, u});
  check_shape(U, "recurrent_kernel", {u, 3 * u});
  check_shape(rbias, "recurrent_bias", {3 * u});
  const Tensor lengths = checked_lengths(lengths_, B, T);
  const Tensor starts = checked_starts(starts_, lengths, B, T);
  const bool tm = is_time_major(xw);
  const Layout L = layout_of(B, T, tm, starts);
  const Tensor rmask = checked_rmask(rmask_, xw, B, 3 * u);
  const Tensor Ub = rmask.defined() ? gate_blocks(U, 3) : Tensor();
  Tensor saved = buffer(B, T, 4 * u, xw, tm);
  Tensor out = buffer(B, T, u, xw, tm);
  Tensor hlast = at::empty({B, u}, xw.options());
  AT_DISPATCH_FLOATING_TYPES(xw.scalar_type(), "gru_forward", [&] {
    for_row_sets(B, lengths_ptr(lengths), [&](const std::vector<int64_t>& rows) {
      gru_forward_rows<scalar_t>(rows, xw.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(),
                                 U.data_ptr<scalar_t>(), rbias.data_ptr<scalar_t>(),
                                 lengths_ptr(lengths), L, u, saved.data_ptr<scalar_t>(),
                                 out.data_ptr<scalar_t>(), hlast.data_ptr<scalar_t>(),
                                 opt_ptr<scalar_t>(rmask), opt_ptr<scalar_t>(Ub));
    });
  });
  return {out, hlast, saved};
}

std::vector<Tensor> gru_backward(const OptTensor& gout_, const OptTensor& ghlast_,
                                 const Tensor& h0, const Tensor& U, const Tensor& out,
                                 const Tensor& saved, const OptTensor& lengths_,
                                 const OptTensor& starts_, bool weight_grad, bool bias_grad,
                                 const OptTensor& rmask_) {
  const int64_t B = out.size(0), T = out.size(1), u = out.size(2);
  const bool tm = is_time_major(out);
  const Tensor gout = optional_in_layout(gout_, tm), ghlast = contiguous_or_undefined(ghlast_);
  const Tensor rmask = checked_rmask(rmask_, out, B, 3 * u);
  const Tensor lengths = checked_lengths(lengths_, B, T);
  const Tensor starts = checked_starts(starts_, lengths, B, T);
  const Layout L = layout_of(B, T, tm, starts);
  const Tensor UT = U.t().contiguous();
  Tensor dxw = buffer(B, T, 3 * u, out, tm);
  Tensor dhuh = buffer(B, T, u, out, tm);
  Tensor dh0 = at::empty({B, u}, out.options());
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "gru_backward", [&] {
    for_row_sets(B, lengths_ptr(lengths), [&](const std::vector<int64_t>& rows) {
      gru_backward_rows<scalar_t>(rows, opt_ptr<scalar_t>(gout), opt_ptr<scalar_t>(ghlast),
                                  UT.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(),
                                  saved.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(),
                                  lengths_ptr(lengths), L, u, dxw.data_ptr<scalar_t>(),
                                  dhuh.data_ptr<scalar_t>(), dh0.data_ptr<scalar_t>(),
                                  opt_ptr<scalar_t>(rmask));
    });
  });
  // Columns z, r of U see the same gradient as xw; the candidate's columns see r * da_h.
  const Tensor dzr = dxw.narrow(2, 0, 2 * u);
  Tensor dU, dbias;
  if (weight_grad && rmask.defined()) {
    dU = masked_recurrent_kernel_grad(out, h0, {dxw.narrow(2, 0, u), dxw.narrow(2, u, u), dhuh},
                                      rmask, tm, starts);
  } else if (weight_grad) {
    dU = at::cat({recurrent_kernel_grad(out, h0, dzr, tm, starts),
                  recurrent_kernel_grad(out, h0, dhuh, tm, starts)},
                 1);
  }
  if (bias_grad) dbias = at::cat({dzr.sum({0, 1}), dhuh.sum({0, 1})}, 0);
  return {dxw, dh0, dU, dbias};
}

// ------------------------------------------------------------------------------- Embedding
// The first id of ids (B, T; strides id_b, id_t) outside [0, rows), raised as an IndexError that
// names it; returns when there is none.
void check_ids_in_range(const int64_t* idp, int64_t id_b, int64_t id_t, int64_t B, int64_t T,
                        int64_t rows) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      const int64_t r = idp[b * id_b + t * id_t];
      TORCH_CHECK_INDEX(r >= 0 && r < rows, "textrnn kernels: index ", r, " at (", b, ", ", t,
                        ") is out of range for ", rows, " embedding rows.");
    }
}

// The gradient of `weight[ids]`: (rows, D) from grad (B, T, D) (any strides; unit stride along D
// avoids a copy) and ids (B, T) int64. Same numbers as a sequential index_add_ (embedding.h), or
// with `steps_first` as one over the ids flattened step-major.
Tensor embedding_backward(const Tensor& grad_, const Tensor& ids_, int64_t rows, bool steps_first) {
  TORCH_CHECK_TYPE(grad_.device().is_cpu() && ids_.device().is_cpu(),
                   "textrnn kernels: `grad` and `ids` must be CPU tensors.");
  TORCH_CHECK_TYPE(ids_.scalar_type() == at::kLong, "textrnn kernels: `ids` must be int64, got ",
                   ids_.scalar_type(), ".");
  TORCH_CHECK_VALUE(ids_.dim() == 2 && grad_.dim() == 3 && grad_.size(0) == ids_.size(0) &&
                        grad_.size(1) == ids_.size(1),
                    "textrnn kernels: expected `grad` (batch, steps, dim) and `ids` (batch, steps), "
                    "got ", grad_.sizes(), " and ", ids_.sizes(), ".");
  TORCH_CHECK_VALUE(rows >= 0, "textrnn kernels: `rows` must be >= 0, got ", rows, ".");
  const Tensor grad = grad_.stride(2) == 1 ? grad_ : grad_.contiguous();
  const Tensor& ids = ids_;
  const int64_t B = grad.size(0), T = grad.size(1), D = grad.size(2);
  const int64_t id_b = ids.stride(0), id_t = ids.stride(1);
  const int64_t* idp = ids.data_ptr<int64_t>();
  Tensor out = pool().get({rows, D}, grad);  // every element written below
  // Threads split the columns in whole 64-byte lines; below ~16k additions one thread is faster.
  const int64_t line = 64 / static_cast<int64_t>(grad.element_size());
  const int64_t chunks = std::max<int64_t>(1, (D + line - 1) / line);
  const int64_t nt = std::max<int64_t>(
      1, std::min<int64_t>({at::get_num_threads(), chunks, (B * T) / 16384 + 1}));
  std::atomic<bool> ok{true};
  AT_DISPATCH_FLOATING_TYPES(grad.scalar_type(), "embedding_backward", [&] {
    const scalar_t* g = grad.data_ptr<scalar_t>();
    scalar_t* o = out.data_ptr<scalar_t>();
    const int64_t g_b = grad.stride(0), g_t = grad.stride(1);
    at::parallel_for(0, nt, 1, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        // Thread k's columns: chunks k * chunks / nt up to (k + 1) * chunks / nt, in lines.
        const int64_t c0 = std::min(D, (k * chunks / nt) * line);
        const int64_t c1 = std::min(D, ((k + 1) * chunks / nt) * line);
        if (!embedding_grad_columns<scalar_t>(g, g_b, g_t, idp, id_b, id_t, B, T, rows, D, c0, c1,
                                              steps_first, o))
          ok = false;
      }
    });
  });
  if (!ok) check_ids_in_range(idp, id_b, id_t, B, T, rows);
  return out;
}

// ------------------------------------------------------------------------ projection table
// `used` (n,) int64 rows of a vocabulary of `rows`, checked and contiguous; undefined when None
// (every row).
Tensor checked_used(const OptTensor& used_, int64_t rows) {
  if (!used_.has_value() || !used_->defined()) return Tensor();
  const Tensor used = used_->contiguous();
  TORCH_CHECK_TYPE(used.device().is_cpu() && used.scalar_type() == at::kLong && used.dim() == 1,
                   "textrnn kernels: `used` must be a 1-D int64 CPU tensor.");
  const int64_t* u = used.data_ptr<int64_t>();
  for (int64_t i = 0; i < used.numel(); ++i)
    TORCH_CHECK_INDEX(u[i] >= 0 && u[i] < rows, "textrnn kernels: row ", u[i],
                      " is out of range for ", rows, " embedding rows.");
  return used;
}

// `t` contiguous, after checking it is a 2-D float32 or float64 CPU tensor.
Tensor checked_float_matrix(const Tensor& t, const char* name) {
  TORCH_CHECK_TYPE(t.device().is_cpu() && t.dim() == 2 &&
                       (t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble),
                   "textrnn kernels: `", name, "` must be a 2-D float32 or float64 CPU tensor.");
  return t.contiguous();
}

// o_i = c + x_i @ M for the n rows x_i (K,), M (K, N) row-major, each sum over K in order
// (rows_matmul): a row's numbers do not depend on how the rows are split among threads.
template <typename T>
void rows_times(const std::vector<const T*>& x, const T* c, const T* M, int64_t K, int64_t N,
                const std::function<T*(int64_t)>& out_row) {
  const int64_t n = static_cast<int64_t>(x.size());
  const int64_t blocks = (n + kRowBlock - 1) / kRowBlock;
  at::parallel_for(0, blocks, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, K * N / 16)),
                   [&](int64_t b0, int64_t b1) {
    const T* xs[kRowBlock];
    const T* cs[kRowBlock];
    T* os[kRowBlock];
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t i0 = blk * kRowBlock;
      const int r = static_cast<int>(std::min<int64_t>(kRowBlock, n - i0));
      for (int j = 0; j < r; ++j) {
        xs[j] = x[i0 + j];
        cs[j] = c;
        os[j] = out_row(i0 + j);
      }
      rows_matmul_n<T>(r, xs, cs, os, M, K, N);
    }
  });
}

// table (n, W): row i = bias + embeddings[used[i]] @ kernel (every row of embeddings when `used`
// is None): the projection of each id's vector, the same bits at any thread count.
Tensor projection_table(const Tensor& embeddings_, const OptTensor& used, const Tensor& kernel_,
                        const OptTensor& bias_) {
  const Tensor E = checked_float_matrix(embeddings_, "embeddings"), K = kernel_.contiguous();
  check_float(K, "kernel", E);
  TORCH_CHECK_VALUE(K.dim() == 2 && K.size(0) == E.size(1), "textrnn kernels: `kernel` must be (",
                    E.size(1), ", width), got ", K.sizes(), ".");
  const int64_t F = E.size(1), W = K.size(1);
  Tensor c = bias_.has_value() && bias_->defined() ? bias_->contiguous() : at::zeros({W}, E.options());
  check_float(c, "bias", E);
  check_shape(c, "bias", {W});
  const Tensor picked = checked_used(used, E.size(0));
  const int64_t n = picked.defined() ? picked.numel() : E.size(0);
  const int64_t* u = picked.defined() ? picked.data_ptr<int64_t>() : nullptr;
  Tensor table = pool().get({n, W}, E);
  AT_DISPATCH_FLOATING_TYPES(E.scalar_type(), "projection_table", [&] {
    const scalar_t* e = E.data_ptr<scalar_t>();
    std::vector<const scalar_t*> x(n);
    for (int64_t i = 0; i < n; ++i) x[i] = e + (u ? u[i] : i) * F;
    scalar_t* t = table.data_ptr<scalar_t>();
    rows_times<scalar_t>(x, c.data_ptr<scalar_t>(), K.data_ptr<scalar_t>(), F, W,
                         [&](int64_t i) { return t + i * W; });
  });
  return table;
}

// The embeddings' gradient (rows, F) from the table's d_table (n, W): row used[i] (row i when
// `used` is None) = d_table[i] @ kernel^T, every other row zero; the same bits at any thread count.
Tensor table_input_grad(const Tensor& d_table_, const Tensor& kernel_, const OptTensor& used_,
                        int64_t rows) {
  const Tensor D = checked_float_matrix(d_table_, "d_table"), KT = kernel_.t().contiguous();
  check_float(KT, "kernel", D);
  TORCH_CHECK_VALUE(KT.dim() == 2 && KT.size(0) == D.size(1), "textrnn kernels: `kernel` must be "
                    "(features, ", D.size(1), "), got ", kernel_.sizes(), ".");
  const int64_t n = D.size(0), W = D.size(1), F = KT.size(1);
  const Tensor used = checked_used(used_, rows);
  const bool some = used.defined();
  TORCH_CHECK_VALUE(some ? used.numel() == n : rows == n, "textrnn kernels: `d_table` has ", n,
                    " rows, for ", some ? used.numel() : rows, " table rows.");
  Tensor out = pool().get({rows, F}, D);
  if (some) out.zero_();
  AT_DISPATCH_FLOATING_TYPES(D.scalar_type(), "table_input_grad", [&] {
    const scalar_t* d = D.data_ptr<scalar_t>();
    std::vector<const scalar_t*> x(n);
    for (int64_t i = 0; i < n; ++i) x[i] = d + i * W;
    std::vector<scalar_t> zero(F, scalar_t(0));
    scalar_t* o = out.data_ptr<scalar_t>();
    const int64_t* u = some ? used.data_ptr<int64_t>() : nullptr;
    rows_times<scalar_t>(x, zero.data(), KT.data_ptr<scalar_t>(), W, F,
                         [&](int64_t i) { return o + (u ? u[i] : i) * F; });
  });
  return out;
}

// Each row's one run of unmasked steps in `mask` (B, T) bool: `[starts, lengths]` (B,) int64, an
// empty row starting at 0; or an empty list when some row's unmasked steps are not one run.
std::vector<Tensor> mask_windows(const Tensor& mask) {
  TORCH_CHECK_TYPE(mask.device().is_cpu() && mask.scalar_type() == at::kBool && mask.dim() == 2,
                   "textrnn kernels: `mask` must be a 2-D bool CPU tensor.");
  const int64_t B = mask.size(0), T = mask.size(1), m_b = mask.stride(0), m_t = mask.stride(1);
  const bool* m = mask.data_ptr<bool>();
  Tensor starts = at::empty({B}, mask.options().dtype(at::kLong)), lengths = at::empty_like(starts);
  int64_t* s = starts.data_ptr<int64_t>();
  int64_t* n = lengths.data_ptr<int64_t>();
  for (int64_t b = 0; b < B; ++b) {
    const bool* row = m + b * m_b;
    int64_t t = 0;
    while (t < T && !row[t * m_t]) ++t;
    const int64_t first = t;
    while (t < T && row[t * m_t]) ++t;
    s[b] = first == T ? 0 : first;
    n[b] = t - first;
    while (t < T && !row[t * m_t]) ++t;
    if (t < T) return {};  // a second run
  }
  return {starts, lengths};
}

// The rows of a vocabulary of `rows` that `ids` (B, T) int64 names, and the ids renumbered into
// them (embedding.h): `[used (n,), local (B, T)]`, or an empty list when more than `most` rows are
// used (the caller then reads the whole vocabulary).
std::vector<Tensor> compact_ids(const Tensor& ids, int64_t rows, int64_t most) {
  TORCH_CHECK_TYPE(ids.device().is_cpu() && ids.scalar_type() == at::kLong && ids.dim() == 2,
                   "textrnn kernels: `ids` must be a 2-D int64 CPU tensor.");
  TORCH_CHECK_VALUE(rows >= 0 && most >= 0, "textrnn kernels: `rows` and `most` must be >= 0.");
  const int64_t B = ids.size(0), T = ids.size(1);
  const auto opts = ids.options();
  Tensor slot = at::empty({rows}, opts), used = at::empty({std::min(rows, most)}, opts);
  Tensor local = at::empty({B, T}, opts);
  const int64_t* idp = ids.data_ptr<int64_t>();
  const int64_t n = compact_rows(idp, ids.stride(0), ids.stride(1), B, T, rows, most,
                                 slot.data_ptr<int64_t>(), used.data_ptr<int64_t>(),
                                 local.data_ptr<int64_t>());
  if (n == -1) check_ids_in_range(idp, ids.stride(0), ids.stride(1), B, T, rows);
  if (n < 0) return {};
  return {used.narrow(0, 0, n), local};
}

// ------------------------------------------------------------------------------- RMSprop
// In place on contiguous weight, gradient and velocity of one dtype (optimizers.h); the scalars
// arrive as Python computes them and are rounded to the weight's dtype as PyTorch's ops do.
void rmsprop_step(Tensor& weight, const Tensor& grad, Tensor& velocity, double rho,
                  double one_minus_rho, double epsilon, double neg_lr) {
  TORCH_CHECK_VALUE(weight.device().is_cpu() && grad.device().is_cpu() && velocity.device().is_cpu(),
                    "textrnn kernels: rmsprop_step takes CPU tensors.");
  TORCH_CHECK_VALUE(weight.is_contiguous() && grad.is_contiguous() && velocity.is_contiguous(),
                    "textrnn kernels: rmsprop_step takes contiguous tensors.");
  TORCH_CHECK_VALUE(grad.numel() == weight.numel() && velocity.numel() == weight.numel(),
                    "textrnn kernels: rmsprop_step got tensors of different sizes.");
  check_float(grad, "grad", weight);
  check_float(velocity, "velocity", weight);
  AT_DISPATCH_FLOATING_TYPES(weight.scalar_type(), "rmsprop_step", [&] {
    scalar_t* w = weight.data_ptr<scalar_t>();
    const scalar_t* g = grad.data_ptr<scalar_t>();
    scalar_t* v = velocity.data_ptr<scalar_t>();
    for_pieces(weight.numel(), 32768, [&](int64_t begin, int64_t end) {
      rmsprop_update<scalar_t>(w, g, v, begin, end, static_cast<scalar_t>(rho),
                               static_cast<scalar_t>(one_minus_rho),
                               static_cast<scalar_t>(epsilon), static_cast<scalar_t>(neg_lr));
    });
  });
}

// ------------------------------------------------------------------------------- Adam
// In place on contiguous weight, gradient and the two moments of one dtype (optimizers.h).
void adam_step(Tensor& weight, const Tensor& grad, Tensor& m, Tensor& v, double one_minus_beta_1,
               double beta_2, double one_minus_beta_2, double epsilon, double neg_alpha) {
  TORCH_CHECK_VALUE(weight.device().is_cpu() && grad.device().is_cpu() && m.device().is_cpu() &&
                        v.device().is_cpu(),
                    "textrnn kernels: adam_step takes CPU tensors.");
  TORCH_CHECK_VALUE(weight.is_contiguous() && grad.is_contiguous() && m.is_contiguous() &&
                        v.is_contiguous(),
                    "textrnn kernels: adam_step takes contiguous tensors.");
  TORCH_CHECK_VALUE(grad.numel() == weight.numel() && m.numel() == weight.numel() &&
                        v.numel() == weight.numel(),
                    "textrnn kernels: adam_step got tensors of different sizes.");
  check_float(grad, "grad", weight);
  check_float(m, "m", weight);
  check_float(v, "v", weight);
  AT_DISPATCH_FLOATING_TYPES(weight.scalar_type(), "adam_step", [&] {
    scalar_t* w = weight.data_ptr<scalar_t>();
    const scalar_t* g = grad.data_ptr<scalar_t>();
    scalar_t* mp = m.data_ptr<scalar_t>();
    scalar_t* vp = v.data_ptr<scalar_t>();
    for_pieces(weight.numel(), 32768, [&](int64_t begin, int64_t end) {
      adam_update<scalar_t>(w, g, mp, vp, begin, end, static_cast<scalar_t>(one_minus_beta_1),
                            static_cast<scalar_t>(beta_2), static_cast<scalar_t>(one_minus_beta_2),
                            static_cast<scalar_t>(epsilon), static_cast<scalar_t>(neg_alpha));
    });
  });
}

}  // namespace
}  // namespace textrnn

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "textrnn's fused CPU recurrence kernels (SimpleRNN, LSTM, GRU reset_after), the Embedding gradient and the RMSprop and Adam updates.";
  m.def("simple_rnn_forward", &textrnn::simple_rnn_forward);
  m.def("simple_rnn_backward", &textrnn::simple_rnn_backward);
  m.def("lstm_forward", &textrnn::lstm_forward);
  m.def("lstm_backward", &textrnn::lstm_backward);
  m.def("lstm_forward_last", &textrnn::lstm_forward_last);
  m.def("gru_forward", &textrnn::gru_forward);
  m.def("gru_backward", &textrnn::gru_backward);
  m.def("embedding_backward", &textrnn::embedding_backward);
  m.def("grad_tn", &textrnn::grad_tn);
  m.def("compact_ids", &textrnn::compact_ids);
  m.def("mask_windows", &textrnn::mask_windows);
  m.def("projection_table", &textrnn::projection_table);
  m.def("table_input_grad", &textrnn::table_input_grad);
  m.def("rmsprop_step", &textrnn::rmsprop_step);
  m.def("adam_step", &textrnn::adam_step);
  m.def("lstm_last_ids", &textrnn::lstm_last_ids);
  m.def("simple_rnn_forward_ids", &textrnn::simple_rnn_forward_ids);
  m.def("lstm_forward_ids", &textrnn::lstm_forward_ids);
  m.def("gru_forward_ids", &textrnn::gru_forward_ids);
  m.def("lstm_last_table", &textrnn::lstm_last_table);
  m.def("fused_lanes", &textrnn::fused_lanes);
  pybind11::class_<textrnn::TokenTable>(m, "TokenTable")
      .def(pybind11::init<const std::vector<std::string>&, const std::vector<int64_t>&>());
  m.def("encode_texts", &textrnn::encode_texts);
  m.def("num_threads", [] { return at::get_num_threads(); });
  // Rows per chunk of the recurrences' work split: -1 automatic, 0 the static split (benchmarks).
  m.def("set_chunk_rows", [](int64_t rows) { textrnn::g_chunk_rows.store(rows); });
  m.def("release_buffers", [] { return textrnn::pool().release(); });
  m.def("pooled_empty", [](std::vector<int64_t> shape, const at::Tensor& like) {
    return textrnn::pool().get(shape, like);
  });
}
