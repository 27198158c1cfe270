// pycocotools' accumulate(): precision / recall / score curves per IoU
// threshold x recall threshold x category x area range x maxDets.
#ifndef COCOEVAL_CC_ACCUMULATE_H_
#define COCOEVAL_CC_ACCUMULATE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cocoeval_cc/evaluate.h"

namespace cocoeval {

struct Accumulated {
  size_t T = 0, R = 0, K = 0, A = 0, M = 0;
  std::vector<double> precision;  // [T, R, K, A, M], C order; -1 = no ground truth
  std::vector<double> recall;     // [T, K, A, M]
  std::vector<double> scores;     // [T, R, K, A, M]
  size_t PrecisionIndex(size_t t, size_t r, size_t k, size_t a, size_t m) const {
    return (((t * R + r) * K + k) * A + a) * M + m;
  }
  size_t RecallIndex(size_t t, size_t k, size_t a, size_t m) const {
    return ((t * K + k) * A + a) * M + m;
  }
};

// `max_dets` sorted ascending, last <= s.max_det. Categories are processed
// in parallel; every output element is computed by one thread in a fixed
// order, so results do not depend on num_threads.
Accumulated Accumulate(const EvalState& s, const std::vector<double>& rec_thrs,
                       const std::vector<int64_t>& max_dets, int num_threads);

// Stable order of `scores` by descending value (numpy's
// argsort(-scores, kind='mergesort')). Exposed for tests.
void SortByScoreDescending(const double* scores, size_t n, std::vector<uint32_t>* order);

}  // namespace cocoeval

#endif  // COCOEVAL_CC_ACCUMULATE_H_
