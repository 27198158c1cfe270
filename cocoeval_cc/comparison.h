// Slices (the statistics of subsets of the evaluated images) and the paired
// bootstrap comparison of two models, both from an evaluation's matching
// state: no IoU or matching is computed again.
#ifndef COCOEVAL_CC_COMPARISON_H_
#define COCOEVAL_CC_COMPARISON_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cocoeval_cc/evaluate.h"
#include "cocoeval_cc/evaluator.h"

namespace cocoeval {

// ------------------------------------------------------------------ slices

// The groups of `s` whose image is in `image_ids` (any order, duplicates
// allowed), in their original order: the state pycocotools would have
// produced with params.imgIds = image_ids.
EvalState FilterState(const EvalState& s, const std::vector<int64_t>& image_ids);

struct SliceStats {
  size_t num_images = 0;
  std::vector<double> stats;         // S, StatSpecs order
  std::vector<double> per_category;  // S x K row-major (PerCategoryStats)
};

// Accumulate + Summarize + per-category statistics of the evaluated images
// in `image_ids` (ids as in the state). Throws InputError when the list is
// empty or names an image that was not evaluated ("slice 'name': ...").
SliceStats EvaluateSlice(const Evaluator& e, const std::string& name,
                         const std::vector<int64_t>& image_ids, int num_threads);

struct NamedSlice {
  std::string name;
  std::vector<int64_t> image_ids;  // sorted
};

// The built-in slices of the evaluated images, empty ones left out:
//  - by image pixel area width x height: "image_area:<0.25MP" (< 250,000
//    pixels), "image_area:0.25-0.5MP", "image_area:0.5-1MP",
//    "image_area:>=1MP" (>= 1,000,000), "image_area:unknown" (no size);
//  - by crowd density, the number of non-crowd ground-truth annotations of
//    the evaluated categories in the image: "objects:0", "objects:1-3",
//    "objects:4-10", "objects:11+", and "objects:has_crowd" (images with at
//    least one crowd region; they are also in their count bucket).
std::vector<NamedSlice> BuiltinSlices(const Evaluator& e);

// ------------------------------------------------------- paired bootstrap

// Image multiplicities of resample `r` over `n` images: n draws with
// replacement from std::mt19937_64 seeded by std::seed_seq{seed low, seed
// high, r low, r high} (both fully specified by the C++ standard), each
// mapped to [0, n) by rejection (no modulo bias), so the draws are the same
// on every platform and for any thread count.
std::vector<uint32_t> ResampleWeights(uint64_t seed, uint64_t r, size_t n);

// numpy's quantile (method 'linear') of sorted values; q in [0, 1].
double Quantile(const std::vector<double>& sorted, double q);

// One model's matching state prepared for weighted re-accumulation: per
// category, its detections in the global score order, split per area range
// into the ones that are a false positive at every IoU threshold (only
// their running weight matters) and the rest.
class BootstrapModel {
 public:
  explicit BootstrapModel(const Evaluator& e);
  ~BootstrapModel();
  BootstrapModel(const BootstrapModel&) = delete;
  BootstrapModel& operator=(const BootstrapModel&) = delete;

  // The statistics when image i (position in the sorted evaluated image
  // ids) counts weights[i] times: every summary statistic (S) and each
  // category's stat 0 (K). Equivalent to pycocotools on the data set where
  // each image is repeated weights[i] times, with copies of one detection
  // consecutive in the score order (ties between different detections of
  // one image keep their order once per detection, not once per copy).
  // All weights 1 gives the evaluation's own statistics bit for bit.
  void WeightedStats(const std::vector<uint32_t>& weights, std::vector<double>* stats,
                     std::vector<double>* category_stat0) const;

  size_t num_images() const;
  size_t num_categories() const;
  size_t num_stats() const;

  struct Impl;
  const Impl* impl() const { return impl_.get(); }

 private:
  std::unique_ptr<Impl> impl_;
};

struct DeltaInterval {
  double a = -1, b = -1, delta = 0;  // point estimates from all images
  double lo = 0, hi = 0;             // percentile interval of b - a
  bool significant = false;          // the interval excludes 0
  size_t valid_samples = 0;          // resamples where both are defined
};

struct ComparisonResult {
  size_t num_images = 0;
  std::vector<DeltaInterval> stats;         // S
  std::vector<DeltaInterval> per_category;  // K (stat 0); a / b = -1: no ground truth
};

// Paired bootstrap of b - a: the same resampled images for both models.
// Throws InputError for n_bootstrap < 1, confidence outside (0, 1), an
// evaluator not evaluated, or evaluations on different images, categories
// or parameters. Results do not depend on num_threads.
ComparisonResult Compare(const Evaluator& a, const Evaluator& b, int64_t n_bootstrap, uint64_t seed,
                         double confidence, int num_threads);

}  // namespace cocoeval

#endif  // COCOEVAL_CC_COMPARISON_H_
