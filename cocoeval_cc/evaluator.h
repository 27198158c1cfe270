// Orchestration: COCOeval's evaluate / accumulate / summarize over loaded
// ground truth and detections, plus the sharding entry points.
#ifndef COCOEVAL_CC_EVALUATOR_H_
#define COCOEVAL_CC_EVALUATOR_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "cocoeval_cc/accumulate.h"
#include "cocoeval_cc/dataset.h"
#include "cocoeval_cc/evaluate.h"
#include "cocoeval_cc/params.h"
#include "cocoeval_cc/summarize.h"

namespace cocoeval {

class Evaluator {
 public:
  // `dt` may be null for an evaluator that only accumulates merged states.
  // num_threads = 0 uses every core; results never depend on it.
  Evaluator(std::shared_ptr<const GroundTruth> gt, std::shared_ptr<const Detections> dt,
            Params params, int num_threads = 0);

  // Evaluates every selected image (params.img_ids, or all when unset).
  void Evaluate();
  // Evaluates a subset of the selected images (a shard); does not change
  // this evaluator's state. Merge shards with MergeStates, then SetState.
  EvalState EvaluateImages(const std::vector<int64_t>& img_ids) const;
  void SetState(EvalState state);
  // pycocotools evaluateImg(imgId, catId, aRng, maxDet) for each of
  // area_rng, in full, for every non-empty image x category of the
  // evaluated ones (img_id unset: every image; cat_id unset or without
  // use_cats: every category). image_ids / cat_ids: each group's.
  std::vector<GroupDetail> EvaluateGroups(std::optional<int64_t> img_id,
                                          std::optional<int64_t> cat_id,
                                          const std::vector<std::array<double, 2>>& area_rng,
                                          int64_t max_det, std::vector<int64_t>* image_ids,
                                          std::vector<int64_t>* cat_ids) const;

  void Accumulate();
  // Returns the summary stats (StatSpecs order) and keeps them.
  const std::vector<double>& Summarize();
  // (S x K) row-major, K = number of categories (1 without use_cats; may be
  // 0 with an explicitly empty cat_ids).
  std::vector<double> PerCategoryStats() const;

  const Params& params() const { return params_; }
  // The inputs, for analyses built on this evaluation (error analysis,
  // diagnostics); detections() is null for an accumulate-only evaluator.
  const GroundTruth& ground_truth() const { return *gt_; }
  const Detections* detections() const { return dt_.get(); }
  const std::vector<StatSpec>& stat_specs() const { return specs_; }
  bool evaluated() const { return evaluated_; }
  bool accumulated() const { return accumulated_; }
  const EvalState& state() const;
  const Accumulated& accumulation() const;
  const std::vector<double>& stats() const { return stats_; }
  // Category ids along the K axis ({-1} without use_cats).
  // params().img_ids / cat_ids are resolved (set) after construction.
  std::vector<int64_t> category_axis() const;

 private:
  EvalSelection Select(const std::vector<int64_t>* img_ids) const;
  // The resolved ids (always set after construction).
  const std::vector<int64_t>& resolved_img_ids() const { return *params_.img_ids; }
  const std::vector<int64_t>& resolved_cat_ids() const { return *params_.cat_ids; }

  std::shared_ptr<const GroundTruth> gt_;
  std::shared_ptr<const Detections> dt_;
  Params params_;
  int num_threads_;
  std::vector<StatSpec> specs_;
  EvalState state_;
  bool evaluated_ = false;
  Accumulated acc_;
  bool accumulated_ = false;
  std::vector<double> stats_;
};

}  // namespace cocoeval

#endif  // COCOEVAL_CC_EVALUATOR_H_
