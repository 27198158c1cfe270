// Per-image evaluation (pycocotools' evaluate()/evaluateImg()): IoUs and
// greedy matching for every category x area range x image x IoU threshold.
// The result, EvalState, is what accumulate() consumes; it can be computed
// for disjoint image subsets, serialized, and merged.
#ifndef COCOEVAL_CC_EVALUATE_H_
#define COCOEVAL_CC_EVALUATE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cocoeval_cc/dataset.h"
#include "cocoeval_cc/params.h"

namespace cocoeval {

struct EvalState {
  // What the state was computed with; merges require these to agree.
  IouType iou_type = IouType::kBbox;
  bool use_cats = true;
  std::vector<int64_t> cat_ids;  // the K categories ({-1} without use_cats; K may be 0)
  // Without use_cats: the categories pooled into k = 0, in pooling order
  // (a parameter like any other: states pooled differently must not merge).
  // Empty with use_cats.
  std::vector<int64_t> pooled_cat_ids;
  std::vector<double> iou_thrs;
  std::vector<std::array<double, 2>> area_rng;
  int64_t max_det = 0;                 // maxDets[-1]: detections kept per group
  std::vector<double> kpt_oks_sigmas;  // keypoints only

  // One group per (category k, image) with any ground truth or detection,
  // sorted by (k, image id): the order accumulate() concatenates in.
  std::vector<uint32_t> group_cat;
  std::vector<int64_t> group_image;
  std::vector<uint64_t> group_begin;  // entry offsets, size groups + 1
  std::vector<uint32_t> npig;         // groups x A non-ignored ground truths

  // One entry per kept detection, best score first within its group.
  std::vector<double> score;
  // Bit t of word t / 32 at [(entry * A + a) * words + t / 32]: the
  // detection is a true positive (tp) or ignored (ig) at IoU threshold t in
  // area range a; neither means false positive.
  std::vector<uint32_t> tp_bits;
  std::vector<uint32_t> ig_bits;

  // A state without groups, computed with this one's parameters (the
  // fields above group_cat): what merges and image subsets start from.
  EvalState WithoutGroups() const;
  bool SameParameters(const EvalState& o) const;

  size_t num_groups() const { return group_cat.size(); }
  size_t num_areas() const { return area_rng.size(); }
  size_t words() const { return (iou_thrs.size() + 31) / 32; }
};

// What to evaluate, in dense indices of the ground truth.
struct EvalSelection {
  std::vector<uint32_t> images;  // sorted by image id, unique
  // Categories in k order (sorted ids). Without use_cats they are pooled
  // into one group per image, in this order (pycocotools' catIds order).
  std::vector<uint32_t> categories;
};

// `p` must be normalized (NormalizeParams).
EvalState EvaluateImages(const GroundTruth& gt, const Detections& dt, const Params& p,
                         const EvalSelection& sel, int num_threads);

// Reusable buffers for MatchGroup.
struct MatchScratch {
  std::vector<uint32_t> order, active, cand_begin, cand;
  std::vector<uint8_t> ign, crowd, matched;
  std::vector<double> cand_iou;
};

// Greedy matching of one group for one area range (evaluateImg's loop).
// ious: D x G (detections sorted best first, ground truth in input order).
// gt_ignore / gt_crowd: per ground truth. ORs bit t of detection d into
// matched_words[d * stride + t / 32] when it matches at threshold t, and
// into matched_ignored_words when that match is an ignored ground truth
// (callers zero both first). Area-range ignoring of unmatched detections
// is the caller's job, so one result serves every area range with the
// same gt_ignore.
void MatchGroup(const double* ious, size_t num_dt, size_t num_gt, const uint8_t* gt_ignore,
                const uint8_t* gt_crowd, const std::vector<double>& iou_thrs,
                uint32_t* matched_words, uint32_t* matched_ignored_words, size_t stride,
                MatchScratch* scratch, int32_t* matched_gt = nullptr);

// One evaluateImg(imgId, catId, aRng, maxDet) per area range of `p`, in
// full (pycocotools' evalImgs entries, computeIoU): what EvaluateImages
// keeps only as bits. Built on demand for COCOeval.evalImgs / ious.
struct GroupDetail {
  std::vector<uint32_t> dt_rows;   // kept detections, best first (D)
  std::vector<uint32_t> gt_rows;   // ground truth in _prepare order (G)
  std::vector<double> ious;        // D x G; empty when D or G is 0
  std::vector<uint8_t> gt_ignore;  // A x G: evaluateImg's _ignore
  std::vector<int32_t> dt_match;   // A x T x D: index into gt_rows, or -1
};

// Every group of `sel` with any ground truth or detection, in (image id,
// category) order; image_ids / cat_ids receive each one's image id and
// category id (-1 without use_cats).
std::vector<GroupDetail> EvaluateGroupDetails(const GroundTruth& gt, const Detections& dt,
                                              const Params& p, const EvalSelection& sel,
                                              std::vector<int64_t>* image_ids,
                                              std::vector<int64_t>* cat_ids);

std::string SerializeState(const EvalState& s);
// Throws InputError on malformed bytes.
EvalState DeserializeState(std::string_view bytes);
// States of disjoint image subsets computed with the same parameters.
EvalState MergeStates(const std::vector<const EvalState*>& parts);

}  // namespace cocoeval

#endif  // COCOEVAL_CC_EVALUATE_H_
