// GRU (Keras, reset_after=True, gates z, r, h): hu = h_{t-1} @ U + br, z = sigmoid(xw_z + hu_z),
// r = sigmoid(xw_r + hu_r), hh = tanh(xw_h + r hu_h), h_t = z h_{t-1} + (1 - z) hh.
#pragma once

#include <type_traits>

#include "common.h"

namespace textrnn {

// s = h @ U + br (3u) -> [z, r, hh, hu_h] (4u); h_t from h_{t-1}.
template <typename T>
inline void gru_activate(T* TEXTRNN_RESTRICT s, const T* TEXTRNN_RESTRICT xv,
                         const T* TEXTRNN_RESTRICT hp, T* TEXTRNN_RESTRICT h, int64_t u) {
  TEXTRNN_SIMD
  for (int64_t j = 0; j < u; ++j) {
    const T z = sigmoid<T>(xv[j] + s[j]);
    const T rg = sigmoid<T>(xv[u + j] + s[u + j]);
    const T huh = s[2 * u + j];
    const T hh = tanh_<T>(xv[2 * u + j] + rg * huh);
    s[j] = z;
    s[u + j] = rg;
    s[2 * u + j] = hh;
    s[3 * u + j] = huh;
    h[j] = z * hp[j] + (T(1) - z) * hh;
  }
}

// One step back from dh: da (3u) for xw, dq = da_h r for hu_h, xu = [da_z, da_r, da_h r] (what
// multiplies U^T) and dir = dh z (the path through h_t = z h_{t-1} + ...).
template <typename T>
inline void gru_grad(const T* TEXTRNN_RESTRICT dh, const T* TEXTRNN_RESTRICT s,
                     const T* TEXTRNN_RESTRICT hp, T* TEXTRNN_RESTRICT da, T* TEXTRNN_RESTRICT dq,
                     T* TEXTRNN_RESTRICT xu, T* TEXTRNN_RESTRICT dir, int64_t u) {
  TEXTRNN_SIMD
  for (int64_t j = 0; j < u; ++j) {
    const T z = s[j];
    const T rg = s[u + j];
    const T hh = s[2 * u + j];
    const T huh = s[3 * u + j];
    const T d = dh[j];
    const T daz = flush_tiny(d * (hp[j] - hh) * z * (T(1) - z));
    const T dah = flush_tiny(d * (T(1) - z) * (T(1) - hh * hh));
    const T dar = flush_tiny(dah * huh * rg * (T(1) - rg));
    da[j] = daz;
    da[u + j] = dar;
    da[2 * u + j] = dah;
    dq[j] = flush_tiny(dah * rg);
    xu[j] = daz;
    xu[u + j] = dar;
    xu[2 * u + j] = dah * rg;
    dir[j] = d * z;
  }
}

#if defined(__GNUC__)
// One forward step for R rows, fused (float, units a multiple of the register width): the three
// gates' recurrent accumulators stay in registers from the product with U to the update of h.
template <int R>
inline void gru_step_fused(const float* const* hp, const float* const* xw, float* const* saved,
                           float* const* hn, const float* U, const float* rbias, int64_t u) {
  const int64_t G = 3 * u;
  for (int64_t j0 = 0; j0 < u; j0 += kFloatLanes) {
    vfloat acc[R][3];
    for (int q = 0; q < 3; ++q) {
      const vfloat bq = vload<vfloat>(rbias + q * u + j0);
      for (int r = 0; r < R; ++r) acc[r][q] = bq;
    }
    for (int64_t k = 0; k < u; ++k) {
      const float* uk = U + k * G + j0;
      vfloat m[3];
      for (int q = 0; q < 3; ++q) m[q] = vload<vfloat>(uk + q * u);
      for (int r = 0; r < R; ++r) {
        const float x = hp[r][k];
        for (int q = 0; q < 3; ++q) acc[r][q] += x * m[q];
      }
    }
    for (int r = 0; r < R; ++r) {
      const vfloat z = vsigmoid(vload<vfloat>(xw[r] + j0) + acc[r][0]);
      const vfloat rg = vsigmoid(vload<vfloat>(xw[r] + u + j0) + acc[r][1]);
      const vfloat huh = acc[r][2];
      const vfloat hh = vtanh(vload<vfloat>(xw[r] + 2 * u + j0) + rg * huh);
      vstore(saved[r] + j0, z);
      vstore(saved[r] + u + j0, rg);
      vstore(saved[r] + 2 * u + j0, hh);
      vstore(saved[r] + 3 * u + j0, huh);
      vstore(hn[r] + j0, z * vload<vfloat>(hp[r] + j0) + (1.0f - z) * hh);
    }
  }
}

// Forward for one thread's rows with the fused step (same results as gru_forward_rows), each
// step's input projection (3u floats) at `input(b, t, pos)`.
template <typename Input>
inline void gru_forward_rows_fused_at(const std::vector<int64_t>& rows, const Input& input,
                                      const float* h0, const float* U, const float* rbias,
                                      const int64_t* lengths, const Layout& L, int64_t u,
                                      float* saved, float* out) {
  int64_t tmax = 0;
  for (int64_t b : rows) tmax = std::max(tmax, row_steps(lengths, b, L.steps));
  const float* hp[kFusedRows];
  const float* xr[kFusedRows];
  float* sv[kFusedRows];
  float* hn[kFusedRows];
  auto flush = [&](int n) {
    switch (n) {
      case 4: gru_step_fused<4>(hp, xr, sv, hn, U, rbias, u); break;
      case 3: gru_step_fused<3>(hp, xr, sv, hn, U, rbias, u); break;
      case 2: gru_step_fused<2>(hp, xr, sv, hn, U, rbias, u); break;
      default: gru_step_fused<1>(hp, xr, sv, hn, U, rbias, u); break;
    }
  };
  for (int64_t t = 0; t < tmax; ++t) {
    int n = 0;
    for (int64_t b : rows) {
      if (t >= row_steps(lengths, b, L.steps)) break;  // rows: decreasing length
      const int64_t pos = L.pos(b, t);
      hp[n] = t == 0 ? h0 + b * u : out + L.pos(b, t - 1) * u;
      xr[n] = input(b, t, pos);
      sv[n] = saved + pos * 4 * u;
      hn[n] = out + pos * u;
      if (++n == kFusedRows) {
        flush(n);
        n = 0;
      }
    }
    if (n > 0) flush(n);
  }
}

inline void gru_forward_rows_fused(const std::vector<int64_t>& rows, const float* xw,
                                   const float* h0, const float* U, const float* rbias,
                                   const int64_t* lengths, const Layout& L, int64_t u, float* saved,
                                   float* out) {
  const int64_t G = 3 * u;
  gru_forward_rows_fused_at(
      rows, [&](int64_t, int64_t, int64_t pos) { return xw + pos * G; }, h0, U, rbias, lengths, L,
      u, saved, out);
}
#endif

// Forward for one thread's rows. Writes saved (B, T, 4u) = [z, r, hh, hu_h] and out (B, T, u) at
// valid steps, and hlast (B, u). With recurrent dropout, `rmask` (B, 3u) holds the masks of gates
// z, r, h and `Ub` (3, u, u) the recurrent kernel's gate blocks (as in lstm.h); else both null.
template <typename T>
void gru_forward_rows(const std::vector<int64_t>& rows, const T* xw, const T* h0, const T* U,
                      const T* rbias, const int64_t* lengths, const Layout& L, int64_t u, T* saved,
                      T* out, T* hlast, const T* rmask = nullptr, const T* Ub = nullptr) {
  const int64_t G = 3 * u;
  int64_t tmax = 0;
  for (int64_t b : rows) tmax = std::max(tmax, row_steps(lengths, b, L.steps));
  bool fused = false;
  std::vector<T> hm(rmask ? kRowBlock * G : 0);
#if defined(__GNUC__) && !defined(TEXTRNN_NO_FUSED_STEPS)
  if constexpr (std::is_same_v<T, float>) {
    if (rmask == nullptr && u % kFloatLanes == 0) {
      gru_forward_rows_fused(rows, xw, h0, U, rbias, lengths, L, u, saved, out);
      fused = true;
    }
  }
#endif
  const T* x[kRowBlock];
  const T* c[kRowBlock];
  T* o[kRowBlock];
  for (int i = 0; i < kRowBlock; ++i) c[i] = rbias;
  std::vector<int64_t> active;
  active.reserve(rows.size());
  auto product = [&](int n) {
    if (rmask) {
      rows_matmul_gates_n<T>(n, 3, x, c, o, Ub, u, u);
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
        mask_state<T>(x[n], rmask + b * G, hm.data() + n * G, 3, u);
        x[n] = hm.data() + n * G;
      }
      o[n] = saved + pos * 4 * u;  // [0, 3u) = h @ U + br
      active.push_back(b);
      if (++n == kRowBlock) {
        product(n);
        n = 0;
      }
    }
    if (n > 0) product(n);
    for (int64_t b : active) {
      const int64_t pos = L.pos(b, t);
      gru_activate<T>(saved + pos * 4 * u, xw + pos * G,
                      t == 0 ? h0 + b * u : out + L.pos(b, t - 1) * u, out + pos * u, u);
    }
  }
  finish_rows(rows, h0, lengths, L, u, out, hlast);
}

// Backward for one thread's rows: dxw (B, T, 3u) pre-activation gradients of the input
// projection, dhuh (B, T, u) the gradient of hu_h (what dU and the recurrent bias need for the
// candidate's columns), and dh0 (B, u). gout and ghlast may be null.
template <typename T>
void gru_backward_rows(const std::vector<int64_t>& rows, const T* gout, const T* ghlast,
                       const T* UT, const T* h0, const T* saved, const T* out,
                       const int64_t* lengths, const Layout& L, int64_t u, T* dxw, T* dhuh,
                       T* dh0, const T* rmask = nullptr) {
  const int64_t G = 3 * u;
  const int64_t nrows = static_cast<int64_t>(rows.size());
  std::vector<T> dh(nrows * u, T(0));
  std::vector<T> dhu(kRowBlock * G);     // [da_z, da_r, da_h r] per row of a block
  std::vector<T> direct(kRowBlock * u);  // dh z, the gradient through h_t = z h_{t-1} + ...
  int64_t tmax = 0;
  for (int64_t i = 0; i < nrows; ++i) {
    const int64_t b = rows[i];
    tmax = std::max(tmax, row_steps(lengths, b, L.steps));
    if (ghlast) std::copy(ghlast + b * u, ghlast + (b + 1) * u, dh.data() + i * u);
  }
  const T* x[kRowBlock];
  const T* c[kRowBlock];
  T* o[kRowBlock];
  for (int i = 0; i < kRowBlock; ++i) {
    x[i] = dhu.data() + i * G;
    c[i] = direct.data() + i * u;
  }
  const T* m[kRowBlock];
  std::vector<T> tmp(rmask ? kRowBlock * u : 0), zero(rmask ? u : 0, T(0));
  // dh_{t-1} = dh z + xu @ U^T, or with recurrent dropout dh z + sum_q mask_q * (xu_q @ U_q^T).
  auto product = [&](int n) {
    if (rmask) {
      rows_matmul_masked_n<T>(n, 3, x, c, o, m, UT, u, u, tmp.data(), zero.data());
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
      if (gout) add_to<T>(dhi, gout + pos * u, u);
      gru_grad<T>(dhi, saved + pos * 4 * u, t == 0 ? h0 + b * u : out + L.pos(b, t - 1) * u,
                  dxw + pos * G, dhuh + pos * u, dhu.data() + n * G, direct.data() + n * u, u);
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
    if (lengths) zero_outside(dhuh, rows[i], lengths[rows[i]], L, u);
    std::copy(dh.data() + i * u, dh.data() + (i + 1) * u, dh0 + rows[i] * u);
  }
}

}  // namespace textrnn
