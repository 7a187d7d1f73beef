// LSTM (Keras, gates i, f, c, o): a = xw_t + h_{t-1} @ U, i = sigmoid(a_i), f = sigmoid(a_f),
// g = tanh(a_c), o = sigmoid(a_o), c_t = f c_{t-1} + i g, h_t = o tanh(c_t).
#pragma once

#include <type_traits>

#include "common.h"

namespace textrnn {

// Gates g = [i, f, c, o] (4u) before activation -> after; c_t and h_t from c_{t-1}.
template <typename T>
inline void lstm_activate(T* TEXTRNN_RESTRICT g, const T* TEXTRNN_RESTRICT cp,
                          T* TEXTRNN_RESTRICT cn, T* TEXTRNN_RESTRICT h, int64_t u) {
  TEXTRNN_SIMD
  for (int64_t j = 0; j < u; ++j) {
    const T i_ = sigmoid<T>(g[j]);
    const T f_ = sigmoid<T>(g[u + j]);
    const T c_ = tanh_<T>(g[2 * u + j]);
    const T o_ = sigmoid<T>(g[3 * u + j]);
    const T cj = f_ * cp[j] + i_ * c_;
    g[j] = i_;
    g[u + j] = f_;
    g[2 * u + j] = c_;
    g[3 * u + j] = o_;
    cn[j] = cj;
    h[j] = o_ * tanh_<T>(cj);
  }
}

// One step back: from dh and dc (updated in place to dc_{t-1}), the pre-activation gradients
// da (4u).
template <typename T>
inline void lstm_grad(const T* TEXTRNN_RESTRICT dh_, T* TEXTRNN_RESTRICT dc,
                      const T* TEXTRNN_RESTRICT gates, const T* TEXTRNN_RESTRICT ct,
                      const T* TEXTRNN_RESTRICT cp, T* TEXTRNN_RESTRICT da, int64_t u) {
  TEXTRNN_SIMD
  for (int64_t j = 0; j < u; ++j) {
    const T dh = dh_[j];
    const T i_ = gates[j];
    const T f_ = gates[u + j];
    const T c_ = gates[2 * u + j];
    const T o_ = gates[3 * u + j];
    const T tc = tanh_<T>(ct[j]);
    const T dcj = dc[j] + dh * o_ * (T(1) - tc * tc);
    da[j] = flush_tiny(dcj * c_ * i_ * (T(1) - i_));
    da[u + j] = flush_tiny(dcj * cp[j] * f_ * (T(1) - f_));
    da[2 * u + j] = flush_tiny(dcj * i_ * (T(1) - c_ * c_));
    da[3 * u + j] = flush_tiny(dh * tc * o_ * (T(1) - o_));
    dc[j] = dcj * f_;
  }
}

#if defined(__GNUC__)
// One forward step for R rows, fused (float, units a multiple of the register width): for each
// register-wide slice of units the four gates' accumulators stay in registers through the
// product with U, and the activations and the cell update run on them before one store each.
template <int R>
inline void lstm_step_fused(const float* const* hp, const float* const* xw, const float* const* cp,
                            float* const* gates, float* const* cn, float* const* hn,
                            const float* U, int64_t u) {
  const int64_t G = 4 * u;
  for (int64_t j0 = 0; j0 < u; j0 += kFloatLanes) {
    vfloat acc[R][4];
    for (int r = 0; r < R; ++r)
      for (int q = 0; q < 4; ++q) acc[r][q] = vload<vfloat>(xw[r] + q * u + j0);
    for (int64_t k = 0; k < u; ++k) {
      const float* uk = U + k * G + j0;
      vfloat m[4];
      for (int q = 0; q < 4; ++q) m[q] = vload<vfloat>(uk + q * u);
      for (int r = 0; r < R; ++r) {
        const float x = hp[r][k];
        for (int q = 0; q < 4; ++q) acc[r][q] += x * m[q];
      }
    }
    for (int r = 0; r < R; ++r) {
      const vfloat i = vsigmoid(acc[r][0]);
      const vfloat f = vsigmoid(acc[r][1]);
      const vfloat c_ = vtanh(acc[r][2]);
      const vfloat o = vsigmoid(acc[r][3]);
      const vfloat c = f * vload<vfloat>(cp[r] + j0) + i * c_;
      vstore(gates[r] + j0, i);
      vstore(gates[r] + u + j0, f);
      vstore(gates[r] + 2 * u + j0, c_);
      vstore(gates[r] + 3 * u + j0, o);
      vstore(cn[r] + j0, c);
      vstore(hn[r] + j0, o * vtanh(c));
    }
  }
}

// Forward for one thread's rows with the fused step (same results as lstm_forward_rows), each
// step's gates input (4u floats) at `input(b, t, pos)`: row b's t-th step, at `pos` of the buffers.
template <typename Input>
inline void lstm_forward_rows_fused_at(const std::vector<int64_t>& rows, const Input& input,
                                       const float* h0, const float* c0, const float* U,
                                       const int64_t* lengths, const Layout& L, int64_t u,
                                       float* gates, float* cells, float* out) {
  const int64_t G = 4 * u;
  int64_t tmax = 0;
  for (int64_t b : rows) tmax = std::max(tmax, row_steps(lengths, b, L.steps));
  const float* hp[kFusedRows];
  const float* xr[kFusedRows];
  const float* cp[kFusedRows];
  float* g[kFusedRows];
  float* cn[kFusedRows];
  float* hn[kFusedRows];
  auto flush = [&](int n) {
    switch (n) {
      case 4: lstm_step_fused<4>(hp, xr, cp, g, cn, hn, U, u); break;
      case 3: lstm_step_fused<3>(hp, xr, cp, g, cn, hn, U, u); break;
      case 2: lstm_step_fused<2>(hp, xr, cp, g, cn, hn, U, u); break;
      default: lstm_step_fused<1>(hp, xr, cp, g, cn, hn, U, u); break;
    }
  };
  for (int64_t t = 0; t < tmax; ++t) {
    int n = 0;
    for (int64_t b : rows) {
      if (t >= row_steps(lengths, b, L.steps)) break;  // rows: decreasing length
      const int64_t pos = L.pos(b, t);
      hp[n] = t == 0 ? h0 + b * u : out + L.pos(b, t - 1) * u;
      cp[n] = t == 0 ? c0 + b * u : cells + L.pos(b, t - 1) * u;
      xr[n] = input(b, t, pos);
      g[n] = gates + pos * G;
      cn[n] = cells + pos * u;
      hn[n] = out + pos * u;
      if (++n == kFusedRows) {
        flush(n);
        n = 0;
      }
    }
    if (n > 0) flush(n);
  }
}
// lstm_forward_rows_fused_at over an xw buffer in layout L.
inline void lstm_forward_rows_fused(const std::vector<int64_t>& rows, const float* xw,
                                    const float* h0, const float* c0, const float* U,
                                    const int64_t* lengths, const Layout& L, int64_t u,
                                    float* gates, float* cells, float* out) {
  const int64_t G = 4 * u;
  lstm_forward_rows_fused_at(
      rows, [&](int64_t, int64_t, int64_t pos) { return xw + pos * G; }, h0, c0, U, lengths, L,
      u, gates, cells, out);
}

// Forward without saving anything (inference, no gradient, no sequence output): the same steps
// as lstm_forward_rows_fused, but each row's gates, c and h live in a small ring of scratch
// instead of (B, T, .) buffers, so the call writes only hlast and clast (B, u).
//
// `input(b, t)` points at row b's gates input at its t-th step (4u floats: xw_t, or a row of
// an Embedding folded into the input projection), `steps(b)` is how many steps row b runs, and
// `state(b)` is the row of h0 and c0 it starts from.
template <typename Input, typename Steps, typename State>
inline void lstm_last_rows_fused_at(const std::vector<int64_t>& rows, const Input& input,
                                    const Steps& steps, const State& state, const float* h0,
                                    const float* c0, const float* U, int64_t u, float* hlast,
                                    float* clast) {
  const int64_t G = 4 * u, nrows = static_cast<int64_t>(rows.size());
  const int64_t per_row = G + 4 * u;  // gates, then c and h for two steps
  std::vector<float> scratch(nrows * per_row);
  auto gbuf = [&](int64_t i) { return scratch.data() + i * per_row; };
  auto cbuf = [&](int64_t i, int64_t t) { return gbuf(i) + G + (t & 1) * u; };
  auto hbuf = [&](int64_t i, int64_t t) { return gbuf(i) + G + 2 * u + (t & 1) * u; };
  int64_t tmax = 0;
  for (int64_t b : rows) tmax = std::max(tmax, steps(b));
  const float* hp[kFusedRows];
  const float* xr[kFusedRows];
  const float* cp[kFusedRows];
  float* g[kFusedRows];
  float* cn[kFusedRows];
  float* hn[kFusedRows];
  auto flush = [&](int n) {
    switch (n) {
      case 4: lstm_step_fused<4>(hp, xr, cp, g, cn, hn, U, u); break;
      case 3: lstm_step_fused<3>(hp, xr, cp, g, cn, hn, U, u); break;
      case 2: lstm_step_fused<2>(hp, xr, cp, g, cn, hn, U, u); break;
      default: lstm_step_fused<1>(hp, xr, cp, g, cn, hn, U, u); break;
    }
  };
  for (int64_t t = 0; t < tmax; ++t) {
    int n = 0;
    for (int64_t i = 0; i < nrows; ++i) {
      const int64_t b = rows[i];
      if (t >= steps(b)) break;  // rows: decreasing length
      hp[n] = t == 0 ? h0 + state(b) * u : hbuf(i, t - 1);
      cp[n] = t == 0 ? c0 + state(b) * u : cbuf(i, t - 1);
      xr[n] = input(b, t);
      g[n] = gbuf(i);
      cn[n] = cbuf(i, t);
      hn[n] = hbuf(i, t);
      if (++n == kFusedRows) {
        flush(n);
        n = 0;
      }
    }
    if (n > 0) flush(n);
  }
  for (int64_t i = 0; i < nrows; ++i) {
    const int64_t b = rows[i], len = steps(b);
    const float* hs = len == 0 ? h0 + state(b) * u : hbuf(i, len - 1);
    const float* cs = len == 0 ? c0 + state(b) * u : cbuf(i, len - 1);
    std::copy(hs, hs + u, hlast + b * u);
    std::copy(cs, cs + u, clast + b * u);
  }
}

// lstm_last_rows_fused_at over an xw buffer in layout L, each row from its own row of h0, c0.
inline void lstm_last_rows_fused(const std::vector<int64_t>& rows, const float* xw,
                                 const float* h0, const float* c0, const float* U,
                                 const int64_t* lengths, const Layout& L, int64_t u, float* hlast,
                                 float* clast) {
  const int64_t G = 4 * u;
  lstm_last_rows_fused_at(
      rows, [&](int64_t b, int64_t t) { return xw + L.pos(b, t) * G; },
      [&](int64_t b) { return row_steps(lengths, b, L.steps); }, [](int64_t b) { return b; }, h0,
      c0, U, u, hlast, clast);
}

// lstm_last_rows_fused_at reading each step's input from a table (rows, 4u) of the input
// projection of every token id (Embedding folded into the LSTM's kernel and bias): row b runs the
// ids[offsets[b] .. offsets[b] + lengths[b]) from h0, c0 row state_rows[b].
inline void lstm_last_ids_rows(const std::vector<int64_t>& rows, const float* table,
                               const int32_t* ids, const int64_t* offsets,
                               const int64_t* lengths, const int64_t* state_rows,
                               const float* h0, const float* c0, const float* U, int64_t u,
                               float* hlast, float* clast) {
  const int64_t G = 4 * u;
  lstm_last_rows_fused_at(
      rows,
      [&](int64_t b, int64_t t) { return table + static_cast<int64_t>(ids[offsets[b] + t]) * G; },
      [&](int64_t b) { return lengths[b]; }, [&](int64_t b) { return state_rows[b]; }, h0, c0, U,
      u, hlast, clast);
}
#endif

// After a thread's forward: zero its rows' outputs outside the steps they run, and copy their
// final h and c to hlast, clast (B, u).
template <typename T>
void lstm_forward_finish(const std::vector<int64_t>& rows, const T* h0, const T* c0,
                         const int64_t* lengths, const Layout& L, int64_t u, const T* cells,
                         T* out, T* hlast, T* clast) {
  finish_rows(rows, h0, lengths, L, u, out, hlast);
  for (int64_t b : rows) {
    const int64_t len = row_steps(lengths, b, L.steps);
    const T* cs = len == 0 ? c0 + b * u : cells + L.pos(b, len - 1) * u;
    std::copy(cs, cs + u, clast + b * u);
  }
}

// Forward for one thread's rows. Writes gates (B, T, 4u) after their activations, cells (B, T, u),
// out (B, T, u) at valid steps, and hlast, clast (B, u).
// With recurrent dropout, `rmask` (B, 4u) holds each row's masks for gates i, f, c, o and `Ub`
// (4, u, u) the recurrent kernel's gate blocks; gate q sees h_{t-1} * mask_q (Keras's LSTM with
// recurrent_dropout). Both null otherwise.
template <typename T>
void lstm_forward_rows(const std::vector<int64_t>& rows, const T* xw, const T* h0, const T* c0,
                       const T* U, const int64_t* lengths, const Layout& L, int64_t u, T* gates,
                       T* cells, T* out, T* hlast, T* clast, const T* rmask = nullptr,
                       const T* Ub = nullptr) {
  const int64_t G = 4 * u;
  int64_t tmax = 0;
  for (int64_t b : rows) tmax = std::max(tmax, row_steps(lengths, b, L.steps));
  bool fused = false;
  std::vector<T> hm(rmask ? kRowBlock * G : 0);
#if defined(__GNUC__) && !defined(TEXTRNN_NO_FUSED_STEPS)
  if constexpr (std::is_same_v<T, float>) {
    if (rmask == nullptr && u % kFloatLanes == 0) {
      lstm_forward_rows_fused(rows, xw, h0, c0, U, lengths, L, u, gates, cells, out);
      fused = true;
    }
  }
#endif
  const T* x[kRowBlock];
  const T* c[kRowBlock];
  T* o[kRowBlock];
  std::vector<int64_t> active;
  active.reserve(rows.size());
  auto product = [&](int n) {
    if (rmask) {
      rows_matmul_gates_n<T>(n, 4, x, c, o, Ub, u, u);
    } else {
      rows_matmul_n<T>(n, x, c, o, U, u, G);
    }
  };
  for (int64_t t = 0; t < (fused ? 0 : tmax); ++t) {
    // All products of the step first, then the activations (see simple_rnn.h).
    active.clear();
    int n = 0;
    for (int64_t b : rows) {
      if (t >= row_steps(lengths, b, L.steps)) break;  // rows: decreasing length
      const int64_t pos = L.pos(b, t);
      x[n] = t == 0 ? h0 + b * u : out + L.pos(b, t - 1) * u;
      if (rmask) {
        mask_state<T>(x[n], rmask + b * G, hm.data() + n * G, 4, u);
        x[n] = hm.data() + n * G;
      }
      c[n] = xw + pos * G;
      o[n] = gates + pos * G;
      active.push_back(b);
      if (++n == kRowBlock) {
        product(n);
        n = 0;
      }
    }
    if (n > 0) product(n);
    for (int64_t b : active) {
      const int64_t pos = L.pos(b, t);
      lstm_activate<T>(gates + pos * G, t == 0 ? c0 + b * u : cells + L.pos(b, t - 1) * u,
                       cells + pos * u, out + pos * u, u);
    }
  }
  lstm_forward_finish(rows, h0, c0, lengths, L, u, cells, out, hlast, clast);
}

// Backward for one thread's rows: dxw (B, T, 4u) pre-activation gradients at valid steps, dh0 and
// dc0 (B, u). gout, ghlast and gclast may be null.
template <typename T>
void lstm_backward_rows(const std::vector<int64_t>& rows, const T* gout, const T* ghlast,
                        const T* gclast, const T* UT, const T* c0, const T* gates, const T* cells,
                        const int64_t* lengths, const Layout& L, int64_t u, T* dxw, T* dh0, T* dc0,
                        const T* rmask = nullptr) {
  const int64_t G = 4 * u;
  const int64_t nrows = static_cast<int64_t>(rows.size());
  std::vector<T> dh(nrows * u, T(0));
  std::vector<T> dc(nrows * u, T(0));
  std::vector<T> zero(u, T(0));
  int64_t tmax = 0;
  for (int64_t i = 0; i < nrows; ++i) {
    const int64_t b = rows[i];
    tmax = std::max(tmax, row_steps(lengths, b, L.steps));
    if (ghlast) std::copy(ghlast + b * u, ghlast + (b + 1) * u, dh.data() + i * u);
    if (gclast) std::copy(gclast + b * u, gclast + (b + 1) * u, dc.data() + i * u);
  }
  const T* x[kRowBlock];
  const T* c[kRowBlock];
  T* o[kRowBlock];
  const T* m[kRowBlock];
  std::vector<T> tmp(rmask ? kRowBlock * u : 0);
  for (int i = 0; i < kRowBlock; ++i) c[i] = zero.data();
  // dh_{t-1} = da @ U^T, or with recurrent dropout the sum over gates of mask_q * (da_q @ U_q^T).
  auto product = [&](int n) {
    if (rmask) {
      rows_matmul_masked_n<T>(n, 4, x, c, o, m, UT, u, u, tmp.data(), zero.data());
    } else {
      rows_matmul_n<T>(n, x, c, o, UT, G, u);
    }
  };
  for (int64_t t = tmax - 1; t >= 0; --t) {
    int n = 0;
    for (int64_t i = 0; i < nrows; ++i) {
      const int64_t b = rows[i];
      if (t >= row_steps(lengths, b, L.steps)) break;  // rows: decreasing length
      const int64_t pos = L.pos(b, t);
      T* dhi = dh.data() + i * u;
      T* dci = dc.data() + i * u;
      T* da = dxw + pos * G;
      if (gout) add_to<T>(dhi, gout + pos * u, u);
      lstm_grad<T>(dhi, dci, gates + pos * G, cells + pos * u,
                   t == 0 ? c0 + b * u : cells + L.pos(b, t - 1) * u, da, u);
      x[n] = da;
      o[n] = dhi;
      m[n] = rmask ? rmask + b * G : nullptr;
      if (++n == kRowBlock) {
        product(n);
        n = 0;
      }
    }
    if (n > 0) product(n);
  }
  for (int64_t i = 0; i < nrows; ++i) {
    if (lengths) zero_outside(dxw, rows[i], lengths[rows[i]], L, G);
    std::copy(dh.data() + i * u, dh.data() + (i + 1) * u, dh0 + rows[i] * u);
    std::copy(dc.data() + i * u, dc.data() + (i + 1) * u, dc0 + rows[i] * u);
  }
}

}  // namespace textrnn
