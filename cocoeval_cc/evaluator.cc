#include "cocoeval_cc/evaluator.h"

#include <algorithm>
#include <string>
#include <unordered_set>
#include <utility>

#include "cocoeval_cc/errors.h"

namespace cocoeval {

Evaluator::Evaluator(std::shared_ptr<const GroundTruth> gt, std::shared_ptr<const Detections> dt,
                     Params params, int num_threads)
    : gt_(std::move(gt)), dt_(std::move(dt)), params_(std::move(params)),
      num_threads_(ResolveThreads(num_threads)) {
  if (!gt_) throw InputError("evaluator: no ground truth given");
  NormalizeParams(&params_);
  // Resolve and validate ids now so that bad params fail early.
  if (params_.use_cats) {
    std::sort(params_.cat_ids.begin(), params_.cat_ids.end());
    params_.cat_ids.erase(std::unique(params_.cat_ids.begin(), params_.cat_ids.end()),
                          params_.cat_ids.end());
  } else {
    // Pooling follows the given order (pycocotools keeps it without useCats).
    std::vector<int64_t> kept;
    std::unordered_set<int64_t> seen;
    for (int64_t c : params_.cat_ids) {
      if (seen.insert(c).second) kept.push_back(c);
    }
    params_.cat_ids.swap(kept);
  }
  if (params_.cat_ids.empty()) params_.cat_ids = gt_->category_ids;
  for (int64_t c : params_.cat_ids) {
    if (gt_->category_index.Find(c) < 0) {
      throw InputError("params: category id " + std::to_string(c) + " is not in the ground truth " +
                       gt_->source);
    }
  }
  std::sort(params_.img_ids.begin(), params_.img_ids.end());
  params_.img_ids.erase(std::unique(params_.img_ids.begin(), params_.img_ids.end()),
                        params_.img_ids.end());
  if (params_.img_ids.empty()) params_.img_ids = gt_->image_ids;
  for (int64_t i : params_.img_ids) {
    if (gt_->image_index.Find(i) < 0) {
      throw InputError("params: image id " + std::to_string(i) + " is not in the ground truth " +
                       gt_->source);
    }
  }
  specs_ = StatSpecs(params_);
}

EvalSelection Evaluator::Select(const std::vector<int64_t>* img_ids) const {
  EvalSelection sel;
  for (int64_t c : params_.cat_ids) {
    sel.categories.push_back(static_cast<uint32_t>(gt_->category_index.Find(c)));
  }
  if (img_ids == nullptr) {
    for (int64_t i : params_.img_ids) sel.images.push_back(static_cast<uint32_t>(gt_->image_index.Find(i)));
    return sel;
  }
  std::vector<int64_t> ids = *img_ids;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (int64_t i : ids) {
    if (!std::binary_search(params_.img_ids.begin(), params_.img_ids.end(), i)) {
      throw InputError("evaluate_images: image id " + std::to_string(i) +
                       " is not among the evaluated images");
    }
    sel.images.push_back(static_cast<uint32_t>(gt_->image_index.Find(i)));
  }
  return sel;
}

void Evaluator::Evaluate() {
  if (!dt_) throw InputError("evaluate: this evaluator has no detections");
  state_ = cocoeval::EvaluateImages(*gt_, *dt_, params_, Select(nullptr), num_threads_);
  evaluated_ = true;
  accumulated_ = false;
}

EvalState Evaluator::EvaluateImages(const std::vector<int64_t>& img_ids) const {
  if (!dt_) throw InputError("evaluate: this evaluator has no detections");
  return cocoeval::EvaluateImages(*gt_, *dt_, params_, Select(&img_ids), num_threads_);
}

void Evaluator::SetState(EvalState state) {
  const std::vector<int64_t> cats = category_axis();
  if (state.iou_type != params_.iou_type || state.use_cats != params_.use_cats ||
      state.cat_ids != cats || state.iou_thrs != params_.iou_thrs ||
      state.area_rng != params_.area_rng || state.max_det != params_.max_dets.back()) {
    throw InputError("set_state: the state was computed with different parameters");
  }
  state_ = std::move(state);
  evaluated_ = true;
  accumulated_ = false;
}

std::vector<int64_t> Evaluator::category_axis() const {
  return params_.use_cats ? params_.cat_ids : std::vector<int64_t>{-1};
}

const EvalState& Evaluator::state() const {
  if (!evaluated_) throw InputError("run evaluate() first");
  return state_;
}

const Accumulated& Evaluator::accumulation() const {
  if (!accumulated_) throw InputError("run accumulate() first");
  return acc_;
}

void Evaluator::Accumulate() {
  if (!evaluated_) throw InputError("accumulate: run evaluate() first");
  acc_ = cocoeval::Accumulate(state_, params_.rec_thrs, params_.max_dets, num_threads_);
  accumulated_ = true;
}

const std::vector<double>& Evaluator::Summarize() {
  stats_ = cocoeval::Summarize(accumulation(), params_, specs_);
  return stats_;
}

std::vector<double> Evaluator::PerCategoryStats() const {
  return cocoeval::PerCategoryStats(accumulation(), params_, specs_);
}

}  // namespace cocoeval
