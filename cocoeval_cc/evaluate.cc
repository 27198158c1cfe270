#include "cocoeval_cc/evaluate.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "cocoeval_cc/errors.h"
#include "cocoeval_cc/mask.h"
#include "cocoeval_cc/oks.h"
#include "cocoeval_cc/parallel_for.h"

namespace cocoeval {
namespace {

// Stable counting sort of `idx` by key(idx) in [0, buckets).
template <typename KeyFn>
void CountingSort(std::vector<uint32_t>* idx, size_t buckets, KeyFn key) {
  std::vector<uint32_t> count(buckets + 1, 0);
  for (uint32_t i : *idx) ++count[key(i) + 1];
  for (size_t b = 1; b <= buckets; ++b) count[b] += count[b - 1];
  std::vector<uint32_t> out(idx->size());
  for (uint32_t i : *idx) out[count[key(i)]++] = i;
  idx->swap(out);
}

// The selection by dense ground-truth index: each image's position in
// sel.images and each category's rank in sel.categories, -1 when not
// selected.
struct SelectionIndex {
  SelectionIndex(const GroundTruth& gt, const EvalSelection& sel, bool use_cats)
      : img_pos(gt.image_ids.size(), -1),
        cat_rank(gt.category_ids.size(), -1),
        num_img(sel.images.size()),
        num_cat(sel.categories.size()),
        use_cats(use_cats) {
    for (size_t i = 0; i < num_img; ++i) img_pos[sel.images[i]] = static_cast<int32_t>(i);
    for (size_t k = 0; k < num_cat; ++k) cat_rank[sel.categories[k]] = static_cast<int32_t>(k);
  }
  bool Selected(uint32_t image, uint32_t category) const {
    return img_pos[image] >= 0 && cat_rank[category] >= 0;
  }
  // (image position, k): the group of a row, ordered as evaluation walks
  // them; without use_cats every category pools into k = 0.
  uint64_t GroupKey(uint32_t image, uint32_t category) const {
    const uint32_t k = use_cats ? static_cast<uint32_t>(cat_rank[category]) : 0u;
    return (static_cast<uint64_t>(img_pos[image]) << 32) | k;
  }

  std::vector<int32_t> img_pos;
  std::vector<int32_t> cat_rank;
  size_t num_img, num_cat;
  bool use_cats;
};

// One evaluateImg(imgId, catId) call: the rows of one image x category k.
struct Group {
  uint32_t img;  // position in the selection
  uint32_t k;
  uint32_t gt_begin, gt_end;  // into the sorted GT rows
  uint32_t dt_begin, dt_end;  // into the sorted detection rows
};

// pycocotools COCOeval.evaluate: the parameters its results depend on
// (catIds = [-1] without useCats; maxDets[-1] detections kept per group).
EvalState NewState(const GroundTruth& gt, const Params& p, const EvalSelection& sel) {
  EvalState s;
  s.iou_type = p.iou_type;
  s.use_cats = p.use_cats;
  s.iou_thrs = p.iou_thrs;
  s.area_rng = p.area_rng;
  s.max_det = p.max_dets.back();
  if (p.iou_type == IouType::kKeypoints) s.kpt_oks_sigmas = p.kpt_oks_sigmas;
  if (p.use_cats) {
    for (uint32_t c : sel.categories) s.cat_ids.push_back(gt.category_ids[c]);
  } else {
    s.cat_ids = {-1};
    for (uint32_t c : sel.categories) s.pooled_cat_ids.push_back(gt.category_ids[c]);
  }
  return s;
}

// pycocotools COCOeval._prepare: gts / dts of the selected images and
// categories, keyed by (imgId, catId). Here: row indices sorted by (image
// position, category rank), file order within.
std::vector<uint32_t> GroupOrder(size_t n, const uint32_t* image, const uint32_t* category,
                                 const SelectionIndex& sel) {
  std::vector<uint32_t> idx;
  idx.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (sel.Selected(image[i], category[i])) idx.push_back(static_cast<uint32_t>(i));
  }
  if (sel.num_cat > 1) {
    CountingSort(&idx, sel.num_cat, [&](uint32_t i) { return sel.cat_rank[category[i]]; });
  }
  CountingSort(&idx, sel.num_img, [&](uint32_t i) { return sel.img_pos[image[i]]; });
  return idx;
}

// pycocotools COCOeval.evaluate: one evaluateImg per image x category;
// only those with any ground truth or detection give a result. Groups come
// out in (image, k) order, merged from the two sorted row lists.
std::vector<Group> MakeGroups(const GroundTruth& gt, const Detections& dt,
                              const std::vector<uint32_t>& gt_rows,
                              const std::vector<uint32_t>& dt_rows, const SelectionIndex& sel) {
  auto gt_key = [&](size_t a) {
    return sel.GroupKey(gt.ann_image[gt_rows[a]], gt.ann_category[gt_rows[a]]);
  };
  auto dt_key = [&](size_t b) {
    return sel.GroupKey(dt.image[dt_rows[b]], dt.category[dt_rows[b]]);
  };
  std::vector<Group> groups;
  size_t a = 0, b = 0;
  while (a < gt_rows.size() || b < dt_rows.size()) {
    const uint64_t key = std::min(a < gt_rows.size() ? gt_key(a) : UINT64_MAX,
                                  b < dt_rows.size() ? dt_key(b) : UINT64_MAX);
    Group g;
    g.img = static_cast<uint32_t>(key >> 32);
    g.k = static_cast<uint32_t>(key & 0xFFFFFFFFu);
    g.gt_begin = static_cast<uint32_t>(a);
    while (a < gt_rows.size() && gt_key(a) == key) ++a;
    g.gt_end = static_cast<uint32_t>(a);
    g.dt_begin = static_cast<uint32_t>(b);
    while (b < dt_rows.size() && dt_key(b) == key) ++b;
    g.dt_end = static_cast<uint32_t>(b);
    groups.push_back(g);
  }
  return groups;
}

// pycocotools COCOeval.accumulate reads evalImgs category first, then
// image, and keeps dtScores[:maxDet] of each: the state stores groups in
// that (k, image) order with at most maxDets[-1] entries each. Sizes the
// state (its bits zeroed) and returns each group's position in it.
std::vector<uint32_t> LayOutState(const std::vector<Group>& groups, const GroundTruth& gt,
                                  const EvalSelection& sel, EvalState* s) {
  const size_t G = groups.size();
  std::vector<uint32_t> order(G);
  for (size_t i = 0; i < G; ++i) order[i] = static_cast<uint32_t>(i);
  const size_t K = s->use_cats ? sel.categories.size() : 1;
  CountingSort(&order, K, [&](uint32_t i) { return groups[i].k; });
  std::vector<uint32_t> state_pos(G);
  for (size_t o = 0; o < G; ++o) state_pos[order[o]] = static_cast<uint32_t>(o);

  s->group_cat.resize(G);
  s->group_image.resize(G);
  s->group_begin.assign(G + 1, 0);
  const uint64_t max_det = static_cast<uint64_t>(s->max_det);
  for (size_t o = 0; o < G; ++o) {
    const Group& g = groups[order[o]];
    s->group_cat[o] = g.k;
    s->group_image[o] = gt.image_ids[sel.images[g.img]];
    s->group_begin[o + 1] = s->group_begin[o] + std::min<uint64_t>(g.dt_end - g.dt_begin, max_det);
  }
  const size_t A = s->num_areas(), W = s->words(), E = s->group_begin[G];
  s->npig.assign(G * A, 0);
  s->score.resize(E);
  s->tp_bits.assign(E * A * W, 0);
  s->ig_bits.assign(E * A * W, 0);
  return state_pos;
}

// What computeOks reads, for every selected row: ground truth with
// 'num_keypoints', K keypoints and a bbox; detections with K keypoints.
// Checked before evaluation so that the first bad record (in evaluation
// order) is named, whatever the thread count.
void CheckKeypointInputs(const GroundTruth& gt, const Detections& dt,
                         const std::vector<uint32_t>& gt_rows, const std::vector<uint32_t>& dt_rows,
                         size_t k) {
  const GtKeypoints& kp = gt.KeypointData();
  const std::string expected = " (kpt_oks_sigmas has " + std::to_string(k) + ")";
  for (uint32_t row : gt_rows) {
    auto fail = [&](const std::string& problem) {
      throw InputError(gt.source + ": " + gt.AnnotationName(row) + ": " + problem);
    };
    if (std::isnan(gt.ann_num_keypoints[row])) {
      fail("missing 'num_keypoints' (needed for keypoint evaluation)");
    }
    if (kp.Count(row) != k) {
      fail(kp.Count(row) == 0 ? "missing 'keypoints' (needed for keypoint evaluation)"
                              : "has " + std::to_string(kp.Count(row)) + " keypoints" + expected);
    }
    if (std::isnan(gt.ann_bbox[4 * row])) fail("missing 'bbox' (needed for keypoint evaluation)");
  }
  for (uint32_t row : dt_rows) {
    const size_t n = dt.NumKeypoints(row);
    if (n == k) continue;
    throw InputError(dt.source + ": results[" + std::to_string(row) + "] (image_id " +
                     std::to_string(gt.image_ids[dt.image[row]]) + "): " +
                     (n == 0 ? std::string("missing 'keypoints' (needed for keypoint evaluation)")
                             : "has " + std::to_string(n) + " keypoints" + expected));
  }
}

// The selection's ground truth and detections, each in (image, category)
// order and cut into groups, and where each group's results go in the state:
// what EvaluateImages and EvaluateGroupDetails both match on.
struct GroupedSelection {
  std::vector<uint32_t> gt_rows;
  std::vector<uint32_t> dt_rows;
  std::vector<Group> groups;
  std::vector<uint32_t> state_pos;
};

GroupedSelection GroupSelection(const GroundTruth& gt, const Detections& dt, const Params& p,
                                const EvalSelection& sel, EvalState* s) {
  const SelectionIndex index(gt, sel, p.use_cats);
  GroupedSelection g;
  g.gt_rows = GroupOrder(gt.num_annotations(), gt.ann_image.data(), gt.ann_category.data(), index);
  g.dt_rows = GroupOrder(dt.size(), dt.image.data(), dt.category.data(), index);
  if (p.iou_type == IouType::kKeypoints) {
    CheckKeypointInputs(gt, dt, g.gt_rows, g.dt_rows, p.kpt_oks_sigmas.size());
  }
  g.groups = MakeGroups(gt, dt, g.gt_rows, g.dt_rows, index);
  g.state_pos = LayOutState(g.groups, gt, sel, s);
  return g;
}

// Per-thread buffers, reused from group to group.
struct GroupScratch {
  std::vector<uint32_t> dt;  // detection rows, best first
  std::vector<double> dt_box, gt_box, ious;
  std::vector<uint8_t> crowd, gt_ignore;
  std::vector<uint8_t> base_ignore;  // evaluate's gt['ignore'], before area ranges
  std::vector<OksGroundTruth> oks_gt;
  std::vector<const double*> dt_keypoints;
  std::vector<double> oks_scratch;
  std::vector<uint32_t> mt, mi;  // matched / matched-to-ignored words
  MatchScratch match;
};

// evaluateImg for every group, each writing only its own slots of the
// state, so groups can run on any thread in any order.
class GroupEvaluator {
 public:
  GroupEvaluator(const GroundTruth& gt, const Detections& dt, const std::vector<uint32_t>& gt_rows,
                 const std::vector<uint32_t>& dt_rows, const std::vector<Group>& groups,
                 const std::vector<uint32_t>& state_pos, int num_threads, EvalState* s)
      : gt_(gt),
        dt_(dt),
        gt_rows_(gt_rows),
        dt_rows_(dt_rows),
        groups_(groups),
        state_pos_(state_pos),
        s_(*s),
        A_(s->num_areas()),
        W_(s->words()),
        full_(W_) {
    // pycocotools COCOeval._prepare: annToRLE of every segmentation (segm).
    if (s_.iou_type == IouType::kSegm) {
      gt_masks_ = &gt.MaskData(num_threads);
      dt_masks_ = &dt.MaskData(gt, num_threads);
    } else if (s_.iou_type == IouType::kKeypoints) {
      gt_keypoints_ = &gt.KeypointData();
      oks_vars_ = OksVariances(s_.kpt_oks_sigmas);
      // computeOks reads _gts[imgId, catId], empty for the pooled catId -1:
      // without useCats pycocotools matches no keypoint detection at all.
      can_match_ = s_.use_cats;
    } else {
      gt.RequireBoxes();
    }
    const size_t T = s_.iou_thrs.size();
    for (size_t w = 0; w < W_; ++w) {
      full_[w] = (w + 1) * 32 <= T ? 0xFFFFFFFFu : ((1u << (T % 32)) - 1u);
    }
  }

  // groups[i], in (image, k) order.
  void Evaluate(size_t i, GroupScratch* sc) {
    const Group& g = groups_[i];
    const size_t gi = state_pos_[i];
    const uint64_t e0 = s_.group_begin[gi];
    const size_t D = s_.group_begin[gi + 1] - e0;
    const size_t NG = g.gt_end - g.gt_begin;
    const uint32_t* gt_rows = &gt_rows_[g.gt_begin];
    SortDetections(g, D, e0, sc);
    if (NG == 0) {  // the common case of a detected category absent from the image
      for (size_t a = 0; a < A_; ++a) StoreUnmatchedBits(D, e0, a, *sc);
      return;  // npig stays 0
    }
    ComputeIous(gt_rows, NG, sc);
    // Matching depends on the area range only through the ground truth's
    // ignore flags: area ranges with the same flags share one matching.
    sc->gt_ignore.resize(A_ * NG);
    sc->mt.assign(A_ * D * W_, 0);
    sc->mi.assign(A_ * D * W_, 0);
    for (size_t a = 0; a < A_; ++a) {
      uint8_t* ignore = &sc->gt_ignore[a * NG];
      s_.npig[gi * A_ + a] = IgnoreGroundTruth(gt_rows, NG, a, sc->base_ignore.data(), ignore);
      if (D == 0) continue;
      size_t same = a;
      for (size_t b = 0; b < a; ++b) {
        if (std::memcmp(&sc->gt_ignore[b * NG], ignore, NG) == 0) {
          same = b;
          break;
        }
      }
      if (same == a && can_match_) {
        // pycocotools COCOeval.evaluateImg: the greedy matching loop.
        MatchGroup(sc->ious.data(), D, NG, ignore, sc->crowd.data(), s_.iou_thrs,
                   &sc->mt[a * D * W_], &sc->mi[a * D * W_], W_, &sc->match);
      }
      StoreEntryBits(&sc->mt[same * D * W_], &sc->mi[same * D * W_], D, e0, a, *sc);
    }
  }

  // Evaluate, then the same group kept in full: rows, IoUs, ignore flags
  // and each area range's matches (MatchGroup recording the gt matched).
  void Detail(size_t i, GroupScratch* sc, GroupDetail* out) {
    Evaluate(i, sc);
    const Group& g = groups_[i];
    const size_t D = sc->dt.size(), NG = g.gt_end - g.gt_begin, T = s_.iou_thrs.size();
    out->dt_rows = sc->dt;
    out->gt_rows.assign(gt_rows_.begin() + g.gt_begin, gt_rows_.begin() + g.gt_end);
    out->dt_match.assign(A_ * T * D, -1);
    if (NG == 0) return;
    out->gt_ignore = sc->gt_ignore;
    if (D == 0 || !can_match_) return;
    out->ious = sc->ious;
    std::vector<uint32_t> mt(D * W_), mi(D * W_);
    for (size_t a = 0; a < A_; ++a) {
      std::fill(mt.begin(), mt.end(), 0);
      std::fill(mi.begin(), mi.end(), 0);
      MatchGroup(sc->ious.data(), D, NG, &sc->gt_ignore[a * NG], sc->crowd.data(), s_.iou_thrs,
                 mt.data(), mi.data(), W_, &sc->match, &out->dt_match[a * T * D]);
    }
  }

 private:
  // pycocotools COCOeval.evaluateImg: dt sorted by -score with mergesort
  // (ties keep file order), keep maxDets[-1]. Stores the kept scores.
  void SortDetections(const Group& g, size_t D, uint64_t e0, GroupScratch* sc) {
    sc->dt.assign(dt_rows_.begin() + g.dt_begin, dt_rows_.begin() + g.dt_end);
    const double* score = dt_.score.data();
    auto better = [score](uint32_t a, uint32_t b) { return score[a] > score[b]; };
    if (sc->dt.size() <= 16) {  // insertion sort: stable, and faster for COCO's small groups
      for (size_t i = 1; i < sc->dt.size(); ++i) {
        const uint32_t v = sc->dt[i];
        size_t j = i;
        while (j > 0 && better(v, sc->dt[j - 1])) {
          sc->dt[j] = sc->dt[j - 1];
          --j;
        }
        sc->dt[j] = v;
      }
    } else {
      std::stable_sort(sc->dt.begin(), sc->dt.end(), better);
    }
    sc->dt.resize(D);
    for (size_t d = 0; d < D; ++d) s_.score[e0 + d] = score[sc->dt[d]];
  }

  // pycocotools COCOeval.computeIoU: maskUtils.iou(dt, gt, iscrowd), D x NG,
  // on boxes (bbox) or masks (segm); computeOks for keypoints. Also fills
  // each ground truth's crowd and ignore flags (COCOeval._prepare).
  void ComputeIous(const uint32_t* gt_rows, size_t NG, GroupScratch* sc) const {
    const size_t D = sc->dt.size();
    sc->crowd.resize(NG);
    sc->base_ignore.resize(NG);
    for (size_t j = 0; j < NG; ++j) {
      sc->crowd[j] = gt_.ann_iscrowd[gt_rows[j]];
      // _prepare: ignore = iscrowd, or for keypoints num_keypoints == 0.
      sc->base_ignore[j] =
          sc->crowd[j] || (gt_keypoints_ != nullptr && gt_.ann_num_keypoints[gt_rows[j]] == 0);
    }
    sc->ious.resize(D * NG);
    if (D == 0 || !can_match_) return;
    if (gt_keypoints_ != nullptr) {
      ComputeOks(gt_rows, NG, sc);
      return;
    }
    if (gt_masks_ != nullptr) {
      // Masks by index (no copies), boxes and areas precomputed.
      RleIou(*dt_masks_, sc->dt.data(), D, *gt_masks_, gt_rows, NG, sc->crowd.data(),
             sc->ious.data());
      return;
    }
    sc->dt_box.resize(4 * D);
    sc->gt_box.resize(4 * NG);
    for (size_t d = 0; d < D; ++d) {
      std::memcpy(&sc->dt_box[4 * d], &dt_.bbox[4 * sc->dt[d]], 4 * sizeof(double));
    }
    for (size_t j = 0; j < NG; ++j) {
      std::memcpy(&sc->gt_box[4 * j], &gt_.ann_bbox[4 * gt_rows[j]], 4 * sizeof(double));
    }
    BoxIou(sc->dt_box.data(), D, sc->gt_box.data(), NG, sc->crowd.data(), sc->ious.data());
  }

  // pycocotools COCOeval.computeOks: D x NG, detections best first.
  void ComputeOks(const uint32_t* gt_rows, size_t NG, GroupScratch* sc) const {
    const size_t D = sc->dt.size();
    sc->oks_gt.resize(NG);
    for (size_t j = 0; j < NG; ++j) {
      const uint32_t row = gt_rows[j];
      sc->oks_gt[j] = {gt_keypoints_->Get(row), &gt_.ann_bbox[4 * row], gt_.ann_area[row]};
    }
    sc->dt_keypoints.resize(D);
    for (size_t d = 0; d < D; ++d) sc->dt_keypoints[d] = &dt_.kp_xy[dt_.kp_begin[sc->dt[d]]];
    OksMatrix(sc->dt_keypoints.data(), D, sc->oks_gt.data(), NG, oks_vars_, sc->ious.data(),
              &sc->oks_scratch);
  }

  // pycocotools COCOeval.evaluateImg: g['_ignore'] = g['ignore'] or area
  // outside aRng. Returns the non-ignored count (accumulate's npig).
  uint32_t IgnoreGroundTruth(const uint32_t* gt_rows, size_t NG, size_t a,
                             const uint8_t* base_ignore, uint8_t* ignore) const {
    const double lo = s_.area_rng[a][0], hi = s_.area_rng[a][1];
    uint32_t npig = 0;
    for (size_t j = 0; j < NG; ++j) {
      const double area = gt_.ann_area[gt_rows[j]];
      ignore[j] = base_ignore[j] || area < lo || area > hi;
      npig += !ignore[j];
    }
    return npig;
  }

  // pycocotools COCOeval.evaluateImg: dtIg = matched to ignored ground
  // truth, or unmatched with area outside aRng; accumulate's tps are the
  // matched detections that are not ignored.
  void StoreEntryBits(const uint32_t* mt, const uint32_t* mi, size_t D, uint64_t e0, size_t a,
                      const GroupScratch& sc) {
    const double lo = s_.area_rng[a][0], hi = s_.area_rng[a][1];
    uint32_t* tp = &s_.tp_bits[(e0 * A_ + a) * W_];
    uint32_t* ig = &s_.ig_bits[(e0 * A_ + a) * W_];
    for (size_t d = 0; d < D; ++d) {
      const double area = dt_.area[sc.dt[d]];
      const bool out = area < lo || area > hi;
      for (size_t w = 0; w < W_; ++w) {
        const uint32_t m = mt[d * W_ + w], i = mi[d * W_ + w];
        tp[d * A_ * W_ + w] = m & ~i;
        ig[d * A_ * W_ + w] = i | (out ? (~m & full_[w]) : 0u);
      }
    }
  }

  // pycocotools COCOeval.evaluateImg without ground truth: no detection
  // matches, so one is ignored exactly when its area is outside aRng. The
  // state starts zeroed: only the ignored bits need setting.
  void StoreUnmatchedBits(size_t D, uint64_t e0, size_t a, const GroupScratch& sc) {
    const double lo = s_.area_rng[a][0], hi = s_.area_rng[a][1];
    uint32_t* ig = &s_.ig_bits[(e0 * A_ + a) * W_];
    for (size_t d = 0; d < D; ++d) {
      const double area = dt_.area[sc.dt[d]];
      if (!(area < lo || area > hi)) continue;
      for (size_t w = 0; w < W_; ++w) ig[d * A_ * W_ + w] = full_[w];
    }
  }

  const GroundTruth& gt_;
  const Detections& dt_;
  const std::vector<uint32_t>& gt_rows_;
  const std::vector<uint32_t>& dt_rows_;
  const std::vector<Group>& groups_;
  const std::vector<uint32_t>& state_pos_;
  EvalState& s_;
  const size_t A_, W_;
  std::vector<uint32_t> full_;         // every IoU threshold's bit set, per word
  const MaskSet* gt_masks_ = nullptr;  // segm only
  const MaskSet* dt_masks_ = nullptr;
  const GtKeypoints* gt_keypoints_ = nullptr;  // keypoints only
  std::vector<double> oks_vars_;
  bool can_match_ = true;
};

}  // namespace

// pycocotools COCOeval.evaluateImg: gt sorted by _ignore, then the greedy
// loop over iouThrs x detections x ground truth.
void MatchGroup(const double* ious, size_t num_dt, size_t num_gt, const uint8_t* gt_ignore,
                const uint8_t* gt_crowd, const std::vector<double>& iou_thrs,
                uint32_t* matched_words, uint32_t* matched_ignored_words, size_t stride,
                MatchScratch* sc, int32_t* matched_gt) {
  // Ground truth stable-sorted with non-ignored first.
  sc->order.resize(num_gt);
  size_t pos = 0;
  for (size_t g = 0; g < num_gt; ++g)
    if (!gt_ignore[g]) sc->order[pos++] = static_cast<uint32_t>(g);
  for (size_t g = 0; g < num_gt; ++g)
    if (gt_ignore[g]) sc->order[pos++] = static_cast<uint32_t>(g);
  sc->ign.resize(num_gt);
  sc->crowd.resize(num_gt);
  for (size_t j = 0; j < num_gt; ++j) {
    sc->ign[j] = gt_ignore[sc->order[j]] != 0;
    sc->crowd[j] = gt_crowd[sc->order[j]] != 0;
  }
  // Only pairs whose IoU reaches the lowest starting threshold can ever
  // match; skipping the others changes nothing (they neither match nor
  // stop the scan), so each detection keeps a short candidate list and
  // detections without any are left out of the threshold loop.
  double min_start = 1 - 1e-10;
  for (double t : iou_thrs) min_start = std::min(min_start, std::min(t, 1 - 1e-10));
  sc->active.resize(num_dt);
  sc->cand_begin.resize(num_dt + 1);
  sc->cand.resize(num_dt * num_gt);
  sc->cand_iou.resize(num_dt * num_gt);
  size_t num_active = 0, num_cand = 0;
  for (size_t d = 0; d < num_dt; ++d) {
    const size_t first = num_cand;
    const double* row = ious + d * num_gt;
    for (size_t j = 0; j < num_gt; ++j) {
      const double v = row[sc->order[j]];
      if (!(v < min_start)) {  // NaN stays a candidate, as in pycocotools
        sc->cand[num_cand] = static_cast<uint32_t>(j);
        sc->cand_iou[num_cand] = v;
        ++num_cand;
      }
    }
    if (num_cand > first) {
      sc->active[num_active] = static_cast<uint32_t>(d);
      sc->cand_begin[num_active] = static_cast<uint32_t>(first);
      ++num_active;
    }
  }
  if (num_active == 0) return;
  sc->cand_begin[num_active] = static_cast<uint32_t>(num_cand);
  sc->matched.resize(num_gt);
  const uint8_t* ign = sc->ign.data();
  const uint8_t* crowd = sc->crowd.data();
  uint8_t* matched = sc->matched.data();
  for (size_t t = 0; t < iou_thrs.size(); ++t) {
    const double start = std::min(iou_thrs[t], 1 - 1e-10);
    const uint32_t bit = 1u << (t % 32);
    const size_t word = t / 32;
    std::fill(sc->matched.begin(), sc->matched.end(), 0);
    for (size_t i = 0; i < num_active; ++i) {
      const size_t d = sc->active[i];
      double best = start;
      ptrdiff_t m = -1;
      for (uint32_t c = sc->cand_begin[i]; c < sc->cand_begin[i + 1]; ++c) {
        const uint32_t j = sc->cand[c];
        if (matched[j] && !crowd[j]) continue;
        // A match to regular ground truth beats any ignored one.
        if (m > -1 && !ign[m] && ign[j]) break;
        const double v = sc->cand_iou[c];
        if (v < best) continue;  // an equal IoU replaces the match
        best = v;
        m = static_cast<ptrdiff_t>(j);
      }
      if (m == -1) continue;
      matched[m] = 1;
      if (matched_gt != nullptr) matched_gt[t * num_dt + d] = static_cast<int32_t>(sc->order[m]);
      matched_words[d * stride + word] |= bit;
      if (ign[m]) matched_ignored_words[d * stride + word] |= bit;
    }
  }
}

EvalState EvaluateImages(const GroundTruth& gt, const Detections& dt, const Params& p,
                         const EvalSelection& sel, int num_threads) {
  EvalState s = NewState(gt, p, sel);
  const GroupedSelection g = GroupSelection(gt, dt, p, sel, &s);
  const std::vector<Group>& groups = g.groups;
  GroupEvaluator evaluator(gt, dt, g.gt_rows, g.dt_rows, groups, g.state_pos, num_threads, &s);
  // Groups run in (image, k) order, which keeps each thread's reads of
  // detections and ground truth local.
  ParallelFor<GroupScratch>(groups.size(), num_threads, /*block_size=*/64,
                            [&](size_t i, GroupScratch& sc) { evaluator.Evaluate(i, &sc); });
  return s;
}

std::vector<GroupDetail> EvaluateGroupDetails(const GroundTruth& gt, const Detections& dt,
                                              const Params& p, const EvalSelection& sel,
                                              std::vector<int64_t>* image_ids,
                                              std::vector<int64_t>* cat_ids) {
  EvalState s = NewState(gt, p, sel);
  const GroupedSelection g = GroupSelection(gt, dt, p, sel, &s);
  const std::vector<Group>& groups = g.groups;
  GroupEvaluator evaluator(gt, dt, g.gt_rows, g.dt_rows, groups, g.state_pos, /*num_threads=*/1,
                           &s);
  std::vector<GroupDetail> details(groups.size());
  image_ids->resize(groups.size());
  cat_ids->resize(groups.size());
  GroupScratch scratch;
  for (size_t i = 0; i < groups.size(); ++i) {
    evaluator.Detail(i, &scratch, &details[i]);
    (*image_ids)[i] = gt.image_ids[sel.images[groups[i].img]];
    (*cat_ids)[i] = p.use_cats ? gt.category_ids[sel.categories[groups[i].k]] : -1;
  }
  return details;
}

// ------------------------------------------------------------ serialization

namespace {

// Version 02 added pooled_cat_ids; 03 keypoints (iou_type 2, kpt_oks_sigmas).
constexpr char kMagic[8] = {'C', 'C', 'E', 'V', 'S', 'T', '0', '3'};

template <typename T>
void Put(std::string* out, const T& v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

template <typename T>
void PutVec(std::string* out, const std::vector<T>& v) {
  Put<uint64_t>(out, v.size());
  if (!v.empty()) out->append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

struct Reader {
  std::string_view in;
  size_t pos = 0;
  [[noreturn]] void Bad() { throw InputError("evaluation state: malformed or truncated bytes"); }
  template <typename T>
  T Get() {
    if (in.size() - pos < sizeof(T)) Bad();
    T v;
    std::memcpy(&v, in.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  template <typename T>
  std::vector<T> GetVec() {
    const uint64_t n = Get<uint64_t>();
    if (n > (in.size() - pos) / sizeof(T)) Bad();
    std::vector<T> v(n);
    if (n) std::memcpy(v.data(), in.data() + pos, n * sizeof(T));
    pos += n * sizeof(T);
    return v;
  }
};

void CheckConsistent(const EvalState& s) {
  auto bad = [](const char* what) {
    throw InputError(std::string("evaluation state: inconsistent contents (") + what + ")");
  };
  const size_t G = s.group_cat.size();
  if (s.group_image.size() != G || s.group_begin.size() != G + 1) bad("groups");
  if (s.group_begin[0] != 0) bad("offsets");
  for (size_t g = 0; g < G; ++g) {
    if (s.group_begin[g + 1] < s.group_begin[g]) bad("offsets");
    if (s.group_begin[g + 1] - s.group_begin[g] > static_cast<uint64_t>(s.max_det)) bad("offsets");
    if (s.group_cat[g] >= s.cat_ids.size()) bad("category");
    if (g > 0 &&
        (s.group_cat[g] < s.group_cat[g - 1] ||
         (s.group_cat[g] == s.group_cat[g - 1] && s.group_image[g] <= s.group_image[g - 1]))) {
      bad("group order");
    }
  }
  const uint64_t E = s.group_begin[G];
  const size_t A = s.area_rng.size(), W = s.words();
  if (s.score.size() != E || s.tp_bits.size() != E * A * W || s.ig_bits.size() != E * A * W)
    bad("entries");
  if (s.npig.size() != G * A) bad("npig");
  if (s.iou_thrs.empty() || A == 0 || s.max_det < 0) bad("parameters");
  if ((s.iou_type == IouType::kKeypoints) == s.kpt_oks_sigmas.empty()) bad("kpt_oks_sigmas");
  // With use_cats K may be 0 (catIds = []); without, the axis is {-1}.
  if (s.use_cats ? !s.pooled_cat_ids.empty() : s.cat_ids != std::vector<int64_t>{-1})
    bad("categories");
}

}  // namespace

std::string SerializeState(const EvalState& s) {
  std::string out(kMagic, sizeof(kMagic));
  Put<uint8_t>(&out, static_cast<uint8_t>(s.iou_type));
  Put<uint8_t>(&out, s.use_cats);
  Put<int64_t>(&out, s.max_det);
  PutVec(&out, s.cat_ids);
  PutVec(&out, s.pooled_cat_ids);
  PutVec(&out, s.iou_thrs);
  PutVec(&out, s.area_rng);
  PutVec(&out, s.kpt_oks_sigmas);
  PutVec(&out, s.group_cat);
  PutVec(&out, s.group_image);
  PutVec(&out, s.group_begin);
  PutVec(&out, s.npig);
  PutVec(&out, s.score);
  PutVec(&out, s.tp_bits);
  PutVec(&out, s.ig_bits);
  return out;
}

EvalState DeserializeState(std::string_view bytes) {
  Reader r{bytes};
  if (bytes.size() < sizeof(kMagic) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    throw InputError("evaluation state: not a cocoeval_cc state (bad magic or version)");
  }
  r.pos = sizeof(kMagic);
  EvalState s;
  const uint8_t iou_type = r.Get<uint8_t>();
  if (iou_type > static_cast<uint8_t>(IouType::kKeypoints)) r.Bad();
  s.iou_type = static_cast<IouType>(iou_type);
  s.use_cats = r.Get<uint8_t>() != 0;
  s.max_det = r.Get<int64_t>();
  s.cat_ids = r.GetVec<int64_t>();
  s.pooled_cat_ids = r.GetVec<int64_t>();
  s.iou_thrs = r.GetVec<double>();
  s.area_rng = r.GetVec<std::array<double, 2>>();
  s.kpt_oks_sigmas = r.GetVec<double>();
  s.group_cat = r.GetVec<uint32_t>();
  s.group_image = r.GetVec<int64_t>();
  s.group_begin = r.GetVec<uint64_t>();
  s.npig = r.GetVec<uint32_t>();
  s.score = r.GetVec<double>();
  s.tp_bits = r.GetVec<uint32_t>();
  s.ig_bits = r.GetVec<uint32_t>();
  if (r.pos != bytes.size()) r.Bad();
  CheckConsistent(s);
  return s;
}

EvalState EvalState::WithoutGroups() const {
  EvalState s;
  s.iou_type = iou_type;
  s.use_cats = use_cats;
  s.cat_ids = cat_ids;
  s.pooled_cat_ids = pooled_cat_ids;
  s.iou_thrs = iou_thrs;
  s.area_rng = area_rng;
  s.max_det = max_det;
  s.kpt_oks_sigmas = kpt_oks_sigmas;
  return s;
}

bool EvalState::SameParameters(const EvalState& o) const {
  return iou_type == o.iou_type && use_cats == o.use_cats && cat_ids == o.cat_ids &&
         pooled_cat_ids == o.pooled_cat_ids && iou_thrs == o.iou_thrs && area_rng == o.area_rng &&
         max_det == o.max_det && kpt_oks_sigmas == o.kpt_oks_sigmas;
}

EvalState MergeStates(const std::vector<const EvalState*>& parts) {
  if (parts.empty()) throw InputError("merge: no evaluation states given");
  const EvalState& first = *parts[0];
  for (const EvalState* p : parts) {
    if (!p->SameParameters(first)) {
      throw InputError("merge: evaluation states were computed with different parameters");
    }
  }
  EvalState s = first.WithoutGroups();
  const size_t A = s.num_areas(), W = s.words();
  // All groups, ordered by (k, image id).
  struct Ref {
    uint32_t k;
    int64_t image;
    uint32_t part;
    uint32_t g;
  };
  std::vector<Ref> refs;
  for (uint32_t pi = 0; pi < parts.size(); ++pi) {
    for (uint32_t g = 0; g < parts[pi]->num_groups(); ++g) {
      refs.push_back({parts[pi]->group_cat[g], parts[pi]->group_image[g], pi, g});
    }
  }
  std::sort(refs.begin(), refs.end(), [](const Ref& a, const Ref& b) {
    return a.k != b.k ? a.k < b.k : a.image != b.image ? a.image < b.image : a.part < b.part;
  });
  s.group_begin.push_back(0);
  for (size_t i = 0; i < refs.size(); ++i) {
    const Ref& r = refs[i];
    if (i > 0 && refs[i - 1].k == r.k && refs[i - 1].image == r.image) {
      throw InputError("merge: image " + std::to_string(r.image) +
                       " was evaluated in more than one state");
    }
    const EvalState& p = *parts[r.part];
    const uint64_t b = p.group_begin[r.g], e = p.group_begin[r.g + 1];
    s.group_cat.push_back(r.k);
    s.group_image.push_back(r.image);
    s.group_begin.push_back(s.group_begin.back() + (e - b));
    s.npig.insert(s.npig.end(), p.npig.begin() + r.g * A, p.npig.begin() + (r.g + 1) * A);
    s.score.insert(s.score.end(), p.score.begin() + b, p.score.begin() + e);
    s.tp_bits.insert(s.tp_bits.end(), p.tp_bits.begin() + b * A * W, p.tp_bits.begin() + e * A * W);
    s.ig_bits.insert(s.ig_bits.end(), p.ig_bits.begin() + b * A * W, p.ig_bits.begin() + e * A * W);
  }
  return s;
}

}  // namespace cocoeval
