// pycocotools' summarize(): mean precision / recall over slices, with
// numpy's pairwise summation so the last bit matches np.mean.
#ifndef COCOEVAL_CC_SUMMARIZE_H_
#define COCOEVAL_CC_SUMMARIZE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cocoeval_cc/accumulate.h"
#include "cocoeval_cc/pairwise_sum.h"
#include "cocoeval_cc/params.h"

namespace cocoeval {

// One summary number: mean of precision (ap) or recall over IoU thresholds
// equal to iou_thr (all when has_iou_thr is false), area label, maxDets.
struct StatSpec {
  bool ap = true;
  bool has_iou_thr = false;
  double iou_thr = 0.0;
  std::string area_lbl;
  int64_t max_det = 0;
  // pycocotools' printed line, e.g.
  // " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]"
  std::string Describe(const Params& p) const;
};

// The 12 standard stats for default parameters; in general: AP, AP50, AP75,
// AP per non-'all' area, AR per maxDets, AR per non-'all' area. Stats use
// the last maxDets except the AR per maxDets rows. Keypoints: the 10 of
// _summarizeKps, in general AP, AP50, AP75, AP per non-'all' area, AR,
// AR50, AR75, AR per non-'all' area, all at the last maxDets.
std::vector<StatSpec> StatSpecs(const Params& p);

// stats[i] for each spec; -1 when no entry is > -1. `k` restricts to one
// category (per-category stats); k < 0 means all categories.
std::vector<double> Summarize(const Accumulated& acc, const Params& p,
                              const std::vector<StatSpec>& specs, int64_t k = -1);

// (S x K) row-major: row i is stat i restricted to category k.
std::vector<double> PerCategoryStats(const Accumulated& acc, const Params& p,
                                     const std::vector<StatSpec>& specs);

}  // namespace cocoeval

#endif  // COCOEVAL_CC_SUMMARIZE_H_
