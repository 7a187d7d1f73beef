// Shared pieces of the fused recurrence kernels: activations, the per-step small GEMM, and the
// split of batch rows over threads.
//
// Buffers (each batch- or time-major, see Layout):
//   xw      (B, T, G*u)  input projection x @ kernel + input bias, computed outside the loop
//   outputs (B, T, u)    hidden state after each step (zero outside a row's steps)
//   U       (u, G*u)     recurrent kernel in Keras's layout; row k multiplies h[k]
// Row b runs lengths[b] steps starting at step starts[b] (all T steps from 0 without lengths).
// Each thread's `rows` come sorted by decreasing length, so the rows still running at step t are
// a prefix of them.
// Rows of a batch never interact inside the recurrence, so each thread owns a fixed set of rows
// for all steps: no barrier per step, one parallel region per call.
// Forward steps in float with units a multiple of the register width are fused (the activations
// run on the accumulators in registers, see *_step_fused); other cases take a product pass then
// an activation pass. Compiling with -DTEXTRNN_NO_FUSED_STEPS forces the latter, to compare.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(_OPENMP)
#define TEXTRNN_SIMD _Pragma("omp simd")
#else
#define TEXTRNN_SIMD
#endif

#if defined(__GNUC__) || defined(_MSC_VER)
#define TEXTRNN_RESTRICT __restrict
#else
#define TEXTRNN_RESTRICT
#endif

namespace textrnn {

// ------------------------------------------------------------------------------------------
// Activations. float uses branch-free approximations that the compiler vectorises (absolute
// error ~1e-7, the size of float rounding); double uses libm so gradcheck sees exact math.

inline float exp_approx(float x) {
  x = std::min(std::max(x, -87.3f), 88.3f);
  // x = k ln2 + r with k an integer (rounded with the 1.5 * 2^23 trick) and |r| <= ln2 / 2.
  const float t = x * 1.4426950408889634f + 12582912.0f;
  const float k = t - 12582912.0f;
  const float r = x - k * 0.693145751953125f - k * 1.4286068203094173e-06f;
  // e^r by its Taylor polynomial to degree 7: relative error < 1e-8 on |r| <= 0.347.
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;  // 2^k
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

template <typename T>
inline T sigmoid(T x);
template <>
inline float sigmoid<float>(float x) {
  return 1.0f / (1.0f + exp_approx(-x));
}
template <>
inline double sigmoid<double>(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

template <typename T>
inline T tanh_(T x);
template <>
inline float tanh_<float>(float x) {
  // tanh(x) = 2 sigmoid(2x) - 1 loses relative precision near 0, where the odd series is exact
  // to float precision for |x| < 0.1.
  const float big = 2.0f * sigmoid<float>(2.0f * x) - 1.0f;
  const float x2 = x * x;
  const float small = x * (1.0f + x2 * (-1.0f / 3.0f + x2 * (2.0f / 15.0f + x2 * (-17.0f / 315.0f))));
  return std::fabs(x) < 0.1f ? small : big;
}
template <>
inline double tanh_<double>(double x) {
  return std::tanh(x);
}

// Gradients that vanish through hundreds of steps end just above the smallest normal float;
// multiplied by anything below 1 in a later GEMM (dU here, the input kernel's gradient in
// PyTorch) they make subnormal products that cost a microcode assist each, which slowed a GEMM
// 6x. Gradient entries below 2^-100 (float) are therefore stored as zero: 1e-30 is far below the
// rounding error of any sum they would join.
template <typename T>
constexpr T kTiny = T(7.888609052210118e-31);  // 2^-100
template <>
constexpr double kTiny<double> = 2.9833362924800834e-154;  // 2^-510

template <typename T>
inline T flush_tiny(T x) {
  return std::fabs(x) < kTiny<T> ? T(0) : x;
}

// ------------------------------------------------------------------------------------------
// One step of the recurrence for R rows at once: o_r = c_r + x_r @ M, with x_r (K,), M (K, N)
// row-major, c_r and o_r (N,). R rows share every load of M; the accumulators of an NB-wide
// column block stay in registers across the K loop.

// The register width the compiler targets (-march=native picks the CPU's): AVX-512, AVX, or
// the 16-byte SSE2 / NEON baseline. Wider vector types would be emulated, slowly.
#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
#elif defined(__AVX__)
constexpr int kVectorBytes = 32;
#else
constexpr int kVectorBytes = 16;
#endif

#if defined(__GNUC__)
// GCC and Clang vector extensions: registers of kVectorBytes, loaded and stored unaligned.
typedef float vfloat __attribute__((vector_size(kVectorBytes)));
typedef double vdouble __attribute__((vector_size(kVectorBytes)));
template <typename T>
struct VecOf;
template <>
struct VecOf<float> {
  using type = vfloat;
};
template <>
struct VecOf<double> {
  using type = vdouble;
};

template <typename V, typename T>
inline V vload(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}
template <typename V, typename T>
inline void vstore(T* p, const V& v) {
  std::memcpy(p, &v, sizeof(V));
}

// Activations on whole float registers, the same formulas as exp_approx / sigmoid / tanh_ above,
// for the fused steps that apply them to accumulators still in registers.
typedef int32_t vint32 __attribute__((vector_size(kVectorBytes)));
constexpr int kFloatLanes = kVectorBytes / static_cast<int>(sizeof(float));

inline vfloat vbroadcast(float a) { return vfloat{} + a; }

inline vfloat vexp(vfloat x) {
  const vfloat lo = vbroadcast(-87.3f), hi = vbroadcast(88.3f);
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  const vfloat shifter = vbroadcast(12582912.0f);
  const vfloat k = (x * 1.4426950408889634f + shifter) - shifter;
  const vfloat r = x - k * 0.693145751953125f - k * 1.4286068203094173e-06f;
  vfloat p = vbroadcast(1.0f / 5040.0f);
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const vint32 bits = (__builtin_convertvector(k, vint32) + 127) << 23;
  return p * (vfloat)bits;
}

inline vfloat vsigmoid(vfloat x) { return vbroadcast(1.0f) / (vexp(-x) + 1.0f); }

inline vfloat vtanh(vfloat x) {
  const vfloat big = vsigmoid(x * 2.0f) * 2.0f - 1.0f;
  const vfloat x2 = x * x;
  const vfloat small =
      x * (x2 * (x2 * (x2 * (-17.0f / 315.0f) + 2.0f / 15.0f) + (-1.0f / 3.0f)) + 1.0f);
  const vfloat ax = (vfloat)((vint32)x & 0x7fffffff);
  return ax < vbroadcast(0.1f) ? small : big;
}

// Rows per fused step: their accumulators (four gates each for an LSTM) must fit the registers.
constexpr int kFusedRows = kVectorBytes == 64 ? 4 : 2;

// Columns [n0, n0 + NV * W) of o_r = c_r + x_r @ M, accumulators in registers.
template <typename T, int R, int NV>
inline void rows_matmul_block(const T* const* x, const T* const* c, T* const* o, const T* M,
                              int64_t K, int64_t N, int64_t n0) {
  using V = typename VecOf<T>::type;
  constexpr int W = sizeof(V) / sizeof(T);
  V acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = vload<V>(c[r] + n0 + v * W);
  for (int64_t k = 0; k < K; ++k) {
    const T* mk = M + k * N + n0;
    V m[NV];
    for (int v = 0; v < NV; ++v) m[v] = vload<V>(mk + v * W);
    for (int r = 0; r < R; ++r) {
      const T xs = x[r][k];
      for (int v = 0; v < NV; ++v) acc[r][v] += xs * m[v];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) vstore(o[r] + n0 + v * W, acc[r][v]);
}
#endif

// Columns [n0, N) of o_r = c_r + x_r @ M, plain loops (the tail, or compilers without vectors).
template <typename T, int R>
inline void rows_matmul_scalar(const T* const* x, const T* const* c, T* const* o, const T* M,
                               int64_t K, int64_t N, int64_t n0) {
  for (int r = 0; r < R; ++r) {
    for (int64_t j = n0; j < N; ++j) {
      T acc = c[r][j];
      for (int64_t k = 0; k < K; ++k) acc += x[r][k] * M[k * N + j];
      o[r][j] = acc;
    }
  }
}

// One step for R rows: o_r = c_r + x_r @ M, with x_r (K,), M (K, N) row-major, c_r and o_r (N,).
// o_r may be c_r; x_r must not overlap o_r.
template <typename T, int R>
inline void rows_matmul(const T* const* x, const T* const* c, T* const* o, const T* M, int64_t K,
                        int64_t N) {
  int64_t n0 = 0;
#if defined(__GNUC__)
  constexpr int W = kVectorBytes / static_cast<int>(sizeof(T));
  for (; n0 + 2 * W <= N; n0 += 2 * W) rows_matmul_block<T, R, 2>(x, c, o, M, K, N, n0);
  for (; n0 + W <= N; n0 += W) rows_matmul_block<T, R, 1>(x, c, o, M, K, N, n0);
#endif
  if (n0 < N) rows_matmul_scalar<T, R>(x, c, o, M, K, N, n0);
}

constexpr int kRowBlock = 4;

// o_r = c_r + x_r @ M for n <= kRowBlock rows.
template <typename T>
inline void rows_matmul_n(int n, const T* const* x, const T* const* c, T* const* o, const T* M,
                          int64_t K, int64_t N) {
  switch (n) {
    case 4: rows_matmul<T, 4>(x, c, o, M, K, N); break;
    case 3: rows_matmul<T, 3>(x, c, o, M, K, N); break;
    case 2: rows_matmul<T, 2>(x, c, o, M, K, N); break;
    case 1: rows_matmul<T, 1>(x, c, o, M, K, N); break;
    default: break;
  }
}

// Recurrent dropout (a mask per row and gate, fixed for the sequence): the gates see the state
// through their own masks, so each gate's product has its own left operand. `Q` gates of width N.

// hm_r = h_r * m_r for each gate: hm_r (Q N) from h_r (N) and m_r (Q N).
template <typename T>
inline void mask_state(const T* TEXTRNN_RESTRICT h, const T* TEXTRNN_RESTRICT m,
                       T* TEXTRNN_RESTRICT hm, int Q, int64_t N) {
  for (int q = 0; q < Q; ++q) {
    TEXTRNN_SIMD
    for (int64_t j = 0; j < N; ++j) hm[q * N + j] = h[j] * m[q * N + j];
  }
}

// Forward: o_r[q] = c_r[q] + hm_r[q] @ Ub[q] for each gate q, with Ub (Q, K, N) the recurrent
// kernel's gate blocks made contiguous, hm_r (Q K), c_r and o_r (Q N) (c_r may be shared by rows).
template <typename T>
inline void rows_matmul_gates_n(int n, int Q, const T* const* hm, const T* const* c, T* const* o,
                                const T* Ub, int64_t K, int64_t N) {
  const T* xq[kRowBlock];
  const T* cq[kRowBlock];
  T* oq[kRowBlock];
  for (int q = 0; q < Q; ++q) {
    for (int r = 0; r < n; ++r) {
      xq[r] = hm[r] + q * K;
      cq[r] = c[r] + q * N;
      oq[r] = o[r] + q * N;
    }
    rows_matmul_n<T>(n, xq, cq, oq, Ub + q * K * N, K, N);
  }
}

// Backward: o_r = c_r + sum over gates q of m_r[q] * (x_r[q] @ M[q]), with M (Q K, N) row-major
// (gate q's rows contiguous, as U^T is), x_r (Q K), m_r (Q N), c_r and o_r (N); `tmp` holds
// kRowBlock * N and `zero` N zeros.
template <typename T>
inline void rows_matmul_masked_n(int n, int Q, const T* const* x, const T* const* c, T* const* o,
                                 const T* const* m, const T* M, int64_t K, int64_t N, T* tmp,
                                 const T* zero) {
  const T* xq[kRowBlock];
  const T* zq[kRowBlock];
  T* tq[kRowBlock];
  for (int r = 0; r < n; ++r) {
    zq[r] = zero;
    tq[r] = tmp + r * N;
    if (o[r] != c[r]) std::copy(c[r], c[r] + N, o[r]);
  }
  for (int q = 0; q < Q; ++q) {
    for (int r = 0; r < n; ++r) xq[r] = x[r] + q * K;
    rows_matmul_n<T>(n, xq, zq, tq, M + q * K * N, K, N);
    for (int r = 0; r < n; ++r) {
      T* TEXTRNN_RESTRICT out = o[r];
      const T* TEXTRNN_RESTRICT t = tq[r];
      const T* TEXTRNN_RESTRICT mq = m[r] + q * N;
      TEXTRNN_SIMD
      for (int64_t j = 0; j < N; ++j) out[j] += mq[j] * t[j];
    }
  }
}

// y += x
template <typename T>
inline void add_to(T* TEXTRNN_RESTRICT y, const T* TEXTRNN_RESTRICT x, int64_t n) {
  TEXTRNN_SIMD
  for (int64_t j = 0; j < n; ++j) y[j] += x[j];
}

// Where the t-th step that row b runs lives in a (B, T, width) buffer, counted in units of
// `width`. Batch-major buffers have row_stride T and step_stride 1, time-major ones (T, B, width)
// 1 and B. Time-major keeps each step's rows together, so the hardware prefetchers see a few long
// streams instead of one short stream per row (and far fewer pages per step). A row's t-th step
// is step starts[b] + t of the buffer (rows padded in front start late).
struct Layout {
  int64_t steps;
  int64_t row_stride;
  int64_t step_stride;
  const int64_t* starts = nullptr;
  int64_t start(int64_t b) const { return starts ? starts[b] : 0; }
  int64_t at(int64_t b, int64_t step) const { return b * row_stride + step * step_stride; }
  int64_t pos(int64_t b, int64_t t) const { return at(b, start(b) + t); }
};

// Zero the steps of row b outside the `len` it runs: what it returns there (outputs, the
// gradient of its input projection).
template <typename T>
inline void zero_outside(T* buf, int64_t b, int64_t len, const Layout& L, int64_t width) {
  const int64_t begin = L.start(b), end = begin + len;
  for (int64_t step = 0; step < L.steps; ++step) {
    if (step >= begin && step < end) continue;
    T* p = buf + L.at(b, step) * width;
    std::fill(p, p + width, T(0));
  }
}

// Number of steps row b runs: lengths[b] when lengths are given, T otherwise.
inline int64_t row_steps(const int64_t* lengths, int64_t b, int64_t T) {
  return lengths ? lengths[b] : T;
}

// After a thread's forward: zero its rows' outputs outside the steps they run, and copy their
// final state to hlast (B, u).
template <typename T>
void finish_rows(const std::vector<int64_t>& rows, const T* h0, const int64_t* lengths,
                 const Layout& L, int64_t u, T* out, T* hlast) {
  for (int64_t b : rows) {
    const int64_t len = row_steps(lengths, b, L.steps);
    if (lengths) zero_outside(out, b, len, L, u);
    const T* src = len == 0 ? h0 + b * u : out + L.pos(b, len - 1) * u;
    std::copy(src, src + u, hlast + b * u);
  }
}

}  // namespace textrnn
