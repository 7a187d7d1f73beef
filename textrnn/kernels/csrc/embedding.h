// Embedding gradient: grad_weight[r] = sum of grad[b, t] over every (b, t) with ids[b, t] == r.
//
// The sum of each row runs in the order of the ids flattened batch-major (b, then t), the order
// in which a sequential `index_add_(0, ids.reshape(-1), grad.reshape(-1, D))` adds, so the result
// is bit-identical to it (or, asked for, step-major: t, then b). Threads split the D columns (whole 64-byte lines each): every thread
// walks all ids with the same, perfectly balanced work and no branch on who owns a row, no two
// threads write the same element, and the thread count never changes a result.
#pragma once

#include <algorithm>
#include <cstdint>

#include "common.h"

namespace textrnn {

// Columns [c0, c1) of out (rows, D): zeroed, then grad[b, t, c0:c1] added into row ids[b, t] for
// every (b, t) in batch-major order (b, then t), or with `steps_first` in step-major order (t,
// then b: the order of a time-major grad's memory, one stream instead of a jump per step).
// Returns false (stopping early) at an id outside [0, rows).
template <typename T>
bool embedding_grad_columns(const T* grad, int64_t g_b, int64_t g_t, const int64_t* ids,
                            int64_t id_b, int64_t id_t, int64_t B, int64_t steps, int64_t rows,
                            int64_t D, int64_t c0, int64_t c1, bool steps_first, T* out) {
  const int64_t w = c1 - c0;
  for (int64_t r = 0; r < rows; ++r) std::fill(out + r * D + c0, out + r * D + c1, T(0));
  // The outer loop over one dimension, the inner over the other.
  const int64_t outer = steps_first ? steps : B, inner = steps_first ? B : steps;
  const int64_t id_o = steps_first ? id_t : id_b, id_i = steps_first ? id_b : id_t;
  const int64_t g_o = steps_first ? g_t : g_b, g_i = steps_first ? g_b : g_t;
  for (int64_t o = 0; o < outer; ++o) {
    const int64_t* ido = ids + o * id_o;
    const T* go = grad + o * g_o + c0;
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t r = ido[i * id_i];
      if (r < 0 || r >= rows) return false;
      add_to<T>(out + r * D + c0, go + i * g_i, w);
    }
  }
  return true;
}

}  // namespace textrnn
