#include "cocoeval_cc/diagnostics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cocoeval_cc/accumulate.h"
#include "cocoeval_cc/errors.h"
#include "cocoeval_cc/evaluate.h"
#include "cocoeval_cc/mask.h"
#include "cocoeval_cc/oks.h"
#include "cocoeval_cc/parallel_for.h"

namespace cocoeval {
namespace {

std::string Num(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", x);
  return buf;
}

void CheckIou(const char* what, double iou) {
  if (!(iou > 0 && iou <= 1)) {  // NaN fails too
    throw InputError(std::string(what) + ": iou must be in (0, 1], got " + Num(iou));
  }
}

void CheckScoreThr(const char* what, double score_thr) {
  if (std::isnan(score_thr)) throw InputError(std::string(what) + ": score_thr must not be NaN");
}

// Orders doubles as unsigned keys (NaN included, so sorts never see an
// inconsistent comparison); -0.0 and 0.0 are equal.
inline uint64_t OrderedKey(double x) {
  x += 0.0;
  uint64_t u;
  std::memcpy(&u, &x, sizeof(u));
  return (u >> 63) ? ~u : (u | (uint64_t{1} << 63));
}

// The same start as MatchGroup's: IoU 1 must stay reachable.
inline double EffectiveThreshold(double iou) { return std::min(iou, 1 - 1e-10); }

// The area range labelled "all", else pycocotools' default all range.
std::array<double, 2> AllRange(const Params& p, std::optional<size_t>* index) {
  for (size_t a = 0; a < p.area_rng_lbl.size() && a < p.area_rng.size(); ++a) {
    if (p.area_rng_lbl[a] == "all") {
      *index = a;
      return p.area_rng[a];
    }
  }
  *index = std::nullopt;
  return {0.0, 1e10};
}

EvalSelection Selection(const Evaluator& e) {
  const GroundTruth& gt = e.ground_truth();
  EvalSelection sel;
  for (int64_t c : *e.params().cat_ids) {
    sel.categories.push_back(static_cast<uint32_t>(gt.category_index.Find(c)));
  }
  for (int64_t i : *e.params().img_ids) {
    sel.images.push_back(static_cast<uint32_t>(gt.image_index.Find(i)));
  }
  return sel;
}

// The match bits of every kept detection at one IoU, area "all": the
// evaluation's own when it has that threshold and area range, else a
// matching of the same images at exactly that IoU.
struct Matching {
  EvalState owned;
  const EvalState* borrowed = nullptr;  // null: `owned`
  size_t a = 0, t = 0;
  const EvalState& state() const { return borrowed != nullptr ? *borrowed : owned; }
  bool Tp(uint64_t entry) const { return Bit(state().tp_bits, entry); }
  bool Ignored(uint64_t entry) const { return Bit(state().ig_bits, entry); }
  uint32_t Npig(size_t group) const { return state().npig[group * state().num_areas() + a]; }

 private:
  bool Bit(const std::vector<uint32_t>& bits, uint64_t entry) const {
    const EvalState& s = state();
    const size_t W = s.words();
    return (bits[(entry * s.num_areas() + a) * W + t / 32] >> (t % 32)) & 1u;
  }
};

Matching MatchAt(const Evaluator& e, double iou, int num_threads, const char* what) {
  CheckIou(what, iou);
  const EvalState& state = e.state();  // throws unless evaluated
  std::optional<size_t> all;
  const std::array<double, 2> range = AllRange(e.params(), &all);
  Matching m;
  if (all.has_value() && *all < state.area_rng.size()) {
    for (size_t t = 0; t < state.iou_thrs.size(); ++t) {
      if (state.iou_thrs[t] == iou) {
        m.borrowed = &state;
        m.a = *all;
        m.t = t;
        return m;
      }
    }
  }
  if (e.detections() == nullptr) {
    throw InputError(std::string(what) + ": iou " + Num(iou) +
                     " is not one of params.iouThrs and this evaluator has no detections to "
                     "match again");
  }
  Params q = e.params();
  q.iou_thrs = {iou};
  q.area_rng = {range};
  q.area_rng_lbl = {"all"};
  q.max_dets = {e.params().max_dets.back()};
  m.owned = EvaluateImages(e.ground_truth(), *e.detections(), q, Selection(e), num_threads);
  return m;
}

// Each category's groups: [cat_group[k], cat_group[k + 1]) (groups are
// sorted by category).
std::vector<size_t> CategoryGroups(const EvalState& s) {
  const size_t K = s.cat_ids.size();
  std::vector<size_t> begin(K + 1, 0);
  for (uint32_t k : s.group_cat) ++begin[k + 1];
  for (size_t k = 0; k < K; ++k) begin[k + 1] += begin[k];
  return begin;
}

}  // namespace

// ---------------------------------------------------------------- F1

std::vector<F1Threshold> F1Thresholds(const Evaluator& e, double iou, int num_threads) {
  const Matching m = MatchAt(e, iou, ResolveThreads(num_threads), "f1_thresholds");
  const EvalState& s = m.state();
  const size_t K = s.cat_ids.size();
  const std::vector<size_t> groups = CategoryGroups(s);
  std::vector<F1Threshold> out(K);
  struct Scratch {
    std::vector<double> score;
    std::vector<uint8_t> tp;
    std::vector<uint32_t> order;
  };
  ParallelFor<Scratch>(K, ResolveThreads(num_threads), 1, [&](size_t k, Scratch& sc) {
    F1Threshold& r = out[k];
    r.category_id = s.cat_ids[k];
    sc.score.clear();
    sc.tp.clear();
    for (size_t g = groups[k]; g < groups[k + 1]; ++g) {
      r.num_gt += m.Npig(g);
      for (uint64_t i = s.group_begin[g]; i < s.group_begin[g + 1]; ++i) {
        if (m.Ignored(i)) continue;
        sc.score.push_back(s.score[i]);
        sc.tp.push_back(m.Tp(i));
      }
    }
    if (r.num_gt == 0) return;
    SortByScoreDescending(sc.score.data(), sc.score.size(), &sc.order);
    uint64_t tp = 0, fp = 0;
    double best = -1;
    const size_t n = sc.order.size();
    for (size_t j = 0; j < n; ++j) {
      const uint32_t i = sc.order[j];
      (sc.tp[i] ? tp : fp) += 1;
      // A threshold keeps a whole run of equal scores.
      if (j + 1 < n && OrderedKey(sc.score[sc.order[j + 1]]) == OrderedKey(sc.score[i])) continue;
      if (tp == 0) continue;
      const double f1 = 2.0 * static_cast<double>(tp) / static_cast<double>(tp + fp + r.num_gt);
      if (f1 > best) {  // strictly: equal F1 keeps the higher threshold
        best = f1;
        r.found = true;
        r.f1 = f1;
        r.score = sc.score[i];
        r.tp = tp;
        r.fp = fp;
        r.precision = static_cast<double>(tp) / static_cast<double>(tp + fp);
        r.recall = static_cast<double>(tp) / static_cast<double>(r.num_gt);
      }
    }
  });
  return out;
}

// ---------------------------------------------------------- calibration

Calibration ComputeCalibration(const Evaluator& e, double iou, int64_t n_bins) {
  if (n_bins < 1 || n_bins > 1000000) {
    throw InputError("calibration: n_bins must be in [1, 1000000], got " + std::to_string(n_bins));
  }
  const Matching m = MatchAt(e, iou, 0, "calibration");
  const EvalState& s = m.state();
  const size_t B = static_cast<size_t>(n_bins);
  std::vector<uint64_t> count(B, 0), correct(B, 0);
  std::vector<double> score_sum(B, 0.0);
  Calibration c;
  // One pass in state order: sums in a fixed order, whatever the threads.
  for (uint64_t i = 0; i < s.score.size(); ++i) {
    if (m.Ignored(i)) continue;
    const double x = s.score[i];
    size_t b = 0;
    if (x >= 1) {
      b = B - 1;
    } else if (x > 0) {
      b = std::min(B - 1, static_cast<size_t>(x * static_cast<double>(B)));
    }
    ++count[b];
    correct[b] += m.Tp(i);
    score_sum[b] += x;
    ++c.num_detections;
  }
  c.bins.resize(B);
  for (size_t b = 0; b < B; ++b) {
    CalibrationBin& bin = c.bins[b];
    bin.lo = static_cast<double>(b) / static_cast<double>(B);
    bin.hi = static_cast<double>(b + 1) / static_cast<double>(B);
    bin.count = count[b];
    if (count[b] == 0) continue;
    bin.mean_score = score_sum[b] / static_cast<double>(count[b]);
    bin.accuracy = static_cast<double>(correct[b]) / static_cast<double>(count[b]);
    const double gap = std::fabs(bin.accuracy - bin.mean_score);
    c.ece += static_cast<double>(count[b]) / static_cast<double>(c.num_detections) * gap;
    c.mce = std::max(c.mce, gap);
  }
  return c;
}

// ------------------------------------------------- per-image cross-class

namespace {

struct SortKey {
  uint32_t k, index;
  uint64_t score;  // ~OrderedKey: ascending = best first
};

// One image's kept detections and ground truth, matched class by class as
// COCO does. IoUs are computed per category for the matching, and across
// classes only for the detections that look for another class.
struct ImageMatch {
  std::vector<uint32_t> dt_row, dt_k;  // kept detections, by k, best first
  std::vector<double> dt_score;
  std::vector<int32_t> dt_match;  // index into gt_*, -1 unmatched
  std::vector<uint8_t> dt_ignored;
  std::vector<uint32_t> gt_row, gt_k;  // by k, file order within
  std::vector<uint8_t> gt_ignored, gt_crowd;
  std::vector<uint8_t> claimed;  // per ground truth, for ClaimCrossClass
  std::vector<double> row;       // one detection's IoU with every ground truth
  // Scratch.
  std::vector<SortKey> sort_keys;
  std::vector<uint32_t> per_k;  // detections per category (all zero between uses)
  std::vector<double> box_a, box_b, sub;
  std::vector<uint32_t> mt, mi;
  std::vector<int32_t> matched;
  std::vector<OksGroundTruth> oks_gt;
  std::vector<const double*> oks_dt;
  std::vector<double> oks_scratch;
  std::vector<uint32_t> order;
  MatchScratch match;
};

// Rows of the selected categories bucketed by the image's position in the
// selection, file order within.
struct RowsByImage {
  std::vector<uint32_t> begin, rows;
  void Build(size_t n, const uint32_t* image, const uint32_t* category,
             const std::vector<int32_t>& img_pos, const std::vector<int32_t>& cat_rank,
             size_t num_images) {
    begin.assign(num_images + 1, 0);
    for (size_t i = 0; i < n; ++i) {
      if (img_pos[image[i]] >= 0 && cat_rank[category[i]] >= 0) ++begin[img_pos[image[i]] + 1];
    }
    for (size_t p = 0; p < num_images; ++p) begin[p + 1] += begin[p];
    rows.resize(begin[num_images]);
    std::vector<uint32_t> fill(begin.begin(), begin.end() - 1);
    for (size_t i = 0; i < n; ++i) {
      if (img_pos[image[i]] >= 0 && cat_rank[category[i]] >= 0) {
        rows[fill[img_pos[image[i]]]++] = static_cast<uint32_t>(i);
      }
    }
  }
};

class CrossClassMatcher {
 public:
  CrossClassMatcher(const Evaluator& e, double iou, int num_threads, const char* what)
      : gt_(e.ground_truth()), dt_(*e.detections()), p_(e.params()), iou_(iou), thrs_{iou} {
    if (!p_.use_cats) {
      throw InputError(std::string(what) + ": needs an evaluation with useCats=1");
    }
    std::optional<size_t> all;
    range_ = AllRange(p_, &all);
    const EvalSelection sel = Selection(e);
    images_ = sel.images;
    std::vector<int32_t> img_pos(gt_.image_ids.size(), -1);
    cat_rank_.assign(gt_.category_ids.size(), -1);
    for (size_t i = 0; i < sel.images.size(); ++i) img_pos[sel.images[i]] = static_cast<int32_t>(i);
    for (size_t k = 0; k < sel.categories.size(); ++k) {
      cat_rank_[sel.categories[k]] = static_cast<int32_t>(k);
    }
    cat_count_ = sel.categories.size();
    gt_rows_.Build(gt_.num_annotations(), gt_.ann_image.data(), gt_.ann_category.data(), img_pos,
                   cat_rank_, images_.size());
    dt_rows_.Build(dt_.size(), dt_.image.data(), dt_.category.data(), img_pos, cat_rank_,
                   images_.size());
    if (p_.iou_type == IouType::kSegm) {
      gt_masks_ = &gt_.MaskData(num_threads);
      dt_masks_ = &dt_.MaskData(gt_, num_threads);
    } else if (p_.iou_type == IouType::kKeypoints) {
      gt_keypoints_ = &gt_.KeypointData();
      oks_vars_ = OksVariances(p_.kpt_oks_sigmas);
    } else {
      gt_.RequireBoxes();
    }
  }

  size_t num_images() const { return images_.size(); }
  int64_t image_id(size_t pos) const { return gt_.image_ids[images_[pos]]; }
  int64_t gt_id(uint32_t row) const { return gt_.ann_ids[row]; }
  int64_t category_id(uint32_t k) const { return (*p_.cat_ids)[k]; }

  // COCO's matching of image `pos` at iou_, every category of it. Kept
  // detections scoring below min_score are then dropped: the matches of the
  // others do not depend on them (greedy matching in score order).
  void Match(size_t pos, double min_score, ImageMatch* im) const {
    CollectDetections(pos, min_score, im);
    CollectGroundTruth(pos, im);
    const size_t D = im->dt_row.size(), G = im->gt_row.size();
    im->dt_match.assign(D, -1);
    im->dt_ignored.assign(D, 0);
    if (gt_masks_ == nullptr && gt_keypoints_ == nullptr) {
      im->box_a.resize(4 * D);
      im->box_b.resize(4 * G);
      for (size_t d = 0; d < D; ++d) {
        std::memcpy(&im->box_a[4 * d], &dt_.bbox[4 * im->dt_row[d]], 4 * sizeof(double));
      }
      for (size_t g = 0; g < G; ++g) {
        std::memcpy(&im->box_b[4 * g], &gt_.ann_bbox[4 * im->gt_row[g]], 4 * sizeof(double));
      }
    }
    // Same-class matching, category by category (both lists are by k).
    size_t d0 = 0, g0 = 0;
    while (d0 < D) {
      const uint32_t k = im->dt_k[d0];
      size_t d1 = d0;
      while (d1 < D && im->dt_k[d1] == k) ++d1;
      while (g0 < G && im->gt_k[g0] < k) ++g0;
      size_t g1 = g0;
      while (g1 < G && im->gt_k[g1] == k) ++g1;
      MatchCategory(d0, d1, g0, g1, im);
      d0 = d1;
      g0 = g1;
    }
  }

  // Whether a false positive scoring >= min_score overlaps (IoU >= iou_)
  // non-ignored ground truth of another class that no detection scoring
  // >= min_score matched. Leaves im matched at min_score.
  bool AnyCrossClassOverlap(size_t pos, double min_score, ImageMatch* im) const {
    Match(pos, min_score, im);
    const size_t D = im->dt_row.size(), G = im->gt_row.size();
    im->claimed.assign(G, 0);
    for (size_t d = 0; d < D; ++d) {
      if (im->dt_match[d] >= 0 && !im->dt_ignored[d]) im->claimed[im->dt_match[d]] = 1;
    }
    const double thr = EffectiveThreshold(iou_);
    for (uint32_t d = 0; d < D; ++d) {
      if (im->dt_ignored[d] || im->dt_match[d] >= 0 || !(im->dt_score[d] >= min_score)) continue;
      CrossRow(d, im);
      for (size_t g = 0; g < G; ++g) {
        if (im->gt_k[g] != im->dt_k[d] && !im->gt_ignored[g] && !im->claimed[g] &&
            im->row[g] >= thr) {
          return true;
        }
      }
    }
    return false;
  }

  // The candidates' claims, in score order, on unclaimed non-ignored ground
  // truth of another class (claimed[g] set on entry for those taken). Calls
  // claim(d, g, iou) with g = -1 when nothing is left to claim.
  template <typename Fn>
  void ClaimCrossClass(ImageMatch* im, const std::vector<uint32_t>& candidates, Fn claim) const {
    // Score order across classes; ties keep the candidates' order (the
    // key's k holds the detection).
    im->sort_keys.resize(candidates.size());
    for (size_t i = 0; i < candidates.size(); ++i) {
      im->sort_keys[i] = {candidates[i], static_cast<uint32_t>(i),
                          ~OrderedKey(im->dt_score[candidates[i]])};
    }
    std::sort(im->sort_keys.begin(), im->sort_keys.end(), [](const SortKey& a, const SortKey& b) {
      return a.score != b.score ? a.score < b.score : a.index < b.index;
    });
    im->order.resize(candidates.size());
    for (size_t i = 0; i < candidates.size(); ++i) im->order[i] = im->sort_keys[i].k;
    const size_t G = im->gt_row.size();
    const double thr = EffectiveThreshold(iou_);
    bool any = false;
    for (size_t g = 0; g < G; ++g) any |= !im->gt_ignored[g];
    for (uint32_t d : im->order) {
      int32_t best = -1;
      double best_iou = thr;
      if (any) {
        CrossRow(d, im);
        for (size_t g = 0; g < G; ++g) {
          if (im->gt_k[g] == im->dt_k[d] || im->gt_ignored[g] || im->claimed[g]) continue;
          const double v = im->row[g];
          if (best < 0 ? v >= best_iou : v > best_iou) {  // ties keep the first
            best = static_cast<int32_t>(g);
            best_iou = v;
          }
        }
      }
      if (best >= 0) im->claimed[best] = 1;
      claim(d, best, best >= 0 ? best_iou : 0.0);
    }
  }

 private:
  // evaluateImg's detections: by k, mergesort by -score, maxDets[-1] kept;
  // then those scoring >= min_score.
  void CollectDetections(size_t pos, double min_score, ImageMatch* im) const {
    const uint32_t* rows = dt_rows_.rows.data() + dt_rows_.begin[pos];
    const size_t n = dt_rows_.begin[pos + 1] - dt_rows_.begin[pos];
    const double* score = dt_.score.data();
    // By k, then by descending score, ties in file order: evaluate's stable
    // sort, as one unstable sort on keys that are never equal.
    im->sort_keys.resize(n);
    for (size_t i = 0; i < n; ++i) {
      im->sort_keys[i] = {static_cast<uint32_t>(cat_rank_[dt_.category[rows[i]]]),
                          static_cast<uint32_t>(i), ~OrderedKey(score[rows[i]])};
    }
    const uint64_t max_det = static_cast<uint64_t>(p_.max_dets.back());
    if (min_score == -std::numeric_limits<double>::infinity()) {
      // Every kept detection is wanted.
    } else if (n > max_det) {
      // Without a category over maxDets[-1] nothing is truncated, so the
      // detections below min_score can go before the sort.
      im->per_k.resize(cat_count_);
      bool truncated = false;
      for (const SortKey& key : im->sort_keys) truncated |= ++im->per_k[key.k] > max_det;
      for (const SortKey& key : im->sort_keys) im->per_k[key.k] = 0;
      if (!truncated) DropBelow(min_score, score, rows, im);
    } else {
      DropBelow(min_score, score, rows, im);
    }
    std::sort(im->sort_keys.begin(), im->sort_keys.end(), [](const SortKey& a, const SortKey& b) {
      if (a.k != b.k) return a.k < b.k;
      if (a.score != b.score) return a.score < b.score;
      return a.index < b.index;
    });
    im->dt_row.clear();
    im->dt_k.clear();
    im->dt_score.clear();
    uint64_t run = 0;
    for (size_t j = 0; j < im->sort_keys.size(); ++j) {
      const SortKey& key = im->sort_keys[j];
      run = (j > 0 && im->sort_keys[j - 1].k == key.k) ? run + 1 : 0;
      const uint32_t row = rows[key.index];
      // Past maxDets[-1], or below min_score (best first: the rest of the
      // category scores less).
      if (run >= max_det || score[row] < min_score) continue;
      im->dt_row.push_back(row);
      im->dt_k.push_back(key.k);
      im->dt_score.push_back(score[row]);
    }
  }

  static void DropBelow(double min_score, const double* score, const uint32_t* rows,
                        ImageMatch* im) {
    size_t out = 0;
    for (const SortKey& key : im->sort_keys) {
      if (!(score[rows[key.index]] < min_score)) im->sort_keys[out++] = key;
    }
    im->sort_keys.resize(out);
  }

  // _prepare's ground truth, by k (stable: file order within), with
  // evaluateImg's ignore flags for the area range "all".
  void CollectGroundTruth(size_t pos, ImageMatch* im) const {
    const uint32_t* rows = gt_rows_.rows.data() + gt_rows_.begin[pos];
    const size_t n = gt_rows_.begin[pos + 1] - gt_rows_.begin[pos];
    im->sort_keys.resize(n);
    for (size_t i = 0; i < n; ++i) {
      im->sort_keys[i] = {static_cast<uint32_t>(cat_rank_[gt_.ann_category[rows[i]]]),
                          static_cast<uint32_t>(i), 0};
    }
    std::sort(im->sort_keys.begin(), im->sort_keys.end(), [](const SortKey& a, const SortKey& b) {
      return a.k != b.k ? a.k < b.k : a.index < b.index;  // file order within k
    });
    im->gt_row.resize(n);
    for (size_t i = 0; i < n; ++i) im->gt_row[i] = rows[im->sort_keys[i].index];
    const size_t G = im->gt_row.size();
    im->gt_k.resize(G);
    im->gt_crowd.resize(G);
    im->gt_ignored.resize(G);
    for (size_t g = 0; g < G; ++g) {
      const uint32_t row = im->gt_row[g];
      im->gt_k[g] = static_cast<uint32_t>(cat_rank_[gt_.ann_category[row]]);
      im->gt_crowd[g] = gt_.ann_iscrowd[row] != 0;
      const double area = gt_.ann_area[row];
      const bool no_keypoints = gt_keypoints_ != nullptr && gt_.ann_num_keypoints[row] == 0;
      im->gt_ignored[g] = im->gt_crowd[g] || no_keypoints || area < range_[0] || area > range_[1];
    }
  }

  // IoU (D x NG, evaluate's computeIoU / computeOks) of detections [d0, d1)
  // and ground truth [g0, g1) into im->sub.
  void BlockIous(size_t d0, size_t d1, size_t g0, size_t g1, ImageMatch* im) const {
    const size_t D = d1 - d0, NG = g1 - g0;
    im->sub.resize(D * NG);
    if (gt_masks_ != nullptr) {
      RleIou(*dt_masks_, &im->dt_row[d0], D, *gt_masks_, &im->gt_row[g0], NG, &im->gt_crowd[g0],
             im->sub.data());
    } else if (gt_keypoints_ != nullptr) {
      im->oks_gt.resize(NG);
      for (size_t g = 0; g < NG; ++g) {
        const uint32_t row = im->gt_row[g0 + g];
        if (gt_keypoints_->Count(row) != oks_vars_.size()) {
          throw InputError(gt_.source + ": " + gt_.AnnotationName(row) +
                           ": keypoint count does not match kpt_oks_sigmas");
        }
        im->oks_gt[g] = {gt_keypoints_->Get(row), &gt_.ann_bbox[4 * row], gt_.ann_area[row]};
      }
      im->oks_dt.resize(D);
      for (size_t d = 0; d < D; ++d) {
        const uint32_t row = im->dt_row[d0 + d];
        if (dt_.NumKeypoints(row) != oks_vars_.size()) {
          throw InputError(dt_.source + ": results[" + std::to_string(row) +
                           "]: keypoint count does not match kpt_oks_sigmas");
        }
        im->oks_dt[d] = &dt_.kp_xy[dt_.kp_begin[row]];
      }
      OksMatrix(im->oks_dt.data(), D, im->oks_gt.data(), NG, oks_vars_, im->sub.data(),
                &im->oks_scratch);
    } else {
      BoxIou(&im->box_a[4 * d0], D, &im->box_b[4 * g0], NG, &im->gt_crowd[g0], im->sub.data());
    }
  }

  // Detection d's IoU with every ground truth of the image into im->row:
  // boxes or masks; keypoint skeletons of different classes are not
  // comparable, so keypoints never cross classes (0).
  void CrossRow(uint32_t d, ImageMatch* im) const {
    const size_t G = im->gt_row.size();
    im->row.assign(G, 0.0);
    if (gt_masks_ != nullptr) {
      RleIou(*dt_masks_, &im->dt_row[d], 1, *gt_masks_, im->gt_row.data(), G, im->gt_crowd.data(),
             im->row.data());
    } else if (gt_keypoints_ == nullptr) {
      BoxIou(&im->box_a[4 * d], 1, im->box_b.data(), G, im->gt_crowd.data(), im->row.data());
    }
  }

  // evaluateImg at one threshold for one category: detections [d0, d1),
  // ground truth [g0, g1).
  void MatchCategory(size_t d0, size_t d1, size_t g0, size_t g1, ImageMatch* im) const {
    const size_t D = d1 - d0, NG = g1 - g0;
    if (NG > 0) {
      BlockIous(d0, d1, g0, g1, im);
      im->mt.assign(D, 0);
      im->mi.assign(D, 0);
      im->matched.assign(D, -1);
      MatchGroup(im->sub.data(), D, NG, &im->gt_ignored[g0], &im->gt_crowd[g0], thrs_,
                 im->mt.data(), im->mi.data(), 1, &im->match, im->matched.data());
    }
    for (size_t d = 0; d < D; ++d) {
      const bool matched = NG > 0 && im->matched[d] >= 0;
      if (matched) {
        im->dt_match[d0 + d] = static_cast<int32_t>(g0) + im->matched[d];
        im->dt_ignored[d0 + d] = im->mi[d] != 0;
      } else {
        const double area = dt_.area[im->dt_row[d0 + d]];
        im->dt_ignored[d0 + d] = area < range_[0] || area > range_[1];
      }
    }
  }

  const GroundTruth& gt_;
  const Detections& dt_;
  const Params& p_;
  const double iou_;
  const std::vector<double> thrs_;  // MatchGroup's thresholds: just iou_
  std::array<double, 2> range_;
  std::vector<uint32_t> images_;
  std::vector<int32_t> cat_rank_;
  size_t cat_count_ = 0;  // K
  RowsByImage gt_rows_, dt_rows_;
  const MaskSet* gt_masks_ = nullptr;
  const MaskSet* dt_masks_ = nullptr;
  const GtKeypoints* gt_keypoints_ = nullptr;
  std::vector<double> oks_vars_;
};

bool TruePositive(const ImageMatch& im, size_t d) {
  return im.dt_match[d] >= 0 && !im.dt_ignored[d];
}

}  // namespace

// ------------------------------------------------------------ confusion

ConfusionMatrix Confusion(const Evaluator& e, double iou, double score_thr, int num_threads) {
  CheckIou("confusion", iou);
  CheckScoreThr("confusion", score_thr);
  e.state();  // throws unless evaluated
  if (e.detections() == nullptr) {
    throw InputError("confusion: this evaluator has no detections (an accumulate-only one)");
  }
  num_threads = ResolveThreads(num_threads);
  const CrossClassMatcher matcher(e, iou, num_threads, "confusion");
  ConfusionMatrix out;
  out.category_ids = *e.params().cat_ids;
  const size_t K = out.category_ids.size(), N = K + 1;
  // Each image's cells, summed afterwards: integer counts, any order.
  std::vector<std::vector<uint32_t>> cells(matcher.num_images());
  ParallelFor<ImageMatch>(matcher.num_images(), num_threads, 16, [&](size_t pos, ImageMatch& im) {
    matcher.Match(pos, score_thr, &im);
    std::vector<uint32_t>& c = cells[pos];
    const size_t D = im.dt_row.size(), G = im.gt_row.size();
    im.claimed.assign(G, 0);
    std::vector<uint32_t> rest;
    for (size_t d = 0; d < D; ++d) {
      if (!(im.dt_score[d] >= score_thr) || im.dt_ignored[d]) continue;
      if (im.dt_match[d] >= 0) {
        im.claimed[im.dt_match[d]] = 1;
        c.push_back(im.dt_k[d] * N + im.dt_k[d]);
      } else {
        rest.push_back(static_cast<uint32_t>(d));
      }
    }
    matcher.ClaimCrossClass(&im, rest, [&](uint32_t d, int32_t g, double) {
      const uint32_t row = g >= 0 ? im.gt_k[g] : static_cast<uint32_t>(K);
      c.push_back(row * N + im.dt_k[d]);
    });
    for (size_t g = 0; g < G; ++g) {
      if (!im.gt_ignored[g] && !im.claimed[g]) c.push_back(im.gt_k[g] * N + K);
    }
  });
  out.matrix.assign(N * N, 0);
  for (const std::vector<uint32_t>& c : cells) {
    for (uint32_t cell : c) ++out.matrix[cell];
  }
  return out;
}

// ------------------------------------------------------------ per image

ImageDiagnostics DiagnoseImages(const Evaluator& e, double iou, double score_thr, int64_t top_n,
                                int num_threads) {
  CheckScoreThr("image_diagnostics", score_thr);
  if (top_n < 0) {
    throw InputError("image_diagnostics: top_n must be >= 0, got " + std::to_string(top_n));
  }
  num_threads = ResolveThreads(num_threads);
  const Matching m = MatchAt(e, iou, num_threads, "image_diagnostics");
  const EvalState& s = m.state();
  const std::vector<int64_t>& ids = *e.params().img_ids;  // sorted
  ImageDiagnostics out;
  out.images.resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) out.images[i].image_id = ids[i];
  // Integer counts: the group order does not matter.
  for (size_t g = 0; g < s.num_groups(); ++g) {
    const auto it = std::lower_bound(ids.begin(), ids.end(), s.group_image[g]);
    if (it == ids.end() || *it != s.group_image[g]) continue;  // not an evaluated image
    ImageCounts& c = out.images[it - ids.begin()];
    uint64_t tp = 0;
    for (uint64_t i = s.group_begin[g]; i < s.group_begin[g + 1]; ++i) {
      if (!(s.score[i] >= score_thr) || m.Ignored(i)) continue;
      if (m.Tp(i)) {
        ++tp;
      } else {
        ++c.fp;
      }
    }
    c.tp += tp;
    c.fn += m.Npig(g) - std::min<uint64_t>(tp, m.Npig(g));
  }
  std::vector<size_t> bad;
  for (size_t i = 0; i < out.images.size(); ++i) {
    ImageCounts& c = out.images[i];
    const uint64_t denom = 2 * c.tp + c.fp + c.fn;
    c.f1 = denom == 0 ? 1.0 : 2.0 * static_cast<double>(c.tp) / static_cast<double>(denom);
    if (c.fp + c.fn > 0) bad.push_back(i);  // a perfect image is never among the worst
  }
  std::stable_sort(bad.begin(), bad.end(), [&](size_t a, size_t b) {
    const ImageCounts &x = out.images[a], &y = out.images[b];
    if (x.f1 != y.f1) return x.f1 < y.f1;
    return x.fp + x.fn > y.fp + y.fn;  // then image id: the stable order
  });
  bad.resize(std::min<size_t>(bad.size(), static_cast<size_t>(top_n)));
  out.worst = std::move(bad);

  if (!e.params().use_cats || e.detections() == nullptr) return out;
  const CrossClassMatcher matcher(e, iou, num_threads, "image_diagnostics");
  std::vector<std::vector<LabelError>> found(matcher.num_images());
  ParallelFor<ImageMatch>(matcher.num_images(), num_threads, 16, [&](size_t pos, ImageMatch& im) {
    // First the detections >= score_thr alone (the candidates and their
    // matches are the same either way): most images have no candidate over
    // ground truth of another class that they leave unfound.
    if (!matcher.AnyCrossClassOverlap(pos, score_thr, &im)) return;
    // Every kept detection: ground truth found at any score is no label error.
    matcher.Match(pos, -std::numeric_limits<double>::infinity(), &im);
    const size_t D = im.dt_row.size(), G = im.gt_row.size();
    // Ground truth its own class found (at any score) is not a label error.
    im.claimed.assign(G, 0);
    std::vector<uint32_t> fps;
    for (size_t d = 0; d < D; ++d) {
      if (TruePositive(im, d)) im.claimed[im.dt_match[d]] = 1;
      if (im.dt_score[d] >= score_thr && !im.dt_ignored[d] && im.dt_match[d] < 0) {
        fps.push_back(static_cast<uint32_t>(d));
      }
    }
    matcher.ClaimCrossClass(&im, fps, [&](uint32_t d, int32_t g, double iou_dg) {
      if (g < 0) return;
      LabelError le;
      le.image_id = matcher.image_id(pos);
      le.gt_id = matcher.gt_id(im.gt_row[g]);
      le.gt_category_id = matcher.category_id(im.gt_k[g]);
      le.dt_category_id = matcher.category_id(im.dt_k[d]);
      le.score = im.dt_score[d];
      le.iou = iou_dg;
      found[pos].push_back(le);
    });
  });
  for (std::vector<LabelError>& f : found) {
    out.label_errors.insert(out.label_errors.end(), f.begin(), f.end());
  }
  std::stable_sort(out.label_errors.begin(), out.label_errors.end(),
                   [](const LabelError& a, const LabelError& b) {
                     if (OrderedKey(a.score) != OrderedKey(b.score)) {
                       return OrderedKey(a.score) > OrderedKey(b.score);
                     }
                     if (a.image_id != b.image_id) return a.image_id < b.image_id;
                     return a.gt_id < b.gt_id;
                   });
  return out;
}

}  // namespace cocoeval
