// Vocabulary lookup of many texts at once (inference): the texts arrive as one UTF-8 buffer,
// already lower-cased, with tags and filter characters turned into spaces (Python does those
// steps, which define the tokens), and separated by NUL bytes. A token is a maximal run of bytes
// other than the space and NUL, exactly `str.split(" ")` without the empty strings; its id comes
// from an open-addressing hash table of the vocabulary's UTF-8 words.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace textrnn {

class TokenTable {
 public:
  // words[i] -> ids[i]; an id < 0 means "drop the token".
  TokenTable(const std::vector<std::string>& words, const std::vector<int64_t>& ids) {
    size_t cap = 16;
    while (cap < 2 * words.size() + 1) cap <<= 1;
    mask_ = cap - 1;
    slots_.assign(cap, Slot{});
    size_t total = 0;
    for (const auto& w : words) total += w.size();
    blob_.reserve(total);
    for (size_t i = 0; i < words.size(); ++i) {
      const std::string& w = words[i];
      if (w.empty()) continue;
      uint64_t h = kSeed;
      for (const char c : w) h = step(h, c);
      h = finish(h);
      const uint32_t tag = static_cast<uint32_t>(h >> 32);
      size_t s = h & mask_;
      while (slots_[s].len != 0 && !same(slots_[s], tag, w.data(), w.size())) s = (s + 1) & mask_;
      if (slots_[s].len == 0) {
        slots_[s] = Slot{tag, static_cast<uint32_t>(blob_.size()), static_cast<uint32_t>(w.size()),
                         static_cast<int32_t>(ids[i])};
        blob_.append(w);
      }
    }
  }

  // Appends the ids of every text of `data` to `ids` and, per text, where its ids begin to
  // `offsets` (one more entry at the end). `start` (>= 0) is put first in every text; tokens not
  // in the table get `oov`; ids < 0 are dropped. Returns the number of texts.
  int64_t encode(const char* data, size_t size, int32_t start, int32_t oov,
                 std::vector<int32_t>& ids, std::vector<int64_t>& offsets) const {
    int64_t texts = 0;
    auto begin_text = [&] {
      offsets.push_back(static_cast<int64_t>(ids.size()));
      if (start >= 0) ids.push_back(start);
      ++texts;
    };
    begin_text();
    size_t i = 0;
    while (i < size) {
      const char c = data[i];
      if (c == ' ') {
        ++i;
        continue;
      }
      if (c == '\0') {
        begin_text();
        ++i;
        continue;
      }
      // A token: hash its bytes while looking for its end.
      const size_t first = i;
      uint64_t h = step(kSeed, c);
      for (++i; i < size && data[i] != ' ' && data[i] != '\0'; ++i) h = step(h, data[i]);
      const int32_t id = find(data + first, i - first, finish(h), oov);
      if (id >= 0) ids.push_back(id);
    }
    offsets.push_back(static_cast<int64_t>(ids.size()));
    return texts;
  }

 private:
  struct Slot {
    uint32_t tag = 0;  // the hash's high half
    uint32_t offset = 0;
    uint32_t len = 0;  // 0: empty slot (no word is empty)
    int32_t id = 0;
  };

  // FNV-1a, byte by byte (tokens are short), then a final mix of the high bits into the low.
  static constexpr uint64_t kSeed = 1469598103934665603ull;
  static uint64_t step(uint64_t h, char c) {
    return (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  static uint64_t finish(uint64_t h) {
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 32);
  }

  int32_t find(const char* p, size_t n, uint64_t h, int32_t missing) const {
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t s = h & mask_;; s = (s + 1) & mask_) {
      const Slot& slot = slots_[s];
      if (slot.len == 0) return missing;
      if (same(slot, tag, p, n)) return slot.id;
    }
  }

  bool same(const Slot& s, uint32_t tag, const char* p, size_t n) const {
    return s.tag == tag && s.len == n && std::memcmp(blob_.data() + s.offset, p, n) == 0;
  }

  size_t mask_ = 0;
  std::vector<Slot> slots_;
  std::string blob_;
};

}  // namespace textrnn
