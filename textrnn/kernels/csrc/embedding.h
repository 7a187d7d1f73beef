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

namespace textrnn {

// The rows of a vocabulary of `rows` that ids (B, T; any strides) name, in increasing order, into
// `used`, and each id renumbered as its row's place among them into `local` (B * T, batch-major).
// `slot` (rows entries) is scratch. Returns the number of rows used, or -1 (stopping early) at an
// id outside [0, rows), or -2 as soon as more than `most` rows are used (then `local` is unset).
inline int64_t compact_rows(const int64_t* ids, int64_t id_b, int64_t id_t, int64_t B, int64_t T,
                            int64_t rows, int64_t most, int64_t* slot, int64_t* used,
                            int64_t* local) {
  std::fill(slot, slot + rows, int64_t(0));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      const int64_t r = ids[b * id_b + t * id_t];
      if (r < 0 || r >= rows) return -1;
      slot[r] = 1;
    }
  int64_t n = 0;
  for (int64_t r = 0; r < rows; ++r)
    if (slot[r]) {
      if (n == most) return -2;
      used[n] = r;
      slot[r] = n++;
    }
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) local[b * T + t] = slot[ids[b * id_b + t * id_t]];
  return n;
}

}  // namespace textrnn
