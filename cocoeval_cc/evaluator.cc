#include "cocoeval_cc/evaluator.h"

#include <algorithm>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>

#include "cocoeval_cc/errors.h"

namespace cocoeval {

Evaluator::Evaluator(std::shared_ptr<const GroundTruth> gt, std::shared_ptr<const Detections> dt,
                     Params params, int num_threads)
    : gt_(std::move(gt)),
      dt_(std::move(dt)),
      params_(std::move(params)),
      num_threads_(ResolveThreads(num_threads)) {
  if (!gt_) throw InputError("evaluator: no ground truth given");
  NormalizeParams(&params_);
  // Resolve and validate ids now so that bad params fail early. Unset ids
  // mean every ground-truth image / category; an explicit empty list means
  // none (pycocotools evaluates nothing then).
  std::vector<int64_t> cats = params_.cat_ids ? *params_.cat_ids : gt_->category_ids;
  if (params_.use_cats) {
    std::sort(cats.begin(), cats.end());
    cats.erase(std::unique(cats.begin(), cats.end()), cats.end());
  } else {
    // Pooling follows the given order (pycocotools keeps it without useCats).
    std::vector<int64_t> kept;
    std::unordered_set<int64_t> seen;
    for (int64_t c : cats) {
      if (seen.insert(c).second) kept.push_back(c);
    }
    cats.swap(kept);
  }
  for (int64_t c : cats) {
    if (gt_->category_index.Find(c) < 0) {
      throw InputError("params: category id " + std::to_string(c) + " is not in the ground truth " +
                       gt_->source);
    }
  }
  std::vector<int64_t> imgs = params_.img_ids ? *params_.img_ids : gt_->image_ids;
  std::sort(imgs.begin(), imgs.end());
  imgs.erase(std::unique(imgs.begin(), imgs.end()), imgs.end());
  for (int64_t i : imgs) {
    if (gt_->image_index.Find(i) < 0) {
      throw InputError("params: image id " + std::to_string(i) + " is not in the ground truth " +
                       gt_->source);
    }
  }
  params_.cat_ids = std::move(cats);
  params_.img_ids = std::move(imgs);
  specs_ = StatSpecs(params_);
}

EvalSelection Evaluator::Select(const std::vector<int64_t>* img_ids) const {
  EvalSelection sel;
  for (int64_t c : resolved_cat_ids()) {
    sel.categories.push_back(static_cast<uint32_t>(gt_->category_index.Find(c)));
  }
  if (img_ids == nullptr) {
    for (int64_t i : resolved_img_ids())
      sel.images.push_back(static_cast<uint32_t>(gt_->image_index.Find(i)));
    return sel;
  }
  std::vector<int64_t> ids = *img_ids;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (int64_t i : ids) {
    if (!std::binary_search(resolved_img_ids().begin(), resolved_img_ids().end(), i)) {
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

std::vector<GroupDetail> Evaluator::EvaluateGroups(
    std::optional<int64_t> img_id, std::optional<int64_t> cat_id,
    const std::vector<std::array<double, 2>>& area_rng, int64_t max_det,
    std::vector<int64_t>* image_ids, std::vector<int64_t>* cat_ids) const {
  image_ids->clear();
  cat_ids->clear();
  if (!dt_) return {};
  EvalSelection sel = Select(nullptr);
  if (img_id.has_value()) {
    const int64_t image = gt_->image_index.Find(*img_id);
    if (image < 0) return {};
    sel.images = {static_cast<uint32_t>(image)};
  }
  if (params_.use_cats && cat_id.has_value()) {
    const int64_t category = gt_->category_index.Find(*cat_id);
    if (category < 0) return {};
    sel.categories = {static_cast<uint32_t>(category)};
  }
  Params p = params_;
  p.area_rng = area_rng;
  p.max_dets = {max_det};
  return cocoeval::EvaluateGroupDetails(*gt_, *dt_, p, sel, image_ids, cat_ids);
}

void Evaluator::SetState(EvalState state) {
  const std::vector<int64_t> cats = category_axis();
  const std::vector<int64_t> pooled =
      params_.use_cats ? std::vector<int64_t>() : resolved_cat_ids();
  if (state.iou_type != params_.iou_type || state.use_cats != params_.use_cats ||
      state.cat_ids != cats || state.pooled_cat_ids != pooled ||
      state.iou_thrs != params_.iou_thrs || state.area_rng != params_.area_rng ||
      state.max_det != params_.max_dets.back() ||
      state.kpt_oks_sigmas != (params_.iou_type == IouType::kKeypoints ? params_.kpt_oks_sigmas
                                                                       : std::vector<double>())) {
    throw InputError("set_state: the state was computed with different parameters");
  }
  state_ = std::move(state);
  evaluated_ = true;
  accumulated_ = false;
}

std::vector<int64_t> Evaluator::category_axis() const {
  return params_.use_cats ? resolved_cat_ids() : std::vector<int64_t>{-1};
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
