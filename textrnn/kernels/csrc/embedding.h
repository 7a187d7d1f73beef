// Embedding gradient: grad_weight[r] = sum of grad[b, t] over every (b, t) with ids[b, t] == r.
//
// The sum of each row runs in the order of the ids flattened batch-major (b, then t), the order
// in which a sequential `index_add_(0, ids.reshape(-1), grad.reshape(-1, D))` adds, so the result
// is bit-identical to it. Threads split the D columns (whole 64-byte lines each): every thread
// walks all ids with the same, perfectly balanced work and no branch on who owns a row, no two
// threads write the same element, and the thread count never changes a result.
#pragma once

#include <algorithm>
#include <cstdint>

#include "common.h"

namespace textrnn {

// Columns [c0, c1) of out (rows, D): zeroed, then grad[b, t, c0:c1] added into row ids[b, t] for
// every (b, t) in batch-major order. Returns false (stopping early) at an id outside [0, rows).
template <typename T>
bool embedding_grad_columns(const T* grad, int64_t g_b, int64_t g_t, const int64_t* ids,
                            int64_t id_b, int64_t id_t, int64_t B, int64_t steps, int64_t rows,
                            int64_t D, int64_t c0, int64_t c1, T* out) {
  const int64_t w = c1 - c0;
  for (int64_t r = 0; r < rows; ++r) std::fill(out + r * D + c0, out + r * D + c1, T(0));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t* idr = ids + b * id_b;
    const T* gr = grad + b * g_b + c0;
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t r = idr[t * id_t];
      if (r < 0 || r >= rows) return false;
      add_to<T>(out + r * D + c0, gr + t * g_t, w);
    }
  }
  return true;
}

}  // namespace textrnn
