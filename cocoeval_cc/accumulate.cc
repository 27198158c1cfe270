#include "cocoeval_cc/accumulate.h"

#include <algorithm>
#include <cstring>

#include "cocoeval_cc/errors.h"
#include "cocoeval_cc/parallel_for.h"

namespace cocoeval {
namespace {

// np.spacing(1): the epsilon pycocotools adds to tp + fp.
constexpr double kEps = 2.220446049250313e-16;

// Maps doubles to unsigned keys whose order is the numeric order; -0.0 and
// 0.0 get the same key since numpy's sort treats them as equal.
inline uint64_t OrderedBits(double x) {
  x += 0.0;  // -0.0 -> +0.0
  uint64_t u;
  std::memcpy(&u, &x, sizeof(u));
  return (u >> 63) ? ~u : (u | (uint64_t{1} << 63));
}

// Per-category scratch, reused across categories on one thread.
struct Work {
  std::vector<uint32_t> order;                // entries (offsets from the first), sorted
  std::vector<uint32_t> entry_rank;           // entry's position in its group
  std::vector<uint32_t> rank;                 // the same, in sorted order
  std::vector<double> score;                  // sorted scores
  std::vector<uint32_t> tp, ig;               // sorted words: [j][a][w]
  std::vector<uint32_t> tp_count, fp_extra;   // per threshold
  std::vector<std::vector<uint32_t>> ev_fp;   // per threshold, per true positive
  std::vector<std::vector<double>> ev_score;  // score at each true positive
  std::vector<double> env;
};

// Precision / recall / scores of one (category, area, maxDet) slice.
void SliceCurves(size_t k, size_t a, size_t m, uint64_t max_det, double npig_d,
                 const std::vector<double>& rec_thrs, Accumulated* out, Work* w) {
  const size_t A = out->A, R = out->R, T = out->T;
  const size_t W = (T + 31) / 32;
  std::vector<uint32_t> full(W);
  for (size_t x = 0; x < W; ++x) {
    full[x] = (x + 1) * 32 <= T ? 0xFFFFFFFFu : ((1u << (T % 32)) - 1u);
  }
  for (size_t t = 0; t < T; ++t) {
    w->tp_count[t] = 0;
    w->fp_extra[t] = 0;
    w->ev_fp[t].clear();
    w->ev_score[t].clear();
  }
  // One pass over the sorted detections for all thresholds. Most are a
  // false positive at every threshold (counted once in fp_all) or ignored at
  // every threshold (no effect); only the rest are looked at per threshold.
  uint32_t fp_all = 0;
  uint32_t nd = 0;
  double first_score = 0.0;
  const size_t n = w->order.size();
  for (size_t j = 0; j < n; ++j) {
    if (w->rank[j] >= max_det) continue;
    if (nd++ == 0) first_score = w->score[j];
    const uint32_t* tpw = &w->tp[(j * A + a) * W];
    const uint32_t* igw = &w->ig[(j * A + a) * W];
    bool all_fp = true, all_ig = true;
    for (size_t x = 0; x < W; ++x) {
      all_fp &= (tpw[x] | igw[x]) == 0;
      all_ig &= tpw[x] == 0 && igw[x] == full[x];
    }
    if (all_fp) {
      ++fp_all;
      continue;
    }
    if (all_ig) continue;
    for (size_t t = 0; t < T; ++t) {
      const uint32_t x = (tpw[t / 32] >> (t % 32)) & 1u;
      const uint32_t y = (igw[t / 32] >> (t % 32)) & 1u;
      if (x) {
        ++w->tp_count[t];
        w->ev_fp[t].push_back(fp_all + w->fp_extra[t]);
        w->ev_score[t].push_back(w->score[j]);
      } else if (!y) {
        ++w->fp_extra[t];
      }
    }
  }
  for (size_t t = 0; t < T; ++t) {
    const size_t nev = w->ev_fp[t].size();
    out->recall[out->RecallIndex(t, k, a, m)] =
        nd ? static_cast<double>(w->tp_count[t]) / npig_d : 0.0;
    // The slice is overwritten as a whole: zero past the last match.
    for (size_t r = 0; r < R; ++r) {
      const size_t pi = out->PrecisionIndex(t, r, k, a, m);
      out->precision[pi] = 0.0;
      out->scores[pi] = 0.0;
    }
    if (nd == 0) continue;
    // Precision only rises at true positives, so the right-to-left maximum
    // at any position is the maximum over the true positives from there on
    // (env[v] for the v-th, 1-based).
    std::vector<double>& env = w->env;
    env.resize(nev + 2);
    env[nev + 1] = 0.0;
    for (size_t v = nev; v >= 1; --v) {
      const double tpd = static_cast<double>(v);
      const double pr = tpd / (static_cast<double>(w->ev_fp[t][v - 1]) + tpd + kEps);
      env[v] = std::max(pr, env[v + 1]);
    }
    // searchsorted(rc, recThrs, side='left'); stop at the first miss.
    size_t v = 1;
    double prev_thr = -1.0;
    for (size_t r = 0; r < R; ++r) {
      const double thr = rec_thrs[r];
      double q, score;
      if (thr <= 0.0) {
        q = nev ? env[1] : 0.0;
        score = first_score;
      } else {
        if (!(thr >= prev_thr)) v = 1;
        prev_thr = thr;
        while (v <= nev && static_cast<double>(v) / npig_d < thr) ++v;
        if (v > nev) break;
        q = env[v];
        score = w->ev_score[t][v - 1];
      }
      const size_t pi = out->PrecisionIndex(t, r, k, a, m);
      out->precision[pi] = q;
      out->scores[pi] = score;
    }
  }
}

void CategoryCurves(const EvalState& s, size_t k, size_t g_begin, size_t g_end,
                    const std::vector<double>& rec_thrs, const std::vector<int64_t>& max_dets,
                    Accumulated* out, Work* w) {
  const size_t A = out->A, M = out->M, T = out->T;
  const size_t AW = A * s.words();
  const uint64_t e_begin = s.group_begin[g_begin];
  const uint64_t e_end = s.group_begin[g_end];
  const size_t n = e_end - e_begin;
  // Concatenation over images is entry order; sort it by score, stably,
  // then lay the entries out in that order once.
  SortByScoreDescending(s.score.data() + e_begin, n, &w->order);
  w->entry_rank.resize(n);
  for (size_t g = g_begin; g < g_end; ++g) {
    for (uint64_t e = s.group_begin[g]; e < s.group_begin[g + 1]; ++e) {
      w->entry_rank[e - e_begin] = static_cast<uint32_t>(e - s.group_begin[g]);
    }
  }
  w->rank.resize(n);
  w->score.resize(n);
  w->tp.resize(n * AW);
  w->ig.resize(n * AW);
  for (size_t j = 0; j < n; ++j) {
    const uint32_t o = w->order[j];
    w->rank[j] = w->entry_rank[o];
    w->score[j] = s.score[e_begin + o];
    std::memcpy(&w->tp[j * AW], &s.tp_bits[(e_begin + o) * AW], AW * sizeof(uint32_t));
    std::memcpy(&w->ig[j * AW], &s.ig_bits[(e_begin + o) * AW], AW * sizeof(uint32_t));
  }
  w->tp_count.resize(T);
  w->fp_extra.resize(T);
  w->ev_fp.resize(T);
  w->ev_score.resize(T);
  for (size_t a = 0; a < A; ++a) {
    uint64_t npig = 0;
    for (size_t g = g_begin; g < g_end; ++g) npig += s.npig[g * A + a];
    if (npig == 0) continue;  // no ground truth: the slice stays -1
    for (size_t m = 0; m < M; ++m) {
      SliceCurves(k, a, m, static_cast<uint64_t>(max_dets[m]), static_cast<double>(npig), rec_thrs,
                  out, w);
    }
  }
}

}  // namespace

void SortByScoreDescending(const double* scores, size_t n, std::vector<uint32_t>* order) {
  order->resize(n);
  for (size_t i = 0; i < n; ++i) (*order)[i] = static_cast<uint32_t>(i);
  if (n < 256) {
    std::stable_sort(order->begin(), order->end(), [&](uint32_t a, uint32_t b) {
      return OrderedBits(scores[a]) > OrderedBits(scores[b]);
    });
    return;
  }
  // LSD radix sort on the inverted key (ascending key = descending score);
  // stable, and passes whose digit is constant are skipped.
  thread_local std::vector<uint64_t> keys, tmp_keys;
  thread_local std::vector<uint32_t> tmp;
  keys.resize(n);
  tmp_keys.resize(n);
  tmp.resize(n);
  for (size_t i = 0; i < n; ++i) keys[i] = ~OrderedBits(scores[i]);
  constexpr int kBits = 11;
  constexpr size_t kBuckets = size_t{1} << kBits;
  std::vector<uint32_t> count(kBuckets);
  for (int shift = 0; shift < 64; shift += kBits) {
    std::fill(count.begin(), count.end(), 0);
    for (size_t i = 0; i < n; ++i) ++count[(keys[i] >> shift) & (kBuckets - 1)];
    if (count[(keys[0] >> shift) & (kBuckets - 1)] == n) continue;
    uint32_t sum = 0;
    for (size_t b = 0; b < kBuckets; ++b) {
      const uint32_t c = count[b];
      count[b] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; ++i) {
      const uint32_t dst = count[(keys[i] >> shift) & (kBuckets - 1)]++;
      tmp_keys[dst] = keys[i];
      tmp[dst] = (*order)[i];
    }
    keys.swap(tmp_keys);
    order->swap(tmp);
  }
}

Accumulated Accumulate(const EvalState& s, const std::vector<double>& rec_thrs,
                       const std::vector<int64_t>& max_dets, int num_threads) {
  if (max_dets.empty() || max_dets.back() > s.max_det) {
    throw InputError("accumulate: maxDets exceed the ones the evaluation kept");
  }
  Accumulated out;
  out.T = s.iou_thrs.size();
  out.R = rec_thrs.size();
  out.K = s.cat_ids.size();
  out.A = s.num_areas();
  out.M = max_dets.size();
  out.precision.assign(out.T * out.R * out.K * out.A * out.M, -1.0);
  out.scores.assign(out.precision.size(), -1.0);
  out.recall.assign(out.T * out.K * out.A * out.M, -1.0);
  // Group range of each category (groups are sorted by category).
  std::vector<size_t> cat_begin(out.K + 1, s.num_groups());
  for (size_t g = s.num_groups(); g-- > 0;) cat_begin[s.group_cat[g]] = g;
  for (size_t k = out.K; k-- > 0;) cat_begin[k] = std::min(cat_begin[k], cat_begin[k + 1]);

  // Largest categories first, so threads finish together.
  std::vector<uint32_t> cats;
  for (size_t k = 0; k < out.K; ++k) {
    if (cat_begin[k + 1] > cat_begin[k]) cats.push_back(static_cast<uint32_t>(k));
  }
  std::stable_sort(cats.begin(), cats.end(), [&](uint32_t a, uint32_t b) {
    return s.group_begin[cat_begin[a + 1]] - s.group_begin[cat_begin[a]] >
           s.group_begin[cat_begin[b + 1]] - s.group_begin[cat_begin[b]];
  });
  ParallelFor<Work>(cats.size(), num_threads, /*block_size=*/1, [&](size_t i, Work& w) {
    const size_t k = cats[i];
    CategoryCurves(s, k, cat_begin[k], cat_begin[k + 1], rec_thrs, max_dets, &out, &w);
  });
  return out;
}

}  // namespace cocoeval
