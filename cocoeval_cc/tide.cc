#include "cocoeval_cc/tide.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <utility>

#include "cocoeval_cc/errors.h"
#include "cocoeval_cc/mask.h"
#include "cocoeval_cc/parallel_for.h"

namespace cocoeval {
namespace {

// A kept detection's outcome in the matching.
constexpr uint8_t kFalsePositive = 0;
constexpr uint8_t kTruePositive = 1;
constexpr uint8_t kIgnored = 2;  // unmatched, inside a crowd region of its class
constexpr uint8_t kNoError = 255;

// Scenario s of a category's AP: kTideCls..kTideMiss fix that error type,
// then the two oracles, then the unfixed AP in tidecv's original order.
constexpr size_t kScenarios = kTideNumDeltas + 1;
constexpr size_t kBase = kTideNumDeltas;

std::string Num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// Sort key of a score: NaN ranks last instead of breaking the ordering.
double ScoreKey(double s) { return std::isnan(s) ? -std::numeric_limits<double>::infinity() : s; }

// Every kept detection of the selected images, image by image, best first:
// the order tidecv pushes AP data points (and creates errors) in.
struct Entries {
  std::vector<uint32_t> cat;
  std::vector<double> score;
  std::vector<uint8_t> status;
  std::vector<uint8_t> error;
  // Cls / Loc errors that tidecv's fix turns into a true positive (the
  // best-scored error on an unmatched ground truth): the category it lands
  // in; -1 when fixing the error drops the detection.
  std::vector<int32_t> fix_cat;
  void Resize(size_t n) {
    cat.resize(n);
    score.resize(n);
    status.resize(n);
    error.assign(n, kNoError);
    fix_cat.assign(n, -1);
  }
};

// Rows grouped by selected image, file order kept within each image.
struct ByImage {
  std::vector<uint64_t> begin;  // size images + 1
  std::vector<uint32_t> rows;
};

template <typename ImageOf, typename Keep>
ByImage GroupRows(size_t n, const std::vector<int32_t>& image_pos, size_t num_images,
                  ImageOf image_of, Keep keep) {
  ByImage g;
  g.begin.assign(num_images + 1, 0);
  for (size_t r = 0; r < n; ++r) {
    const int32_t p = image_pos[image_of(r)];
    if (p >= 0 && keep(r)) ++g.begin[p + 1];
  }
  for (size_t i = 0; i < num_images; ++i) g.begin[i + 1] += g.begin[i];
  g.rows.resize(g.begin[num_images]);
  std::vector<uint64_t> fill(g.begin.begin(), g.begin.end() - 1);
  for (size_t r = 0; r < n; ++r) {
    const int32_t p = image_pos[image_of(r)];
    if (p >= 0 && keep(r)) g.rows[fill[p]++] = static_cast<uint32_t>(r);
  }
  return g;
}

struct ImageScratch {
  std::vector<std::pair<double, uint32_t>> ranked;
  std::vector<uint32_t> order, regular, crowd, gt_cat;
  std::vector<size_t> regular_pos;  // position of each regular ground truth in the image's rows
  std::vector<double> dt_box, gt_box, crowd_box, iou, crowd_iou;
  std::vector<uint8_t> used, usable, crowd_flag;
  std::vector<int32_t> best_det;
  std::vector<double> best_score;
  std::vector<int32_t> target;
};

// One image as tidecv's TIDEExample + TIDERun._eval_image: writes the
// image's entries [e0, e0 + kept) and the flags of its regular ground truth.
class ImageTide {
 public:
  ImageTide(const GroundTruth& gt, const Detections& dt, IouType iou_type, const TideOptions& opt,
            int num_threads)
      : gt_(gt), dt_(dt), iou_type_(iou_type), opt_(opt) {
    if (iou_type == IouType::kSegm) {
      gt_masks_ = &gt.MaskData(num_threads);
      dt_masks_ = &dt.MaskData(gt, num_threads);
    } else {
      gt.RequireBoxes();
    }
  }

  // dets / gts: the image's rows in file order. gt_fn / gt_miss: one flag
  // per entry of gts (crowd regions stay 0).
  void Run(const uint32_t* dets, size_t nd, const uint32_t* gts, size_t ng, size_t e0, Entries* out,
           uint8_t* gt_fn, uint8_t* gt_miss, ImageScratch* sc) const {
    // tidecv's preds.sort(key=-score) is stable: ties keep file order, which
    // is row order, so sorting (-score, row) pairs gives the same order.
    sc->ranked.resize(nd);
    for (size_t k = 0; k < nd; ++k) sc->ranked[k] = {-ScoreKey(dt_.score[dets[k]]), dets[k]};
    std::sort(sc->ranked.begin(), sc->ranked.end());
    sc->order.resize(nd);
    for (size_t k = 0; k < nd; ++k) sc->order[k] = sc->ranked[k].second;
    const size_t D = std::min<size_t>(nd, static_cast<size_t>(opt_.max_det));
    sc->regular.clear();
    sc->crowd.clear();
    std::vector<size_t>& regular_pos = sc->regular_pos;
    regular_pos.clear();
    for (size_t j = 0; j < ng; ++j) {
      if (gt_.ann_iscrowd[gts[j]]) {
        sc->crowd.push_back(gts[j]);
      } else {
        sc->regular.push_back(gts[j]);
        regular_pos.push_back(j);
      }
    }
    const size_t G = sc->regular.size(), C = sc->crowd.size();
    for (size_t d = 0; d < D; ++d) {
      const uint32_t r = sc->order[d];
      out->cat[e0 + d] = dt_.category[r];
      out->score[e0 + d] = dt_.score[r];
      out->status[e0 + d] = kFalsePositive;
    }
    if (D == 0) {  // no predictions: every regular ground truth is missed
      for (size_t j : regular_pos) gt_fn[j] = gt_miss[j] = 1;
      return;
    }
    Ious(sc->order.data(), D, sc->regular, nullptr, &sc->iou, sc);
    if (C > 0) {
      sc->crowd_flag.assign(C, 1);
      Ious(sc->order.data(), D, sc->crowd, sc->crowd_flag.data(), &sc->crowd_iou, sc);
    }
    const double* iou = sc->iou.data();
    sc->gt_cat.resize(G);
    for (size_t j = 0; j < G; ++j) sc->gt_cat[j] = gt_.ann_category[sc->regular[j]];
    const uint32_t* gt_cat = sc->gt_cat.data();
    auto gcat = [gt_cat](size_t j) { return gt_cat[j]; };

    // Greedy matching in score order over all categories: the best unused
    // ground truth of the detection's category (first on ties), if its IoU
    // reaches pos_thr.
    sc->used.assign(G, 0);
    for (size_t d = 0; d < D; ++d) {
      const uint32_t c = out->cat[e0 + d];
      double best = 0;
      int64_t m = -1;
      for (size_t j = 0; j < G; ++j) {
        if (sc->used[j] || gcat(j) != c) continue;
        if (iou[d * G + j] > best) best = iou[d * G + j], m = static_cast<int64_t>(j);
      }
      if (m >= 0 && best >= opt_.pos_thr) {
        sc->used[m] = 1;
        out->status[e0 + d] = kTruePositive;
      }
    }
    // Crowd regions ignore unmatched detections of their category.
    for (size_t d = 0; d < D && C > 0; ++d) {
      if (out->status[e0 + d] != kFalsePositive) continue;
      for (size_t k = 0; k < C; ++k) {
        if (sc->crowd_iou[d * C + k] > opt_.pos_thr &&
            gt_.ann_category[sc->crowd[k]] == out->cat[e0 + d]) {
          out->status[e0 + d] = kIgnored;
          break;
        }
      }
    }
    if (G == 0) {  // nothing to confuse with: every unmatched detection is background
      for (size_t d = 0; d < D; ++d) {
        if (out->status[e0 + d] != kTruePositive) out->error[e0 + d] = kTideBkg;
      }
      return;
    }

    // Errors, in tidecv's order of tests. Maxima are taken over matrices
    // with the excluded entries zeroed, so a maximum is never below 0 and
    // the first of equal values wins, as numpy's argmax.
    sc->usable.assign(G, 0);
    sc->best_score.assign(G, -1.0);  // tidecv's initial best_score
    sc->best_det.assign(G, -1);
    sc->target.assign(D, -1);
    for (size_t d = 0; d < D; ++d) {
      if (out->status[e0 + d] == kTruePositive) continue;
      const uint32_t c = out->cat[e0 + d];
      const double* row = iou + d * G;
      double cls_max = 0, other_max = 0, used_max = 0, all_max = row[0];
      int64_t cls_idx = -1, other_idx = -1;
      for (size_t j = 0; j < G; ++j) {
        const double v = row[j];
        all_max = std::max(all_max, v);
        if (gcat(j) == c) {
          if (v > cls_max) cls_max = v, cls_idx = static_cast<int64_t>(j);
          if (sc->used[j] && v > used_max) used_max = v;
        } else if (v > other_max) {
          other_max = v, other_idx = static_cast<int64_t>(j);
        }
      }
      uint8_t err;
      int64_t t = -1;
      if (opt_.bg_thr <= cls_max && cls_max <= opt_.pos_thr) {
        err = kTideLoc;  // bg_thr > 0, so cls_idx is set
        t = cls_idx;
      } else if (other_max >= opt_.pos_thr) {
        err = kTideCls;
        t = other_idx;
      } else if (used_max >= opt_.pos_thr) {
        err = kTideDupe;
      } else if (all_max <= opt_.bg_thr) {
        err = kTideBkg;
      } else {
        err = kTideBoth;
      }
      out->error[e0 + d] = err;
      // BestGTMatch: an unmatched target counts as found (not missed), and
      // only its best-scored error (strictly greater score) can be fixed.
      if (t >= 0 && !sc->used[t]) {
        sc->target[d] = static_cast<int32_t>(t);
        sc->usable[t] = 1;
        if (sc->best_score[t] < out->score[e0 + d]) {
          sc->best_score[t] = out->score[e0 + d];
          sc->best_det[t] = static_cast<int32_t>(d);
        }
      }
    }
    for (size_t d = 0; d < D; ++d) {
      const int32_t t = sc->target[d];
      if (t >= 0 && sc->best_det[t] == static_cast<int32_t>(d)) {
        out->fix_cat[e0 + d] = static_cast<int32_t>(gcat(t));
      }
    }
    for (size_t j = 0; j < G; ++j) {
      if (sc->used[j]) continue;
      gt_fn[regular_pos[j]] = 1;
      gt_miss[regular_pos[j]] = !sc->usable[j];
    }
  }

 private:
  // IoUs of the first D detections of `order` against `gts` (D x G).
  void Ious(const uint32_t* order, size_t D, const std::vector<uint32_t>& gts,
            const uint8_t* iscrowd, std::vector<double>* out, ImageScratch* sc) const {
    const size_t G = gts.size();
    out->assign(D * G, 0.0);
    if (D == 0 || G == 0) return;
    if (iou_type_ == IouType::kSegm) {
      RleIou(*dt_masks_, order, D, *gt_masks_, gts.data(), G, iscrowd, out->data());
      return;
    }
    sc->dt_box.resize(4 * D);
    sc->gt_box.resize(4 * G);
    for (size_t d = 0; d < D; ++d) {
      std::copy_n(&dt_.bbox[4 * static_cast<size_t>(order[d])], 4, &sc->dt_box[4 * d]);
    }
    for (size_t j = 0; j < G; ++j) {
      std::copy_n(&gt_.ann_bbox[4 * static_cast<size_t>(gts[j])], 4, &sc->gt_box[4 * j]);
    }
    const bool finite = std::all_of(sc->dt_box.begin(), sc->dt_box.end(),
                                    [](double v) { return std::isfinite(v); }) &&
                        std::all_of(sc->gt_box.begin(), sc->gt_box.end(),
                                    [](double v) { return std::isfinite(v); });
    if (!finite) {  // BoxIou's fmin / fmax carry NaNs as bbIou does
      BoxIou(sc->dt_box.data(), D, sc->gt_box.data(), G, iscrowd, out->data());
      return;
    }
    // BoxIou's expressions in its order, with comparisons instead of the
    // fmin / fmax library calls (equal for finite values): TIDE needs every
    // detection against every ground truth of the image, the bulk of its
    // work.
    // Branch-free: the overlap test selects the value (a division whose
    // result is dropped is harmless).
    for (size_t d = 0; d < D; ++d) {
      const double* a = &sc->dt_box[4 * d];
      const double area = a[2] * a[3];
      double* row = out->data() + d * G;
      for (size_t j = 0; j < G; ++j) {
        const double* g = &sc->gt_box[4 * j];
        const double iw = std::min(a[2] + a[0], g[2] + g[0]) - std::max(a[0], g[0]);
        const double ih = std::min(a[3] + a[1], g[3] + g[1]) - std::max(a[1], g[1]);
        const double inter = iw * ih;
        const double uni = iscrowd != nullptr && iscrowd[j] ? area : area + g[2] * g[3] - inter;
        const double iou = inter / uni;
        row[j] = iw > 0 && ih > 0 ? iou : 0.0;
      }
    }
  }

  const GroundTruth& gt_;
  const Detections& dt_;
  IouType iou_type_;
  TideOptions opt_;
  const MaskSet* gt_masks_ = nullptr;
  const MaskSet* dt_masks_ = nullptr;
};

// One category's AP in every scenario.
struct CategoryAps {
  std::array<double, kScenarios> ap{};
  std::array<uint8_t, kScenarios> present{};  // counts in tidecv's mean
};

// Which scenarios an item takes part in, and as a true positive in which.
struct ItemBits {
  uint16_t present = 0, tp = 0;
};

constexpr uint16_t kAllScenarios = (1u << kScenarios) - 1;

// An entry of a category in each scenario: absent, false or true positive.
// imported: a Cls error of another category, present only where Cls errors
// are fixed (as a true positive of the ground truth's category).
ItemBits BitsOf(uint8_t status, uint8_t error, bool fixable, bool imported) {
  ItemBits b;
  if (imported) {
    b.present = b.tp = 1u << kTideCls;
  } else if (status == kTruePositive) {
    b.present = b.tp = kAllScenarios;
  } else {
    // Unfixed: a false positive, or nothing if ignored; fixed (s == the
    // error): a true positive for the best Loc error on its ground truth,
    // else dropped.
    b.present = status == kIgnored   ? 0
                : error < kScenarios ? kAllScenarios & ~(1u << error)
                                     : kAllScenarios;
    if (error == kTideLoc && fixable) b.present |= b.tp = 1u << kTideLoc;
  }
  return b;
}

// One AP data point of a category, with what the ranking needs inline (the
// category pass then reads only its own contiguous items).
struct Item {
  uint64_t key = 0;    // RankKey(score): ascending = best score first
  uint32_t entry = 0;  // tidecv's push order
  ItemBits bits;
};

// Scores as unsigned integers ordered best first (equal scores equal keys:
// -0 is 0, NaN ranks last), for a radix sort.
uint64_t RankKey(double score) {
  double d = -ScoreKey(score);
  if (d == 0) d = 0.0;
  uint64_t u;
  std::memcpy(&u, &d, sizeof(u));
  return u >> 63 ? ~u : u | (uint64_t{1} << 63);
}

// Stable LSD radix sort by key, so equal scores keep entry order (tidecv's
// stable sort); bytes every item shares are skipped.
void SortByKey(std::vector<Item>* items, std::vector<Item>* tmp) {
  const size_t n = items->size();
  tmp->resize(n);
  for (int shift = 0; shift < 64; shift += 8) {
    std::array<size_t, 257> count{};
    for (const Item& it : *items) ++count[((it.key >> shift) & 0xFF) + 1];
    if (std::any_of(count.begin() + 1, count.end(), [n](size_t c) { return c == n; })) continue;
    for (size_t b = 0; b < 256; ++b) count[b + 1] += count[b];
    for (const Item& it : *items) (*tmp)[count[(it.key >> shift) & 0xFF]++] = it;
    items->swap(*tmp);
  }
}

// tidecv's get_ap of several scenarios over one ranked list, in one
// backward pass: the smoothed precision at rank i is the maximum precision
// from i on, and recall point x takes rank i when recall(i - 1) < x <=
// recall(i) (searchsorted 'left'). Same values as TideAp.
void RankedAps(const std::vector<Item>& ranked, const std::vector<size_t>& scenarios,
               const std::array<int64_t, kScenarios>& num_gt, CategoryAps* out) {
  struct Acc {
    int64_t t = 0, k = 0;            // true positives / items up to the current rank
    int64_t best_t = 0, best_k = 1;  // maximum precision from the current rank on
    int b = 100;                     // the largest recall point not yet placed
    std::array<double, 101> y{};
  };
  std::array<Acc, kScenarios> acc;
  const size_t n = ranked.size();
  for (size_t i = 0; i < n; ++i) {
    for (size_t s : scenarios) {
      if (ranked[i].bits.present >> s & 1) {
        ++acc[s].k;
        acc[s].t += ranked[i].bits.tp >> s & 1;
      }
    }
  }
  for (size_t s : scenarios) out->present[s] = acc[s].k > 0 || num_gt[s] > 0;
  for (size_t i = n; i-- > 0;) {
    for (size_t s : scenarios) {
      if (!(ranked[i].bits.present >> s & 1) || num_gt[s] <= 0) continue;
      Acc& a = acc[s];
      // Exact rational comparison: the larger fraction has the larger (or
      // equal) double, so the maximum's double is tidecv's maximum.
      if (a.t * a.best_k > a.best_t * a.k) a.best_t = a.t, a.best_k = a.k;
      const int tp = ranked[i].bits.tp >> s & 1;
      const double g = static_cast<double>(num_gt[s]);
      const double recall = static_cast<double>(a.t) / g;
      a.t -= tp;
      --a.k;
      // Only a true positive (or the first rank) starts recall points.
      if (!tp && a.k > 0 && a.b < 100) continue;
      const double before = static_cast<double>(a.t) / g;
      const double best = static_cast<double>(a.best_t) / static_cast<double>(a.best_k);
      while (a.b >= 0 && a.b / 100.0 > recall) --a.b;  // past the last recall: 0
      while (a.b >= 0 && (a.k == 0 || a.b / 100.0 > before)) a.y[a.b--] = best;
    }
  }
  for (size_t s : scenarios) {
    double sum = 0;
    for (double v : acc[s].y) sum += v;  // ascending, as tidecv's sum()
    out->ap[s] = num_gt[s] > 0 ? sum / 101.0 : 0.0;
  }
}

// A category's items: its own kept detections and the Cls errors of other
// categories that fixing Cls moves into it.
struct CategoryScratch {
  std::vector<Item> ranked, tmp;
};

CategoryAps CategoryTide(const Item* items, size_t n, int64_t num_gt, int64_t num_fn,
                         int64_t num_miss, CategoryScratch* scratch) {
  CategoryAps out;
  // tidecv's stable sorts by score, of points pushed in entry order: a
  // category's items are in entry order, so a stable sort by score gives
  // the same order.
  std::vector<Item>& ranked = scratch->ranked;
  ranked.assign(items, items + n);
  SortByKey(&ranked, &scratch->tmp);
  std::array<int64_t, kScenarios> gts;
  gts.fill(num_gt);
  gts[kTideMiss] = num_gt - num_miss;
  gts[kTideFn] = num_gt - num_fn;
  int64_t n_tp = 0, n_fp = 0;
  for (const Item& it : ranked) {
    if (it.bits.present >> kBase & 1) ++(it.bits.tp >> kBase & 1 ? n_tp : n_fp);
  }
  RankedAps(ranked, {kBase}, gts, &out);

  // fix_errors rebuilds the data: every error's point first, then the true
  // positives, so among equal scores errors rank before true positives.
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && ranked[j].key == ranked[i].key) ++j;
    if (j - i > 1) {
      std::stable_partition(ranked.begin() + i, ranked.begin() + j,
                            [](const Item& it) { return !(it.bits.tp >> kBase & 1); });
    }
    i = j;
  }
  RankedAps(ranked, {kTideCls, kTideLoc, kTideBoth, kTideDupe, kTideBkg, kTideMiss, kTideFn}, gts,
            &out);
  // Perfect scores: every true positive (score 1) ranks before every false
  // positive (score 0), so precision is 1 up to the final recall.
  const double final_recall = static_cast<double>(n_tp) / static_cast<double>(num_gt);
  int points = 0;
  for (int b = 0; b <= 100 && n_tp > 0 && num_gt > 0; ++b) points += b / 100.0 <= final_recall;
  out.ap[kTideFp] = points / 101.0;
  out.present[kTideFp] = out.present[kBase];
  return out;
}

// Mean over the categories present in scenario s (tidecv's get_mAP); 0
// when none is (tidecv divides by zero).
double MeanAp(const std::vector<CategoryAps>& cats, size_t s) {
  double sum = 0;
  size_t n = 0;
  for (const CategoryAps& c : cats) {
    if (!c.present[s]) continue;
    sum += c.ap[s];
    ++n;
  }
  return n == 0 ? 0.0 : sum / static_cast<double>(n);
}

void FillDeltas(const std::array<double, kScenarios>& ap, TideSummary* s) {
  s->ap = ap[kBase];
  for (size_t k = 0; k < kTideNumDeltas; ++k) {
    const double d = ap[k] - ap[kBase];
    // tidecv clamps the main errors' gains at 0 (tie-order artefacts), not
    // the oracles'.
    s->delta_ap[k] = k < kTideNumErrors ? std::max(d, 0.0) : d;
  }
}

}  // namespace

void ValidateTideOptions(const TideOptions& opt) {
  if (!(opt.pos_thr > 0 && opt.pos_thr <= 1)) {
    throw InputError("pos_thr must be in (0, 1], got " + Num(opt.pos_thr));
  }
  if (!(opt.bg_thr > 0 && opt.bg_thr <= 1)) {
    throw InputError("bg_thr must be in (0, 1], got " + Num(opt.bg_thr));
  }
  if (opt.bg_thr > opt.pos_thr) {
    throw InputError("bg_thr must be <= pos_thr, got bg_thr " + Num(opt.bg_thr) + " > pos_thr " +
                     Num(opt.pos_thr));
  }
  if (opt.max_det < 0) throw InputError("max_det must be >= 0, got " + std::to_string(opt.max_det));
}

double TideApOnePass(const std::vector<uint8_t>& tp, int64_t num_gt) {
  std::vector<Item> ranked(tp.size());
  for (size_t i = 0; i < tp.size(); ++i) {
    ranked[i].bits.present = 1u << kBase;
    ranked[i].bits.tp = tp[i] ? 1u << kBase : 0;
  }
  std::array<int64_t, kScenarios> gts;
  gts.fill(num_gt);
  CategoryAps out;
  RankedAps(ranked, {kBase}, gts, &out);
  return out.ap[kBase];
}

double TideAp(const std::vector<uint8_t>& tp, int64_t num_gt) {
  const size_t n = tp.size();
  if (num_gt <= 0) return 0.0;
  std::vector<double> precision(n), recall(n);
  int64_t t = 0, f = 0;
  for (size_t i = 0; i < n; ++i) {
    (tp[i] ? t : f) += 1;
    precision[i] = static_cast<double>(t) / static_cast<double>(t + f);
    recall[i] = static_cast<double>(t) / static_cast<double>(num_gt);
  }
  for (size_t i = n; i-- > 1;) {
    if (precision[i] > precision[i - 1]) precision[i - 1] = precision[i];
  }
  // 101 recall points i / 100 (not np.linspace), each taking the precision
  // at the first recall >= it (searchsorted 'left').
  double sum = 0;
  size_t idx = 0;
  for (int b = 0; b <= 100; ++b) {
    const double x = b / 100.0;
    while (idx < n && recall[idx] < x) ++idx;
    if (idx < n) sum += precision[idx];
  }
  return sum / 101.0;
}

TideResult ComputeTide(const GroundTruth& gt, const Detections& dt, IouType iou_type,
                       const EvalSelection& sel, const TideOptions& opt, int num_threads) {
  ValidateTideOptions(opt);
  if (iou_type == IouType::kKeypoints) {
    throw InputError("iouType 'keypoints': TIDE is defined for boxes and masks (bbox or segm)");
  }
  num_threads = ResolveThreads(num_threads);
  const size_t num_cats = gt.category_ids.size();
  const size_t I = sel.images.size();
  std::vector<int32_t> image_pos(gt.image_ids.size(), -1);
  for (size_t i = 0; i < I; ++i) {
    if (sel.images[i] < image_pos.size()) image_pos[sel.images[i]] = static_cast<int32_t>(i);
  }
  std::vector<uint8_t> cat_sel(num_cats, 0);
  for (uint32_t c : sel.categories) {
    if (c < num_cats) cat_sel[c] = 1;
  }
  const ByImage dets = GroupRows(
      dt.size(), image_pos, I, [&](size_t r) { return dt.image[r]; },
      [&](size_t r) { return cat_sel[dt.category[r]] != 0; });
  const ByImage gts = GroupRows(
      gt.num_annotations(), image_pos, I, [&](size_t r) { return gt.ann_image[r]; },
      [&](size_t r) { return cat_sel[gt.ann_category[r]] != 0; });

  std::vector<uint64_t> e_begin(I + 1, 0);
  for (size_t i = 0; i < I; ++i) {
    const uint64_t nd = dets.begin[i + 1] - dets.begin[i];
    e_begin[i + 1] = e_begin[i] + std::min<uint64_t>(nd, static_cast<uint64_t>(opt.max_det));
  }
  Entries en;
  en.Resize(e_begin[I]);
  std::vector<uint8_t> gt_fn(gts.rows.size(), 0), gt_miss(gts.rows.size(), 0);
  const ImageTide image_tide(gt, dt, iou_type, opt, num_threads);
  ParallelFor<ImageScratch>(I, num_threads, 16, [&](size_t i, ImageScratch& sc) {
    image_tide.Run(&dets.rows[dets.begin[i]], dets.begin[i + 1] - dets.begin[i],
                   &gts.rows[gts.begin[i]], gts.begin[i + 1] - gts.begin[i], e_begin[i], &en,
                   &gt_fn[gts.begin[i]], &gt_miss[gts.begin[i]], &sc);
  });

  // Per-category ground-truth tallies and error counts.
  std::vector<int64_t> num_gt(num_cats, 0), num_fn(num_cats, 0), num_miss(num_cats, 0);
  std::vector<std::array<int64_t, kTideNumErrors>> counts(num_cats);
  for (size_t k = 0; k < gts.rows.size(); ++k) {
    const uint32_t r = gts.rows[k];
    if (gt.ann_iscrowd[r]) continue;
    const uint32_t c = gt.ann_category[r];
    ++num_gt[c];
    num_fn[c] += gt_fn[k];
    num_miss[c] += gt_miss[k];
  }
  for (size_t c = 0; c < num_cats; ++c) counts[c][kTideMiss] = num_miss[c];
  for (size_t e = 0; e < en.cat.size(); ++e) {
    if (en.error[e] != kNoError) ++counts[en.cat[e]][en.error[e]];
  }

  // Each category's items (own entries, then imported Cls fixes), in entry
  // order.
  std::vector<uint64_t> item_begin(num_cats + 1, 0);
  auto imports = [&](size_t e) { return en.error[e] == kTideCls && en.fix_cat[e] >= 0; };
  for (size_t e = 0; e < en.cat.size(); ++e) {
    ++item_begin[en.cat[e] + 1];
    if (imports(e)) ++item_begin[en.fix_cat[e] + 1];
  }
  for (size_t c = 0; c < num_cats; ++c) item_begin[c + 1] += item_begin[c];
  std::vector<Item> items(item_begin[num_cats]);
  {
    std::vector<uint64_t> fill(item_begin.begin(), item_begin.end() - 1);
    for (size_t e = 0; e < en.cat.size(); ++e) {
      const uint64_t key = RankKey(en.score[e]);
      const auto entry = static_cast<uint32_t>(e);
      const bool fixable = en.fix_cat[e] >= 0;
      items[fill[en.cat[e]]++] = {key, entry, BitsOf(en.status[e], en.error[e], fixable, false)};
      if (imports(e)) items[fill[en.fix_cat[e]]++] = {key, entry, BitsOf(0, 0, false, true)};
    }
  }
  std::vector<uint32_t> cats(sel.categories.begin(), sel.categories.end());
  std::sort(cats.begin(), cats.end());  // dense order is category id order
  cats.erase(std::unique(cats.begin(), cats.end()), cats.end());
  cats.erase(std::remove_if(cats.begin(), cats.end(), [&](uint32_t c) { return c >= num_cats; }),
             cats.end());
  std::vector<CategoryAps> aps(cats.size());
  ParallelFor<CategoryScratch>(cats.size(), num_threads, 1, [&](size_t k, auto& scratch) {
    const uint32_t c = cats[k];
    aps[k] = CategoryTide(&items[item_begin[c]], item_begin[c + 1] - item_begin[c], num_gt[c],
                          num_fn[c], num_miss[c], &scratch);
  });

  TideResult res;
  std::array<double, kScenarios> mean{};
  for (size_t s = 0; s < kScenarios; ++s) mean[s] = MeanAp(aps, s);
  FillDeltas(mean, &res.overall);
  for (size_t k = 0; k < cats.size(); ++k) {
    const auto& n = counts[cats[k]];
    for (size_t t = 0; t < kTideNumErrors; ++t) res.overall.counts[t] += n[t];
    // A category absent from the mean can still have errors: detections
    // ignored by its crowd regions (tidecv counts those errors too).
    if (!aps[k].present[kBase] && std::all_of(n.begin(), n.end(), [](int64_t v) { return !v; })) {
      continue;
    }
    TideSummary cs;
    FillDeltas(aps[k].ap, &cs);
    cs.counts = n;
    res.categories.push_back(cats[k]);
    res.per_category.push_back(cs);
  }
  return res;
}

TideResult ComputeTide(const Evaluator& e, double pos_thr, double bg_thr, int num_threads) {
  TideOptions opt;
  opt.pos_thr = pos_thr;
  opt.bg_thr = bg_thr;
  ValidateTideOptions(opt);
  const Params& p = e.params();
  if (p.iou_type == IouType::kKeypoints) {
    throw InputError("iouType 'keypoints': TIDE is defined for boxes and masks (bbox or segm)");
  }
  if (!p.use_cats) throw InputError("useCats 0: TIDE's errors need categories (set useCats = 1)");
  if (!e.evaluated() || e.detections() == nullptr) {
    throw InputError("tide_errors: needs an evaluator with detections, after evaluate()");
  }
  opt.max_det = p.max_dets.back();  // NormalizeParams sorted them; tidecv: 100
  const GroundTruth& gt = e.ground_truth();
  EvalSelection sel;
  for (int64_t id : *p.img_ids) {
    const int64_t i = gt.image_index.Find(id);
    if (i >= 0) sel.images.push_back(static_cast<uint32_t>(i));
  }
  for (int64_t id : *p.cat_ids) {
    const int64_t c = gt.category_index.Find(id);
    if (c >= 0) sel.categories.push_back(static_cast<uint32_t>(c));
  }
  return ComputeTide(gt, *e.detections(), p.iou_type, sel, opt, num_threads);
}

}  // namespace cocoeval
