// TIDE error decomposition (Bolya et al., ECCV 2020) with the semantics of
// tidecv 1.0.1, the authors' implementation: every false positive gets one
// error type (classification, localisation, both, duplicate, background),
// every ground truth found by no error is "missed", and the AP gain of
// fixing each type (and the false-positive / false-negative oracles) is
// measured with tidecv's own per-class AP.
//
// How tidecv differs from the COCO evaluation, and so how this does too:
// detections are cut to the `max_det` best per image (not per image and
// category); matching at one IoU (>= pos_thr) over all area ranges; a crowd
// region ignores an unmatched detection of its class only at crowd IoU
// strictly above pos_thr; a category with detections but no ground truth
// has AP 0 and counts in the mean; recall thresholds are i / 100.
#ifndef COCOEVAL_CC_TIDE_H_
#define COCOEVAL_CC_TIDE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cocoeval_cc/dataset.h"
#include "cocoeval_cc/evaluator.h"
#include "cocoeval_cc/params.h"

namespace cocoeval {

// The six main error types, in tidecv's order.
enum TideError : uint8_t { kTideCls = 0, kTideLoc, kTideBoth, kTideDupe, kTideBkg, kTideMiss };
inline constexpr size_t kTideNumErrors = 6;
// delta_ap slots: the six main errors, then the two oracles.
inline constexpr size_t kTideFp = 6;
inline constexpr size_t kTideFn = 7;
inline constexpr size_t kTideNumDeltas = 8;

struct TideOptions {
  double pos_thr = 0.5;   // foreground IoU, in (0, 1]
  double bg_thr = 0.1;    // background IoU, in (0, pos_thr]
  int64_t max_det = 100;  // detections kept per image, all categories together
};

// AP as a fraction (tidecv's value / 100), the gain of fixing each error
// type (main errors clamped at 0 as tidecv does; the oracles not), and the
// number of errors of each type.
struct TideSummary {
  double ap = 0;
  std::array<double, kTideNumDeltas> delta_ap{};
  std::array<int64_t, kTideNumErrors> counts{};
};

struct TideResult {
  TideSummary overall;
  // Categories that take part in tidecv's mean (any non-crowd ground truth
  // or any kept, non-ignored detection) or have errors, as dense
  // ground-truth indices in category id order, with their summaries. A false positive's error is
  // counted in its own category, a missed ground truth in its own.
  std::vector<uint32_t> categories;
  std::vector<TideSummary> per_category;
};

// Throws InputError (naming the parameter and value) for thresholds
// outside (0, 1], bg_thr > pos_thr, or max_det < 0.
void ValidateTideOptions(const TideOptions& opt);

// TIDE over the images and categories of `sel` (dense indices; images in
// the order their AP data points are pooled). iou_type: bbox or segm
// (keypoints throw InputError). num_threads = 0 uses every core; the result
// does not depend on it.
TideResult ComputeTide(const GroundTruth& gt, const Detections& dt, IouType iou_type,
                       const EvalSelection& sel, const TideOptions& opt, int num_threads);

// The evaluator's images and categories, IoU type and maxDets[-1]. Needs an
// evaluated evaluator with detections and useCats.
TideResult ComputeTide(const Evaluator& e, double pos_thr, double bg_thr, int num_threads);

// tidecv's APDataObject.get_ap for detections already in rank order
// (tp[i] != 0: true positive), as a fraction: 0 without ground truth. The
// plain forward definition; ComputeTide uses TideApOnePass.
double TideAp(const std::vector<uint8_t>& tp, int64_t num_gt);
// The same value from ComputeTide's backward pass (every scenario at once).
double TideApOnePass(const std::vector<uint8_t>& tp, int64_t num_gt);

}  // namespace cocoeval

#endif  // COCOEVAL_CC_TIDE_H_
