// Deployment diagnostics built on an evaluation: F1-optimal score
// thresholds, a cross-class confusion matrix, score calibration and
// per-image counts with likely label errors.
//
// Every analysis looks at the area range labelled "all" (pycocotools'
// [0, 1e10] when no label is "all") and the kept detections (maxDets[-1] per
// image x category), at one IoU threshold, with COCO's matching: crowd and
// other ignored ground truth are never misses, detections matched to them
// (or unmatched and outside the area range) are never false positives. At an
// IoU threshold of the evaluation the evaluation's own match bits are read;
// at any other IoU in (0, 1] the images are matched again at that IoU.
//
// Greedy matching in score order has one property everything here relies
// on: the matches of the detections scoring >= s do not depend on the
// detections scoring < s. So "keep score >= s" never needs a new matching.
//
// Ids in the results are the native (int64) ids of the ground truth.
#ifndef COCOEVAL_CC_DIAGNOSTICS_H_
#define COCOEVAL_CC_DIAGNOSTICS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cocoeval_cc/evaluator.h"

namespace cocoeval {

// The best score threshold of one category (the -1 pool without use_cats).
struct F1Threshold {
  int64_t category_id = 0;
  uint64_t num_gt = 0;  // non-ignored ground truth
  // False when the category has no ground truth or no true positive at all:
  // then no threshold is chosen and tp = fp = 0.
  bool found = false;
  double score = 0;  // keep detections scoring >= score
  double precision = 0, recall = 0, f1 = 0;
  uint64_t tp = 0, fp = 0;  // kept detections at that threshold
};

// Per category, the score threshold maximising F1 = 2 tp / (tp + fp + num_gt).
// Thresholds are only tried at the end of a run of equal scores (a
// threshold cannot split ties); among equal F1 the highest threshold wins.
// `iou` in (0, 1]; num_threads 0 = all cores (results never depend on it).
std::vector<F1Threshold> F1Thresholds(const Evaluator& e, double iou, int num_threads);

struct ConfusionMatrix {
  std::vector<int64_t> category_ids;  // K
  // (K + 1) x (K + 1), row-major. Row = ground-truth class, row K =
  // "background" (detections matching no ground truth); column = detected
  // as, column K = "missed" (ground truth no detection claims).
  std::vector<uint64_t> matrix;
};

// Detections scoring >= score_thr. First COCO's same-class matching (the
// evaluation's): a true positive counts on the diagonal. Then, per image,
// the remaining non-ignored detections in score order each claim the
// unclaimed non-ignored ground truth of another class with the highest IoU
// >= iou (row = its class). Needs use_cats and detections. Every row sums to
// the class's non-ignored ground truth; every column (but the last) to the
// class's non-ignored detections scoring >= score_thr.
ConfusionMatrix Confusion(const Evaluator& e, double iou, double score_thr, int num_threads);

struct CalibrationBin {
  double lo = 0, hi = 0;
  uint64_t count = 0;
  double mean_score = 0, accuracy = 0;  // 0 when count is 0
};

struct Calibration {
  double ece = 0, mce = 0;
  uint64_t num_detections = 0;  // non-ignored kept detections
  std::vector<CalibrationBin> bins;
};

// Equal-width score bins over [0, 1] (scores below 0 fall in the first bin,
// above 1 in the last); a detection is correct when it is a true positive at
// `iou`. ECE = sum over bins of count / N * |accuracy - mean_score|; MCE =
// the largest gap of a non-empty bin. 1 <= n_bins <= 1e6.
Calibration ComputeCalibration(const Evaluator& e, double iou, int64_t n_bins);

struct ImageCounts {
  int64_t image_id = 0;
  uint64_t tp = 0, fp = 0, fn = 0;
  // 2 tp / (2 tp + fp + fn); 1 for an image with nothing to find and no
  // false positive.
  double f1 = 1;
};

struct LabelError {
  int64_t image_id = 0;
  int64_t gt_id = 0;  // annotation id
  int64_t gt_category_id = 0, dt_category_id = 0;
  double score = 0, iou = 0;
};

struct ImageDiagnostics {
  std::vector<ImageCounts> images;  // every evaluated image, by image id
  // Indices into `images` of the top_n worst: lowest F1, then most errors
  // (fp + fn), then image id.
  std::vector<size_t> worst;
  // False positives scoring >= score_thr that overlap (IoU >= iou) a
  // non-ignored ground truth of another class which no detection of its
  // own class matched: per image, in score order, each claims the best such
  // ground truth not yet claimed. Sorted by score (desc), image id, gt id.
  // Empty without use_cats.
  std::vector<LabelError> label_errors;
};

// Counts over the detections scoring >= score_thr.
ImageDiagnostics DiagnoseImages(const Evaluator& e, double iou, double score_thr, int64_t top_n,
                                int num_threads);

}  // namespace cocoeval

#endif  // COCOEVAL_CC_DIAGNOSTICS_H_
