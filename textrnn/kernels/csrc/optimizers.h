// Keras's RMSprop update (no momentum, not centered) in one pass over each weight:
//   v = rho v + (1 - rho) g^2;  w -= lr g / sqrt(v + epsilon)
// with the operations and rounding of textrnn's multi-tensor PyTorch version (mul_, addcmul_,
// add, sqrt_, addcdiv_): PyTorch's addcmul ends in one fused multiply-add and its other ops
// round every product, so that FMA is written out and the compiler's own contraction into FMAs
// is turned off. One difference remains: this square root is correctly rounded, while PyTorch's
// vectorised float sqrt is off by one unit in the last place for a fraction of a percent of
// inputs, so a few elements of an update can differ in their last bits.
#pragma once

#include <cmath>
#include <cstdint>

#include "common.h"

// The updates write PyTorch's fused multiply-adds out themselves; the compiler may add none.
#if defined(__GNUC__) && !defined(__clang__)
#define TEXTRNN_NO_CONTRACT __attribute__((optimize("fp-contract=off")))
#else
#define TEXTRNN_NO_CONTRACT
#endif
#if defined(__clang__)
#define TEXTRNN_NO_CONTRACT_BODY _Pragma("clang fp contract(off)")
#else
#define TEXTRNN_NO_CONTRACT_BODY
#endif

namespace textrnn {

template <typename T>
TEXTRNN_NO_CONTRACT
void rmsprop_update(T* TEXTRNN_RESTRICT w, const T* TEXTRNN_RESTRICT g, T* TEXTRNN_RESTRICT v,
                    int64_t begin, int64_t end, T rho, T one_minus_rho, T epsilon, T neg_lr) {
  TEXTRNN_NO_CONTRACT_BODY
  TEXTRNN_SIMD
  for (int64_t i = begin; i < end; ++i) {
    const T gi = g[i];
    T vi = v[i] * rho;
    vi = std::fma(one_minus_rho * gi, gi, vi);  // addcmul_: one FMA of (value * g) and g into v
    v[i] = vi;
    const T denom = std::sqrt(vi + epsilon);
    w[i] = w[i] + neg_lr * gi / denom;  // addcdiv_: w + (value * g) / denom
  }
}

// Keras's Adam update (not amsgrad) in one pass over each weight, with the operations and
// rounding of textrnn's multi-tensor PyTorch version (lerp_, mul_, addcmul_, sqrt, add_,
// addcdiv_):
//   m = m + (1 - beta_1) (g - m);  v = beta_2 v + (1 - beta_2) g^2;
//   w -= alpha m / (sqrt(v) + epsilon),  alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)
// PyTorch's vectorised lerp and addcmul each end in one fused multiply-add, written out here; the
// compiler's own contraction is off. As in rmsprop_update, this square root is correctly rounded.
template <typename T>
TEXTRNN_NO_CONTRACT
void adam_update(T* TEXTRNN_RESTRICT w, const T* TEXTRNN_RESTRICT g, T* TEXTRNN_RESTRICT m,
                 T* TEXTRNN_RESTRICT v, int64_t begin, int64_t end, T one_minus_beta_1, T beta_2,
                 T one_minus_beta_2, T epsilon, T neg_alpha) {
  TEXTRNN_NO_CONTRACT_BODY
  TEXTRNN_SIMD
  for (int64_t i = begin; i < end; ++i) {
    const T gi = g[i];
    const T mi = std::fma(one_minus_beta_1, gi - m[i], m[i]);  // lerp_ with a weight below 1/2
    m[i] = mi;
    T vi = v[i] * beta_2;
    vi = std::fma(one_minus_beta_2 * gi, gi, vi);  // addcmul_
    v[i] = vi;
    const T denom = std::sqrt(vi) + epsilon;
    w[i] = w[i] + neg_alpha * mi / denom;  // addcdiv_: w + (value * m) / denom
  }
}

}  // namespace textrnn
