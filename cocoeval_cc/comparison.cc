#include "cocoeval_cc/comparison.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <thread>
#include <unordered_set>
#include <utility>

#include "cocoeval_cc/accumulate.h"
#include "cocoeval_cc/errors.h"
#include "cocoeval_cc/pairwise_sum.h"
#include "cocoeval_cc/parallel_for.h"
#include "cocoeval_cc/summarize.h"

namespace cocoeval {
namespace {

// np.spacing(1): the epsilon pycocotools adds to tp + fp (as accumulate.cc).
constexpr double kEps = 2.220446049250313e-16;

int Threads(int num_threads) {
  if (num_threads > 0) return num_threads;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

std::vector<int64_t> SortedUnique(std::vector<int64_t> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

// Dense position of each group's image among the sorted evaluated images.
std::vector<uint32_t> GroupImagePositions(const EvalState& s, const std::vector<int64_t>& images) {
  std::vector<uint32_t> pos(s.num_groups());
  for (size_t g = 0; g < s.num_groups(); ++g) {
    auto it = std::lower_bound(images.begin(), images.end(), s.group_image[g]);
    if (it == images.end() || *it != s.group_image[g]) {
      throw InputError("the evaluation state has image id " + std::to_string(s.group_image[g]) +
                       ", which is not among the evaluated images");
    }
    pos[g] = static_cast<uint32_t>(it - images.begin());
  }
  return pos;
}

std::string IdList(const std::vector<int64_t>& ids, size_t limit) {
  std::string out;
  for (size_t i = 0; i < ids.size() && i < limit; ++i) {
    if (i) out += ", ";
    out += std::to_string(ids[i]);
  }
  if (ids.size() > limit) out += ", ...";
  return out;
}

}  // namespace

// ------------------------------------------------------------------ slices

EvalState FilterState(const EvalState& s, const std::vector<int64_t>& image_ids) {
  const std::vector<int64_t> keep = SortedUnique(image_ids);
  EvalState out = s.WithoutGroups();
  const size_t A = s.num_areas();
  const size_t AW = A * s.words();
  out.group_begin.push_back(0);
  for (size_t g = 0; g < s.num_groups(); ++g) {
    if (!std::binary_search(keep.begin(), keep.end(), s.group_image[g])) continue;
    out.group_cat.push_back(s.group_cat[g]);
    out.group_image.push_back(s.group_image[g]);
    out.npig.insert(out.npig.end(), s.npig.begin() + g * A, s.npig.begin() + (g + 1) * A);
    const uint64_t b = s.group_begin[g], e = s.group_begin[g + 1];
    out.score.insert(out.score.end(), s.score.begin() + b, s.score.begin() + e);
    out.tp_bits.insert(out.tp_bits.end(), s.tp_bits.begin() + b * AW, s.tp_bits.begin() + e * AW);
    out.ig_bits.insert(out.ig_bits.end(), s.ig_bits.begin() + b * AW, s.ig_bits.begin() + e * AW);
    out.group_begin.push_back(out.group_begin.back() + (e - b));
  }
  return out;
}

SliceStats EvaluateSlice(const Evaluator& e, const std::string& name,
                         const std::vector<int64_t>& image_ids, int num_threads) {
  const std::vector<int64_t> ids = SortedUnique(image_ids);
  if (ids.empty()) throw InputError("slice '" + name + "' is empty");
  const std::vector<int64_t>& evaluated = *e.params().img_ids;
  std::vector<int64_t> unknown;
  for (int64_t i : ids) {
    if (!std::binary_search(evaluated.begin(), evaluated.end(), i)) unknown.push_back(i);
  }
  if (!unknown.empty()) {
    throw InputError("slice '" + name + "': " + std::to_string(unknown.size()) +
                     " image id(s) not among the evaluated images: " + IdList(unknown, 5));
  }
  const EvalState filtered = FilterState(e.state(), ids);
  const Params& p = e.params();
  const Accumulated acc = Accumulate(filtered, p.rec_thrs, p.max_dets, Threads(num_threads));
  SliceStats out;
  out.num_images = ids.size();
  out.stats = Summarize(acc, p, e.stat_specs());
  out.per_category = PerCategoryStats(acc, p, e.stat_specs());
  return out;
}

std::vector<NamedSlice> BuiltinSlices(const Evaluator& e) {
  const GroundTruth& gt = e.ground_truth();
  const Params& p = e.params();
  std::vector<uint8_t> cat_used(gt.category_ids.size(), 0);
  for (int64_t c : *p.cat_ids) {
    const int64_t k = gt.category_index.Find(c);
    if (k >= 0) cat_used[static_cast<size_t>(k)] = 1;
  }
  std::vector<uint32_t> objects(gt.image_ids.size(), 0);
  std::vector<uint8_t> crowd(gt.image_ids.size(), 0);
  for (size_t i = 0; i < gt.num_annotations(); ++i) {
    if (!cat_used[gt.ann_category[i]]) continue;
    if (gt.ann_iscrowd[i]) {
      crowd[gt.ann_image[i]] = 1;
    } else {
      ++objects[gt.ann_image[i]];
    }
  }
  static const char* kAreaNames[] = {"image_area:<0.25MP", "image_area:0.25-0.5MP",
                                     "image_area:0.5-1MP", "image_area:>=1MP",
                                     "image_area:unknown"};
  static const char* kObjectNames[] = {"objects:0", "objects:1-3", "objects:4-10", "objects:11+"};
  std::vector<NamedSlice> area(5), dense(4);
  NamedSlice has_crowd;
  for (int i = 0; i < 5; ++i) area[i].name = kAreaNames[i];
  for (int i = 0; i < 4; ++i) dense[i].name = kObjectNames[i];
  has_crowd.name = "objects:has_crowd";
  for (int64_t id : *p.img_ids) {  // sorted
    const size_t d = static_cast<size_t>(gt.image_index.Find(id));
    const int64_t h = gt.image_heights[d], w = gt.image_widths[d];
    size_t ab = 4;
    if (h >= 0 && w >= 0) {
      const double px = static_cast<double>(h) * static_cast<double>(w);
      ab = px < 250000.0 ? 0 : px < 500000.0 ? 1 : px < 1000000.0 ? 2 : 3;
    }
    area[ab].image_ids.push_back(id);
    const uint32_t n = objects[d];
    dense[n == 0 ? 0 : n <= 3 ? 1 : n <= 10 ? 2 : 3].image_ids.push_back(id);
    if (crowd[d]) has_crowd.image_ids.push_back(id);
  }
  std::vector<NamedSlice> out;
  for (NamedSlice& s : area) {
    if (!s.image_ids.empty()) out.push_back(std::move(s));
  }
  for (NamedSlice& s : dense) {
    if (!s.image_ids.empty()) out.push_back(std::move(s));
  }
  if (!has_crowd.image_ids.empty()) out.push_back(std::move(has_crowd));
  return out;
}

// ------------------------------------------------------- paired bootstrap

std::vector<uint32_t> ResampleWeights(uint64_t seed, uint64_t r, size_t n) {
  std::vector<uint32_t> w(n, 0);
  if (n == 0) return w;
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(r), static_cast<uint32_t>(r >> 32)};
  std::mt19937_64 engine(seq);
  const uint64_t un = n;
  // The largest multiple of n that fits: draws at or above it are redrawn.
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - (std::numeric_limits<uint64_t>::max() % un + 1) % un;
  for (size_t i = 0; i < n; ++i) {
    uint64_t x;
    do {
      x = engine();
    } while (x >= limit && limit != std::numeric_limits<uint64_t>::max());
    ++w[x % un];
  }
  return w;
}

double Quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return std::nan("");
  const double h = q * static_cast<double>(sorted.size() - 1);
  const double f = std::floor(h);
  const size_t i = static_cast<size_t>(f);
  if (i + 1 >= sorted.size()) return sorted.back();
  const double t = h - f, a = sorted[i], b = sorted[i + 1];
  const double d = b - a;
  // numpy's _lerp: from the nearer end, so t = 1 gives b exactly.
  return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

// One (area range, maxDets) curve of a category that some statistic reads.
struct Curve {
  size_t a = 0, m = 0;
  bool precision = false;  // an AP statistic reads it; else only recall
  // Precision curves: the images of the detections that are a false
  // positive at every threshold, in score order.
  std::vector<uint32_t> fp_img;
  // The other detections that count (not ignored at every threshold;
  // recall-only curves keep just the ones that are a true positive at some
  // threshold), in score order: image, fp_img entries before it, bits.
  std::vector<uint32_t> img;
  std::vector<uint32_t> fp_before;
  std::vector<uint32_t> tp, ig;  // words() each
};

struct CategoryData {
  size_t k = 0;
  std::vector<uint32_t> gt_img;   // groups with ground truth: image
  std::vector<uint32_t> gt_npig;  // ... and npig per area range (A each)
  std::vector<uint32_t> det_img;  // groups with kept detections: image
  std::vector<Curve> curves;
};

struct BootstrapModel::Impl {
  Params params;
  std::vector<StatSpec> specs;
  size_t N = 0, T = 0, R = 0, K = 0, A = 0, M = 0, W = 0;
  std::vector<uint32_t> full;  // the bits of the T thresholds, per word
  // The (area, maxDets) curves the statistics read get a slot each:
  // precision [slot][t][r][k], recall [slot][t][k], so that the means walk
  // them contiguously in summarize.cc's order (t, r, k).
  std::vector<int> slot;  // A x M, -1: not read
  size_t num_slots = 0;
  struct SpecPlan {
    bool ap = true;
    std::vector<size_t> ts;     // IoU thresholds it averages over
    std::vector<size_t> slots;  // its (area, maxDets), in summarize.cc's order
  };
  std::vector<SpecPlan> plans;
  std::vector<CategoryData> cats;
};

namespace {

// A run of true positives of one detection: the true positive count at
// its end and the false positive count before it.
struct Block {
  uint64_t tp, fp;
};

struct Scratch {
  std::vector<double> prec, rec;  // per slot, see Impl
  std::vector<double> vals;
  std::vector<std::vector<Block>> blocks;  // per IoU threshold
  std::vector<uint64_t> tp, fp_extra;      // per IoU threshold
  std::vector<uint64_t> need;              // per recall threshold
  std::vector<double> env;
  std::vector<uint64_t> npig;
};

// Each model keeps its own curves: a curve one model never writes stays -1.
struct PairScratch {
  Scratch a, b;
};

void InitScratch(const BootstrapModel::Impl& m, Scratch* s) {
  if (s->blocks.size() == m.T && s->rec.size() == m.num_slots * m.T * m.K) return;
  // Curves of categories this model has no groups for stay -1.
  s->prec.assign(m.num_slots * m.T * m.R * m.K, -1.0);
  s->rec.assign(m.num_slots * m.T * m.K, -1.0);
  s->blocks.resize(m.T);
  s->tp.resize(m.T);
  s->fp_extra.resize(m.T);
}

void CurveStats(const BootstrapModel::Impl& m, const CategoryData& c, const Curve& cv,
                const uint32_t* w, uint64_t npig, bool any_det, Scratch* s) {
  const size_t k = c.k, W = m.W, R = m.R, K = m.K, T = m.T;
  const size_t slot = static_cast<size_t>(m.slot[cv.a * m.M + cv.m]);
  double* const prec = s->prec.data() + slot * T * R * K;  // [t][r][k]
  double* const rec = s->rec.data() + slot * T * K;        // [t][k]
  if (npig == 0) {  // no ground truth in this resample: the slice is -1
    for (size_t t = 0; t < m.T; ++t) {
      rec[t * K + k] = -1.0;
      if (!cv.precision) continue;
      for (size_t r = 0; r < R; ++r) prec[(t * R + r) * K + k] = -1.0;
    }
    return;
  }
  const double npig_d = static_cast<double>(npig);
  const size_t n = cv.img.size();
  if (!cv.precision) {
    std::fill(s->tp.begin(), s->tp.end(), 0);
    for (size_t j = 0; j < n; ++j) {
      const uint32_t c = w[cv.img[j]];
      if (c == 0) continue;
      for (size_t x = 0; x < W; ++x) {
        for (uint32_t bits = cv.tp[j * W + x]; bits; bits &= bits - 1) {
          s->tp[x * 32 + static_cast<size_t>(__builtin_ctz(bits))] += c;
        }
      }
    }
    for (size_t t = 0; t < m.T; ++t) {
      rec[t * K + k] = any_det ? static_cast<double>(s->tp[t]) / npig_d : 0.0;
    }
    return;
  }
  // One pass over the detections for every threshold: the running weight of
  // the always-false-positive ones, then, visiting set bits only, each
  // threshold's true positives and other false positives. A true positive
  // of weight c is c consecutive true positives with the same false
  // positive count: one block, whose last position has the highest
  // precision of the block and so the envelope of all of them.
  for (size_t t = 0; t < m.T; ++t) {
    s->blocks[t].clear();
    s->fp_extra[t] = 0;
    s->tp[t] = 0;
  }
  uint64_t fp = 0;
  size_t f = 0;
  for (size_t j = 0; j < n; ++j) {
    for (const size_t end = cv.fp_before[j]; f < end; ++f) fp += w[cv.fp_img[f]];
    const uint32_t c = w[cv.img[j]];
    if (c == 0) continue;
    for (size_t x = 0; x < W; ++x) {
      const uint32_t tpw = cv.tp[j * W + x];
      for (uint32_t bits = tpw; bits; bits &= bits - 1) {
        const size_t t = x * 32 + static_cast<size_t>(__builtin_ctz(bits));
        s->tp[t] += c;
        s->blocks[t].push_back({s->tp[t], fp + s->fp_extra[t]});
      }
      for (uint32_t bits = ~(tpw | cv.ig[j * W + x]) & m.full[x]; bits; bits &= bits - 1) {
        s->fp_extra[x * 32 + static_cast<size_t>(__builtin_ctz(bits))] += c;
      }
    }
  }
  // The smallest true positive count whose recall (tp / npig, in doubles
  // as accumulate compares it) reaches each recall threshold.
  s->need.resize(R);
  for (size_t r = 0; r < R; ++r) {
    const double thr = m.params.rec_thrs[r];
    const auto below = [&](uint64_t v) { return static_cast<double>(v) / npig_d < thr; };
    const double guess = std::ceil(thr * npig_d);
    if (std::isnan(thr)) {
      s->need[r] = 1;  // tp / npig < NaN is false: the first true positive
    } else if (!(guess < 4e18)) {
      s->need[r] = std::numeric_limits<uint64_t>::max();  // out of reach
    } else {
      uint64_t v = guess <= 0.0 ? 0 : static_cast<uint64_t>(guess);
      while (v > 0 && !below(v - 1)) --v;
      while (below(v)) ++v;
      s->need[r] = v;
    }
  }
  for (size_t t = 0; t < m.T; ++t) {
    rec[t * K + k] = any_det ? static_cast<double>(s->tp[t]) / npig_d : 0.0;
    for (size_t r = 0; r < R; ++r) prec[(t * R + r) * K + k] = 0.0;
    if (!any_det) continue;
    const std::vector<Block>& blocks = s->blocks[t];
    const size_t nb = blocks.size();
    std::vector<double>& env = s->env;
    env.resize(nb + 1);
    env[nb] = 0.0;
    for (size_t b = nb; b-- > 0;) {
      const double tpd = static_cast<double>(blocks[b].tp);
      const double pr = tpd / (static_cast<double>(blocks[b].fp) + tpd + kEps);
      env[b] = std::max(pr, env[b + 1]);
    }
    // accumulate.cc's searchsorted over positions, done over blocks: the
    // first position reaching a threshold lies in the first block whose
    // last position reaches it. Stops at the first threshold not reached.
    size_t b = 0;
    uint64_t prev_need = 0;
    for (size_t r = 0; r < R; ++r) {
      double q;
      if (m.params.rec_thrs[r] <= 0.0) {
        q = nb ? env[0] : 0.0;
      } else {
        const uint64_t need = s->need[r];
        if (need < prev_need) b = 0;  // unsorted thresholds
        prev_need = need;
        while (b < nb && blocks[b].tp < need) ++b;
        if (b >= nb) break;
        q = env[b];
      }
      prec[(t * R + r) * K + k] = q;
    }
  }
}

// summarize.cc's Summarize over the slots: the same values in the same
// order, so the same mean to the last bit. Categories [k0, k1).
double PlanMean(const BootstrapModel::Impl& m, const BootstrapModel::Impl::SpecPlan& plan,
                size_t k0, size_t k1, Scratch* s) {
  const size_t T = m.T, R = m.R, K = m.K;
  std::vector<double>& vals = s->vals;
  vals.clear();
  for (size_t slot : plan.slots) {
    for (size_t t : plan.ts) {
      if (plan.ap) {
        const double* p = s->prec.data() + (slot * T + t) * R * K;
        for (size_t r = 0; r < R; ++r) {
          for (size_t k = k0; k < k1; ++k) {
            const double v = p[r * K + k];
            if (v > -1) vals.push_back(v);
          }
        }
      } else {
        const double* q = s->rec.data() + (slot * T + t) * K;
        for (size_t k = k0; k < k1; ++k) {
          if (q[k] > -1) vals.push_back(q[k]);
        }
      }
    }
  }
  return vals.empty() ? -1.0
                      : PairwiseSum(vals.data(), vals.size()) / static_cast<double>(vals.size());
}

void ModelStats(const BootstrapModel::Impl& m, const uint32_t* w, Scratch* s, double* stats,
                double* cat0) {
  InitScratch(m, s);
  for (const CategoryData& c : m.cats) {
    s->npig.assign(m.A, 0);
    for (size_t i = 0; i < c.gt_img.size(); ++i) {
      const uint32_t x = w[c.gt_img[i]];
      if (x == 0) continue;
      for (size_t a = 0; a < m.A; ++a) s->npig[a] += uint64_t{x} * c.gt_npig[i * m.A + a];
    }
    bool any_det = false;
    for (uint32_t img : c.det_img) {
      if (w[img]) {
        any_det = true;
        break;
      }
    }
    for (const Curve& cv : c.curves) {
      CurveStats(m, c, cv, w, s->npig[cv.a], any_det && m.params.max_dets[cv.m] > 0, s);
    }
  }
  for (size_t i = 0; i < m.plans.size(); ++i) stats[i] = PlanMean(m, m.plans[i], 0, m.K, s);
  for (size_t k = 0; k < m.K; ++k) {
    cat0[k] = m.plans.empty() ? -1.0 : PlanMean(m, m.plans[0], k, k + 1, s);
  }
}

}  // namespace

BootstrapModel::BootstrapModel(const Evaluator& e) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  const EvalState& s = e.state();
  m.params = e.params();
  m.specs = e.stat_specs();
  const std::vector<int64_t>& images = *m.params.img_ids;
  m.N = images.size();
  m.T = s.iou_thrs.size();
  m.R = m.params.rec_thrs.size();
  m.K = s.cat_ids.size();
  m.A = s.num_areas();
  m.M = m.params.max_dets.size();
  m.W = s.words();
  if (m.params.max_dets.empty() || m.params.max_dets.back() > s.max_det) {
    throw InputError("bootstrap: maxDets exceed the ones the evaluation kept");
  }
  const std::vector<uint32_t> pos = GroupImagePositions(s, images);
  // Which (area, maxDets) curves the statistics read: precision for AP,
  // recall for AR.
  std::vector<uint8_t> need(m.A * m.M, 0);  // 1 recall, 2 precision
  for (const StatSpec& sp : m.specs) {
    for (size_t a = 0; a < m.A; ++a) {
      if (m.params.area_rng_lbl[a] != sp.area_lbl) continue;
      for (size_t mm = 0; mm < m.M; ++mm) {
        if (m.params.max_dets[mm] != sp.max_det) continue;
        need[a * m.M + mm] = std::max<uint8_t>(need[a * m.M + mm], sp.ap ? 2 : 1);
      }
    }
  }
  m.slot.assign(m.A * m.M, -1);
  for (size_t x = 0; x < m.A * m.M; ++x) {
    if (need[x]) m.slot[x] = static_cast<int>(m.num_slots++);
  }
  for (const StatSpec& sp : m.specs) {
    Impl::SpecPlan plan;
    plan.ap = sp.ap;
    for (size_t t = 0; t < m.T; ++t) {
      if (!sp.has_iou_thr || m.params.iou_thrs[t] == sp.iou_thr) plan.ts.push_back(t);
    }
    for (size_t a = 0; a < m.A; ++a) {
      if (m.params.area_rng_lbl[a] != sp.area_lbl) continue;
      for (size_t mm = 0; mm < m.M; ++mm) {
        if (m.params.max_dets[mm] == sp.max_det) {
          plan.slots.push_back(static_cast<size_t>(m.slot[a * m.M + mm]));
        }
      }
    }
    m.plans.push_back(std::move(plan));
  }
  const size_t AW = m.A * m.W;
  std::vector<uint32_t>& full = m.full;
  full.resize(m.W);
  for (size_t x = 0; x < m.W; ++x) {
    full[x] = (x + 1) * 32 <= m.T ? 0xFFFFFFFFu : ((1u << (m.T % 32)) - 1u);
  }
  std::vector<uint32_t> order, rank;
  size_t g = 0;
  while (g < s.num_groups()) {
    const size_t g_begin = g;
    const uint32_t k = s.group_cat[g];
    while (g < s.num_groups() && s.group_cat[g] == k) ++g;
    CategoryData c;
    c.k = k;
    const uint64_t e_begin = s.group_begin[g_begin], e_end = s.group_begin[g];
    const size_t n = e_end - e_begin;
    std::vector<uint32_t> entry_img(n);
    rank.resize(n);
    for (size_t h = g_begin; h < g; ++h) {
      bool has_gt = false;
      for (size_t a = 0; a < m.A; ++a) has_gt |= s.npig[h * m.A + a] > 0;
      if (has_gt) {
        c.gt_img.push_back(pos[h]);
        c.gt_npig.insert(c.gt_npig.end(), s.npig.begin() + h * m.A, s.npig.begin() + (h + 1) * m.A);
      }
      if (s.group_begin[h + 1] > s.group_begin[h]) c.det_img.push_back(pos[h]);
      for (uint64_t x = s.group_begin[h]; x < s.group_begin[h + 1]; ++x) {
        entry_img[x - e_begin] = pos[h];
        rank[x - e_begin] = static_cast<uint32_t>(x - s.group_begin[h]);
      }
    }
    // The global score order of the category, as Accumulate sorts it.
    SortByScoreDescending(s.score.data() + e_begin, n, &order);
    for (size_t a = 0; a < m.A; ++a) {
      for (size_t mm = 0; mm < m.M; ++mm) {
        if (!need[a * m.M + mm]) continue;
        Curve cv;
        cv.a = a;
        cv.m = mm;
        cv.precision = need[a * m.M + mm] == 2;
        const uint64_t max_det = static_cast<uint64_t>(m.params.max_dets[mm]);
        for (size_t j = 0; j < n; ++j) {
          const uint32_t o = order[j];
          if (rank[o] >= max_det) continue;
          const uint32_t* tpw = &s.tp_bits[(e_begin + o) * AW + a * m.W];
          const uint32_t* igw = &s.ig_bits[(e_begin + o) * AW + a * m.W];
          bool all_fp = true, all_ig = true, any_tp = false;
          for (size_t x = 0; x < m.W; ++x) {
            all_fp &= (tpw[x] | igw[x]) == 0;
            all_ig &= tpw[x] == 0 && igw[x] == full[x];
            any_tp |= tpw[x] != 0;
          }
          if (all_ig) continue;
          if (all_fp) {
            if (cv.precision) cv.fp_img.push_back(entry_img[o]);
            continue;
          }
          if (!cv.precision && !any_tp) continue;
          cv.img.push_back(entry_img[o]);
          cv.fp_before.push_back(static_cast<uint32_t>(cv.fp_img.size()));
          cv.tp.insert(cv.tp.end(), tpw, tpw + m.W);
          cv.ig.insert(cv.ig.end(), igw, igw + m.W);
        }
        c.curves.push_back(std::move(cv));
      }
    }
    m.cats.push_back(std::move(c));
  }
}

BootstrapModel::~BootstrapModel() = default;

size_t BootstrapModel::num_images() const { return impl_->N; }
size_t BootstrapModel::num_categories() const { return impl_->K; }
size_t BootstrapModel::num_stats() const { return impl_->specs.size(); }

void BootstrapModel::WeightedStats(const std::vector<uint32_t>& weights, std::vector<double>* stats,
                                   std::vector<double>* category_stat0) const {
  if (weights.size() != impl_->N) {
    throw InputError("bootstrap: " + std::to_string(weights.size()) + " weights for " +
                     std::to_string(impl_->N) + " evaluated images");
  }
  Scratch s;
  stats->assign(impl_->specs.size(), -1.0);
  category_stat0->assign(impl_->K, -1.0);
  ModelStats(*impl_, weights.data(), &s, stats->data(), category_stat0->data());
}

namespace {

// Names the first parameter two evaluations differ in, or returns "".
std::string ParamsDifference(const Params& a, const Params& b) {
  if (a.iou_type != b.iou_type) return "iouType";
  if (*a.img_ids != *b.img_ids) {
    return "imgIds (" + std::to_string(a.img_ids->size()) + " vs " +
           std::to_string(b.img_ids->size()) + " images)";
  }
  if (*a.cat_ids != *b.cat_ids) return "catIds";
  if (a.use_cats != b.use_cats) return "useCats";
  if (a.iou_thrs != b.iou_thrs) return "iouThrs";
  if (a.rec_thrs != b.rec_thrs) return "recThrs";
  if (a.max_dets != b.max_dets) return "maxDets";
  if (a.area_rng != b.area_rng) return "areaRng";
  if (a.area_rng_lbl != b.area_rng_lbl) return "areaRngLbl";
  if (a.kpt_oks_sigmas != b.kpt_oks_sigmas) return "kpt_oks_sigmas";
  return "";
}

void PointStats(const Evaluator& e, std::vector<double>* stats, std::vector<double>* cat0,
                int num_threads) {
  Accumulated own;
  const Accumulated* acc;
  if (e.accumulated()) {
    acc = &e.accumulation();
  } else {
    own = Accumulate(e.state(), e.params().rec_thrs, e.params().max_dets, num_threads);
    acc = &own;
  }
  *stats = Summarize(*acc, e.params(), e.stat_specs());
  const std::vector<double> per = PerCategoryStats(*acc, e.params(), e.stat_specs());
  cat0->assign(per.begin(), per.begin() + static_cast<std::ptrdiff_t>(acc->K));
}

DeltaInterval Interval(double a, double b, const std::vector<double>& sa,
                       const std::vector<double>& sb, size_t stride, size_t i, size_t n,
                       double confidence) {
  DeltaInterval d;
  d.a = a;
  d.b = b;
  d.delta = b - a;
  std::vector<double> deltas;
  deltas.reserve(n);
  for (size_t r = 0; r < n; ++r) {
    const double x = sa[r * stride + i], y = sb[r * stride + i];
    if (x > -1 && y > -1) deltas.push_back(y - x);
  }
  d.valid_samples = deltas.size();
  if (deltas.empty()) {
    d.lo = d.hi = std::nan("");
    return d;
  }
  std::sort(deltas.begin(), deltas.end());
  const double q = (1.0 - confidence) / 2.0;
  d.lo = Quantile(deltas, q);
  d.hi = Quantile(deltas, 1.0 - q);
  d.significant = d.lo > 0.0 || d.hi < 0.0;
  return d;
}

}  // namespace

ComparisonResult Compare(const Evaluator& a, const Evaluator& b, int64_t n_bootstrap, uint64_t seed,
                         double confidence, int num_threads) {
  if (n_bootstrap < 1) {
    throw InputError("compare: n_bootstrap must be >= 1, got " + std::to_string(n_bootstrap));
  }
  if (!(confidence > 0.0 && confidence < 1.0)) {
    throw InputError("compare: confidence must be in (0, 1), got " + std::to_string(confidence));
  }
  if (!a.evaluated()) throw InputError("compare: eval_a is not evaluated (run evaluate() first)");
  if (!b.evaluated()) throw InputError("compare: eval_b is not evaluated (run evaluate() first)");
  const std::string diff = ParamsDifference(a.params(), b.params());
  if (!diff.empty()) {
    throw InputError("compare: the two evaluations differ in params." + diff +
                     "; compare models evaluated on the same images with the same parameters");
  }
  const int threads = Threads(num_threads);
  const BootstrapModel ma(a), mb(b);
  ComparisonResult out;
  const size_t N = ma.num_images(), S = ma.num_stats(), K = ma.num_categories();
  const size_t n = static_cast<size_t>(n_bootstrap);
  out.num_images = N;
  std::vector<double> pa, pb, ca, cb;
  PointStats(a, &pa, &ca, threads);
  PointStats(b, &pb, &cb, threads);
  std::vector<double> sa(n * S), sb(n * S), ka(n * K), kb(n * K);
  // Every resample writes only its own rows: results do not depend on the
  // thread count.
  ParallelFor<PairScratch>(n, threads, 1, [&](size_t r, PairScratch& scratch) {
    const std::vector<uint32_t> w = ResampleWeights(seed, r, N);
    ModelStats(*ma.impl(), w.data(), &scratch.a, &sa[r * S], &ka[r * K]);
    ModelStats(*mb.impl(), w.data(), &scratch.b, &sb[r * S], &kb[r * K]);
  });
  for (size_t i = 0; i < S; ++i)
    out.stats.push_back(Interval(pa[i], pb[i], sa, sb, S, i, n, confidence));
  for (size_t k = 0; k < K; ++k) {
    out.per_category.push_back(Interval(ca[k], cb[k], ka, kb, K, k, n, confidence));
  }
  return out;
}

}  // namespace cocoeval
