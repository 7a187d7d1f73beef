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

namespace textrnn {

template <typename T>
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=off")))
#endif
void rmsprop_update(T* TEXTRNN_RESTRICT w, const T* TEXTRNN_RESTRICT g, T* TEXTRNN_RESTRICT v,
                    int64_t begin, int64_t end, T rho, T one_minus_rho, T epsilon, T neg_lr) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
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

}  // namespace textrnn
