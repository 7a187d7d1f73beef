// Embedding gradient: grad_weight[r] = sum of grad[b, t] over every (b, t) with ids[b, t] == r.
//
// The sum of each row runs in the order of the ids flattened batch-major (b, then t), the order
// in which a sequential `index_add_(0, ids.reshape(-1), grad.reshape(-1, D))` adds, so the result
// is bit-identical to it. Threads own disjoint ranges of rows (chosen so that each gets about the
// same number of additions: ids sorted by frequency put most of them in the first rows); each
// scans all ids and adds those in its range, so no two threads ever write the same row and the
// thread count never changes a result.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "common.h"

namespace textrnn {

// Row ranges [bounds[k], bounds[k + 1]) for nt threads with about equal numbers of ids each.
inline std::vector<int64_t> balanced_row_bounds(const int64_t* ids, int64_t B, int64_t T,
                                                int64_t id_b, int64_t id_t, int64_t rows,
                                                int64_t nt) {
  std::vector<int64_t> bounds(nt + 1, rows);
  bounds[0] = 0;
  if (nt == 1) return bounds;
  std::vector<int32_t> counts(rows, 0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) ++counts[ids[b * id_b + t * id_t]];
  // Each row costs its additions plus a little for zeroing it.
  const double total = static_cast<double>(B * T) + 0.125 * static_cast<double>(rows);
  double seen = 0.0;
  int64_t k = 1;
  for (int64_t r = 0; r < rows && k < nt; ++r) {
    seen += counts[r] + 0.125;
    while (k < nt && seen >= total * static_cast<double>(k) / static_cast<double>(nt)) bounds[k++] = r + 1;
  }
  return bounds;
}

// Zero rows [lo, hi) of out (rows, D), then add grad rows whose id falls in [lo, hi).
template <typename T>
void embedding_grad_range(const T* grad, int64_t g_b, int64_t g_t, const int64_t* ids,
                          int64_t id_b, int64_t id_t, int64_t B, int64_t steps, int64_t D,
                          int64_t lo, int64_t hi, T* out) {
  std::fill(out + lo * D, out + hi * D, T(0));
  if (hi <= lo) return;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t* idr = ids + b * id_b;
    const T* gr = grad + b * g_b;
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t r = idr[t * id_t];
      if (r < lo || r >= hi) continue;
      add_to<T>(out + r * D, gr + t * g_t, D);
    }
  }
}

}  // namespace textrnn
