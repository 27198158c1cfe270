// Evaluation parameters, mirroring pycocotools' Params (setDetParams for
// bbox and segm, setKpParams for keypoints).
#ifndef COCOEVAL_CC_PARAMS_H_
#define COCOEVAL_CC_PARAMS_H_

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "cocoeval_cc/errors.h"

namespace cocoeval {

// The values are serialized in evaluation states: append, never renumber.
enum class IouType : uint8_t { kBbox = 0, kSegm = 1, kKeypoints = 2 };

// np.linspace(start, stop, num) bit for bit: i * step + start, last = stop.
// The thresholds must be numpy's doubles (element 8 of the IoU thresholds is
// 0.8999999999999999), not i / 100 or a running sum.
inline std::vector<double> Linspace(double start, double stop, size_t num) {
  std::vector<double> y(num);
  if (num == 0) return y;
  if (num == 1) {
    y[0] = start;
    return y;
  }
  const double div = static_cast<double>(num - 1);
  const double delta = stop - start;
  const double step = delta / div;
  for (size_t i = 0; i < num; ++i) {
    const double fi = static_cast<double>(i);
    // numpy falls back to (i / div) * delta when the step underflows to 0.
    y[i] = (step == 0 ? (fi / div) * delta : fi * step) + start;
  }
  y[num - 1] = stop;
  return y;
}

inline IouType ParseIouType(std::string_view name) {
  if (name == "bbox") return IouType::kBbox;
  if (name == "segm") return IouType::kSegm;
  if (name == "keypoints") return IouType::kKeypoints;
  throw InputError("unknown iouType '" + std::string(name) +
                   "' (expected 'bbox', 'segm' or 'keypoints')");
}

inline const char* IouTypeName(IouType t) {
  switch (t) {
    case IouType::kBbox:
      return "bbox";
    case IouType::kSegm:
      return "segm";
    case IouType::kKeypoints:
      return "keypoints";
  }
  return "?";
}

// pycocotools Params.setKpParams: COCO's 17 person keypoint sigmas,
// np.array([.26, .25, ...]) / 10.0 element by element (each a correctly
// rounded double division, as numpy does it).
inline std::vector<double> CocoKeypointSigmas() {
  const double s[17] = {.26, .25, .25,  .35,  .35, .79, .79, .72, .72,
                        .62, .62, 1.07, 1.07, .87, .87, .89, .89};
  std::vector<double> out(17);
  for (int i = 0; i < 17; ++i) out[i] = s[i] / 10.0;
  return out;
}

struct Params {
  IouType iou_type = IouType::kBbox;
  // Unset (nullopt): every ground-truth image / category. Set: exactly
  // those ids; an explicitly empty list evaluates nothing, as pycocotools
  // does with params.imgIds = [] (precision all -1) or, with use_cats,
  // params.catIds = [] (a K = 0 category axis).
  std::optional<std::vector<int64_t>> img_ids;
  std::optional<std::vector<int64_t>> cat_ids;
  std::vector<double> iou_thrs = Linspace(0.5, 0.95, 10);
  std::vector<double> rec_thrs = Linspace(0.0, 1.0, 101);
  std::vector<int64_t> max_dets = {1, 10, 100};
  std::vector<std::array<double, 2>> area_rng = {
      {0.0, 1e10}, {0.0, 1024.0}, {1024.0, 9216.0}, {9216.0, 1e10}};
  std::vector<std::string> area_rng_lbl = {"all", "small", "medium", "large"};
  bool use_cats = true;
  // Keypoints only: one sigma per keypoint (K sigmas: records carry 3K
  // numbers). Empty for bbox and segm.
  std::vector<double> kpt_oks_sigmas;
};

// pycocotools Params.setKpParams: maxDets [20], areas all / medium / large,
// COCO's person sigmas (the thresholds are setDetParams').
inline void SetKeypointParams(Params* p) {
  p->iou_type = IouType::kKeypoints;
  p->max_dets = {20};
  p->area_rng = {{0.0, 1e10}, {1024.0, 9216.0}, {9216.0, 1e10}};
  p->area_rng_lbl = {"all", "medium", "large"};
  p->kpt_oks_sigmas = CocoKeypointSigmas();
}

// Params(iouType): setDetParams or setKpParams.
inline Params DefaultParams(IouType t) {
  Params p;
  p.iou_type = t;
  if (t == IouType::kKeypoints) SetKeypointParams(&p);
  return p;
}

// Checks what pycocotools would choke on later and sorts max_dets as its
// evaluate() does. Image / category ids are resolved by the evaluator.
inline void NormalizeParams(Params* p) {
  if (p->iou_thrs.empty()) throw InputError("params: iouThrs is empty");
  if (p->rec_thrs.empty()) throw InputError("params: recThrs is empty");
  if (p->max_dets.empty()) throw InputError("params: maxDets is empty");
  if (p->area_rng.empty()) throw InputError("params: areaRng is empty");
  for (double t : p->iou_thrs) {
    if (!std::isfinite(t)) throw InputError("params: iouThrs must be finite");
  }
  for (double r : p->rec_thrs) {
    if (!std::isfinite(r)) throw InputError("params: recThrs must be finite");
  }
  std::sort(p->max_dets.begin(), p->max_dets.end());
  for (size_t i = 0; i < p->max_dets.size(); ++i) {
    if (p->max_dets[i] < 0) throw InputError("params: maxDets must be >= 0");
    if (i > 0 && p->max_dets[i] == p->max_dets[i - 1]) {
      throw InputError("params: maxDets must not repeat a value");
    }
  }
  if (p->area_rng_lbl.size() != p->area_rng.size()) {
    throw InputError("params: areaRngLbl must have one label per areaRng");
  }
  std::unordered_set<std::string> labels;
  for (const std::string& l : p->area_rng_lbl) {
    if (!labels.insert(l).second) {
      throw InputError("params: areaRngLbl repeats label '" + l + "'");
    }
  }
  for (const auto& r : p->area_rng) {
    if (std::isnan(r[0]) || std::isnan(r[1])) {
      throw InputError("params: areaRng bounds must not be NaN");
    }
  }
  if (p->iou_type != IouType::kKeypoints) return;
  if (p->kpt_oks_sigmas.empty()) throw InputError("params: kpt_oks_sigmas is empty");
  for (double s : p->kpt_oks_sigmas) {
    // A zero sigma divides by zero in OKS; pycocotools would return NaN.
    if (!(std::isfinite(s) && s > 0)) {
      throw InputError("params: kpt_oks_sigmas must be positive and finite");
    }
  }
}

}  // namespace cocoeval

#endif  // COCOEVAL_CC_PARAMS_H_
