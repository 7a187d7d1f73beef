// Recycled large buffers for the kernels' outputs and saved activations.
//
// A fresh 32 MB CPU tensor (an LSTM's gates for 128 x 500 steps) costs ~10 ms of page faults
// when first written, more than the recurrence itself, and the allocator hands back new pages at
// every batch. The pool keeps large buffers and hands one out again once nothing but the pool
// holds its storage (the tensors made from it, and the autograd graph that saved them, are
// gone). It holds at most kMaxPooledBytes; `release()` frees whatever is not in use.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <mutex>
#include <vector>

namespace textrnn {

class BufferPool {
 public:
  static constexpr int64_t kMinPooledBytes = int64_t(1) << 20;    // smaller ones are cheap
  static constexpr int64_t kMaxPooledBytes = int64_t(1) << 30;

  // An uninitialised tensor of `shape` with the dtype of `like` (CPU).
  at::Tensor get(at::IntArrayRef shape, const at::Tensor& like) {
    int64_t numel = 1;
    for (int64_t s : shape) numel *= s;
    const int64_t bytes = numel * static_cast<int64_t>(like.element_size());
    if (bytes < kMinPooledBytes) return at::empty(shape, like.options());
    std::lock_guard<std::mutex> lock(mutex_);
    // Best fit among the free buffers of this dtype.
    at::Tensor* best = nullptr;
    for (at::Tensor& base : buffers_) {
      if (base.scalar_type() == like.scalar_type() && base.numel() >= numel &&
          base.storage().use_count() == 1 && (best == nullptr || base.numel() < best->numel()))
        best = &base;
    }
    if (best != nullptr) return best->narrow(0, 0, numel).view(shape);
    // None fits: free buffers too small for this size are unlikely to serve again.
    std::vector<at::Tensor> kept;
    for (at::Tensor& base : buffers_) {
      if (base.storage().use_count() > 1 || base.numel() >= numel) {
        kept.push_back(base);
      } else {
        pooled_bytes_ -= base.numel() * static_cast<int64_t>(base.element_size());
      }
    }
    buffers_.swap(kept);
    at::Tensor base = at::empty({numel}, like.options());
    if (pooled_bytes_ + bytes <= kMaxPooledBytes) {
      buffers_.push_back(base);
      pooled_bytes_ += bytes;
    }
    return base.view(shape);
  }

  // Drop every buffer not in use; returns the bytes freed.
  int64_t release() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<at::Tensor> kept;
    int64_t freed = 0;
    for (at::Tensor& base : buffers_) {
      if (base.storage().use_count() > 1) {
        kept.push_back(base);
      } else {
        freed += base.numel() * static_cast<int64_t>(base.element_size());
      }
    }
    buffers_.swap(kept);
    pooled_bytes_ -= freed;
    return freed;
  }

 private:
  std::mutex mutex_;
  std::vector<at::Tensor> buffers_;  // 1-D bases
  int64_t pooled_bytes_ = 0;
};

}  // namespace textrnn
