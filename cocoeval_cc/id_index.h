// IdIndex: COCO ids to dense indices. Its own library because both the
// loaders (dataset) and the fast JSON scanner (json_scanner) resolve ids
// with it, and the loaders use the scanner.
#ifndef COCOEVAL_CC_ID_INDEX_H_
#define COCOEVAL_CC_ID_INDEX_H_

#include <cstdint>
#include <vector>

namespace cocoeval {

// Maps ids (any int64, including 0 and values past 2**32) to dense indices.
class IdIndex {
 public:
  // `ids` must be unique; index i is returned for ids[i].
  void Build(const std::vector<int64_t>& ids);
  // Returns -1 for an unknown id.
  int64_t Find(int64_t id) const {
    if (!direct_.empty() || direct_mode_) {
      const uint64_t off = static_cast<uint64_t>(id) - static_cast<uint64_t>(min_);
      return off < direct_.size() ? direct_[off] : -1;
    }
    return FindSorted(id);
  }

 private:
  int64_t FindSorted(int64_t id) const;
  bool direct_mode_ = false;
  int64_t min_ = 0;
  std::vector<int32_t> direct_;      // compact id ranges: a lookup table
  std::vector<int64_t> sorted_ids_;  // otherwise: binary search
  std::vector<uint32_t> sorted_pos_;
};

}  // namespace cocoeval

#endif  // COCOEVAL_CC_ID_INDEX_H_
