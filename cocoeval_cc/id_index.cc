#include "cocoeval_cc/id_index.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace cocoeval {

void IdIndex::Build(const std::vector<int64_t>& ids) {
  direct_.clear();
  sorted_ids_.clear();
  sorted_pos_.clear();
  direct_mode_ = false;
  if (ids.empty()) {
    direct_mode_ = true;
    return;
  }
  const auto [lo, hi] = std::minmax_element(ids.begin(), ids.end());
  const uint64_t range = static_cast<uint64_t>(*hi) - static_cast<uint64_t>(*lo);
  // A table of up to a few MB beats binary search (COCO: ids < 600k).
  if (range < 16 * ids.size() + (size_t{1} << 21)) {
    direct_mode_ = true;
    min_ = *lo;
    direct_.assign(range + 1, -1);
    for (size_t i = 0; i < ids.size(); ++i)
      direct_[static_cast<uint64_t>(ids[i]) - static_cast<uint64_t>(min_)] =
          static_cast<int32_t>(i);
    return;
  }
  std::vector<size_t> order(ids.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a] < ids[b]; });
  for (size_t i : order) {
    sorted_ids_.push_back(ids[i]);
    sorted_pos_.push_back(static_cast<uint32_t>(i));
  }
}

int64_t IdIndex::FindSorted(int64_t id) const {
  auto it = std::lower_bound(sorted_ids_.begin(), sorted_ids_.end(), id);
  if (it == sorted_ids_.end() || *it != id) return -1;
  return sorted_pos_[it - sorted_ids_.begin()];
}

}  // namespace cocoeval
