// SimpleRNN (Keras): h_t = tanh(xw_t + h_{t-1} @ U).
#pragma once

#include <type_traits>

#include "common.h"

namespace textrnn {

template <typename T>
inline void simple_rnn_activate(T* TEXTRNN_RESTRICT h, int64_t u) {
  TEXTRNN_SIMD
  for (int64_t j = 0; j < u; ++j) h[j] = tanh_<T>(h[j]);
}

// da = (dh + g) (1 - h^2), the gradient before tanh; g may be null.
template <typename T>
inline void simple_rnn_grad(const T* TEXTRNN_RESTRICT dh, const T* TEXTRNN_RESTRICT g,
                            const T* TEXTRNN_RESTRICT h, T* TEXTRNN_RESTRICT da, int64_t u) {
  if (g) {
    TEXTRNN_SIMD
    for (int64_t j = 0; j < u; ++j) da[j] = flush_tiny((dh[j] + g[j]) * (T(1) - h[j] * h[j]));
  } else {
    TEXTRNN_SIMD
    for (int64_t j = 0; j < u; ++j) da[j] = flush_tiny(dh[j] * (T(1) - h[j] * h[j]));
  }
}

#if defined(__GNUC__)
// One forward step for R rows, fused (float, units a multiple of NV register widths): NV
// register-wide slices of units per row accumulate in registers, then tanh before one store.
template <int R, int NV>
inline void simple_rnn_step_fused(const float* const* hp, const float* const* xw, float* const* hn,
                                  const float* U, int64_t u) {
  for (int64_t j0 = 0; j0 < u; j0 += NV * kFloatLanes) {
    vfloat acc[R][NV];
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < NV; ++v) acc[r][v] = vload<vfloat>(xw[r] + j0 + v * kFloatLanes);
    for (int64_t k = 0; k < u; ++k) {
      const float* uk = U + k * u + j0;
      vfloat m[NV];
      for (int v = 0; v < NV; ++v) m[v] = vload<vfloat>(uk + v * kFloatLanes);
      for (int r = 0; r < R; ++r) {
        const float x = hp[r][k];
        for (int v = 0; v < NV; ++v) acc[r][v] += x * m[v];
      }
    }
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < NV; ++v) vstore(hn[r] + j0 + v * kFloatLanes, vtanh(acc[r][v]));
  }
}

// The fused forward of one thread's rows, each step's input (u floats) at `input(b, t, pos)`.
template <int NV, typename Input>
inline void simple_rnn_forward_rows_fused_at(const std::vector<int64_t>& rows, const Input& input,
                                             const float* h0, const float* U,
                                             const int64_t* lengths, const Layout& L, int64_t u,
                                             float* out) {
  int64_t tmax = 0;
  for (int64_t b : rows) tmax = std::max(tmax, row_steps(lengths, b, L.steps));
  const float* hp[kRowBlock];
  const float* xr[kRowBlock];
  float* hn[kRowBlock];
  auto flush = [&](int n) {
    switch (n) {
      case 4: simple_rnn_step_fused<4, NV>(hp, xr, hn, U, u); break;
      case 3: simple_rnn_step_fused<3, NV>(hp, xr, hn, U, u); break;
      case 2: simple_rnn_step_fused<2, NV>(hp, xr, hn, U, u); break;
      default: simple_rnn_step_fused<1, NV>(hp, xr, hn, U, u); break;
    }
  };
  for (int64_t t = 0; t < tmax; ++t) {
    int n = 0;
    for (int64_t b : rows) {
      if (t >= row_steps(lengths, b, L.steps)) break;  // rows: decreasing length
      const int64_t pos = L.pos(b, t);
      hp[n] = t == 0 ? h0 + b * u : out + L.pos(b, t - 1) * u;
      xr[n] = input(b, t, pos);
      hn[n] = out + pos * u;
      if (++n == kRowBlock) {
        flush(n);
        n = 0;
      }
    }
    if (n > 0) flush(n);
  }
}

template <int NV>
inline void simple_rnn_forward_rows_fused(const std::vector<int64_t>& rows, const float* xw,
                                          const float* h0, const float* U,
                                          const int64_t* lengths, const Layout& L, int64_t u,
                                          float* out) {
  simple_rnn_forward_rows_fused_at<NV>(
      rows, [&](int64_t, int64_t, int64_t pos) { return xw + pos * u; }, h0, U, lengths, L, u, out);
}
#endif

// Forward for one thread's rows. Writes out (B, T, u) at valid steps and hlast (B, u).
// `rmask` (B, u), or null: the recurrent dropout mask multiplied into h_{t-1} before the product.
template <typename T>
void simple_rnn_forward_rows(const std::vector<int64_t>& rows, const T* xw, const T* h0, const T* U,
                             const int64_t* lengths, const Layout& L, int64_t u, T* out, T* hlast,
                             const T* rmask = nullptr) {
  int64_t tmax = 0;
  for (int64_t b : rows) tmax = std::max(tmax, row_steps(lengths, b, L.steps));
  bool fused = false;
  std::vector<T> hm(rmask ? kRowBlock * u : 0);
#if defined(__GNUC__) && !defined(TEXTRNN_NO_FUSED_STEPS)
  if constexpr (std::is_same_v<T, float>) {
    // (With recurrent dropout the masked state goes through the product-then-activation path.)
    if (rmask == nullptr && u % (2 * kFloatLanes) == 0) {
      simple_rnn_forward_rows_fused<2>(rows, xw, h0, U, lengths, L, u, out);
      fused = true;
    } else if (rmask == nullptr && u % kFloatLanes == 0) {
      simple_rnn_forward_rows_fused<1>(rows, xw, h0, U, lengths, L, u, out);
      fused = true;
    }
  }
#endif
  const T* x[kRowBlock];
  const T* c[kRowBlock];
  T* o[kRowBlock];
  std::vector<T*> active;
  active.reserve(rows.size());
  for (int64_t t = 0; t < (fused ? 0 : tmax); ++t) {
    // All products of the step first, then the activations: the stores of one have retired
    // before the other reads them.
    active.clear();
    int n = 0;
    for (int64_t b : rows) {
      if (t >= row_steps(lengths, b, L.steps)) break;  // rows: decreasing length
      x[n] = t == 0 ? h0 + b * u : out + L.pos(b, t - 1) * u;
      if (rmask) {
        mask_state<T>(x[n], rmask + b * u, hm.data() + n * u, 1, u);
        x[n] = hm.data() + n * u;
      }
      c[n] = xw + L.pos(b, t) * u;
      o[n] = out + L.pos(b, t) * u;
      active.push_back(o[n]);
      if (++n == kRowBlock) {
        rows_matmul_n<T>(n, x, c, o, U, u, u);
        n = 0;
      }
    }
    if (n > 0) rows_matmul_n<T>(n, x, c, o, U, u, u);
    for (T* h : active) simple_rnn_activate<T>(h, u);
  }
  finish_rows(rows, h0, lengths, L, u, out, hlast);
}

// Backward for one thread's rows: dxw (B, T, u) at valid steps (the pre-activation gradient, also
// what dU needs) and dh0 (B, u). gout and ghlast may be null (no gradient flows from them).
template <typename T>
void simple_rnn_backward_rows(const std::vector<int64_t>& rows, const T* gout, const T* ghlast,
                              const T* UT, const T* out, const int64_t* lengths, const Layout& L,
                              int64_t u, T* dxw, T* dh0, const T* rmask = nullptr) {
  const int64_t nrows = static_cast<int64_t>(rows.size());
  std::vector<T> dh(nrows * u, T(0));
  std::vector<T> zero(u, T(0));
  int64_t tmax = 0;
  for (int64_t i = 0; i < nrows; ++i) {
    const int64_t b = rows[i];
    tmax = std::max(tmax, row_steps(lengths, b, L.steps));
    if (ghlast) std::copy(ghlast + b * u, ghlast + (b + 1) * u, dh.data() + i * u);
  }
  const T* x[kRowBlock];
  const T* c[kRowBlock];
  T* o[kRowBlock];
  const T* m[kRowBlock];
  for (int i = 0; i < kRowBlock; ++i) c[i] = zero.data();
  // dh_{t-1} = (da @ U^T) * mask with recurrent dropout.
  auto flush = [&](int n) {
    rows_matmul_n<T>(n, x, c, o, UT, u, u);
    if (!rmask) return;
    for (int r = 0; r < n; ++r) {
      T* TEXTRNN_RESTRICT d = o[r];
      const T* TEXTRNN_RESTRICT mr = m[r];
      TEXTRNN_SIMD
      for (int64_t j = 0; j < u; ++j) d[j] *= mr[j];
    }
  };
  for (int64_t t = tmax - 1; t >= 0; --t) {
    int n = 0;
    for (int64_t i = 0; i < nrows; ++i) {
      const int64_t b = rows[i];
      if (t >= row_steps(lengths, b, L.steps)) break;  // rows: decreasing length
      const int64_t pos = L.pos(b, t) * u;
      T* dhi = dh.data() + i * u;
      T* da = dxw + pos;
      simple_rnn_grad<T>(dhi, gout ? gout + pos : nullptr, out + pos, da, u);
      x[n] = da;
      o[n] = dhi;
      m[n] = rmask ? rmask + b * u : nullptr;
      if (++n == kRowBlock) {
        flush(n);
        n = 0;
      }
    }
    if (n > 0) flush(n);
  }
  for (int64_t i = 0; i < nrows; ++i) {
    if (lengths) zero_outside(dxw, rows[i], lengths[rows[i]], L, u);
    std::copy(dh.data() + i * u, dh.data() + (i + 1) * u, dh0 + rows[i] * u);
  }
}

}  // namespace textrnn
