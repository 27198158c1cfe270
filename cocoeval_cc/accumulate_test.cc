#include "cocoeval_cc/accumulate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "cocoeval_cc/params.h"

namespace cocoeval {
namespace {

// pycocotools' accumulate() written out literally (full arrays, envelope
// loop, searchsorted), to check the event-based implementation against.
Accumulated Reference(const EvalState& s, const std::vector<double>& rec_thrs,
                      const std::vector<int64_t>& max_dets) {
  Accumulated out;
  out.T = s.iou_thrs.size();
  out.R = rec_thrs.size();
  out.K = s.cat_ids.size();
  out.A = s.area_rng.size();
  out.M = max_dets.size();
  out.precision.assign(out.T * out.R * out.K * out.A * out.M, -1);
  out.scores = out.precision;
  out.recall.assign(out.T * out.K * out.A * out.M, -1);
  const size_t A = out.A, W = s.words();
  for (size_t k = 0; k < out.K; ++k) {
    for (size_t a = 0; a < A; ++a) {
      for (size_t m = 0; m < out.M; ++m) {
        std::vector<uint64_t> entries;
        uint64_t npig = 0;
        bool any = false;
        for (size_t g = 0; g < s.num_groups(); ++g) {
          if (s.group_cat[g] != k) continue;
          any = true;
          npig += s.npig[g * A + a];
          for (uint64_t e = s.group_begin[g];
               e < s.group_begin[g + 1] &&
               e - s.group_begin[g] < static_cast<uint64_t>(max_dets[m]);
               ++e) {
            entries.push_back(e);
          }
        }
        if (!any || npig == 0) continue;
        std::stable_sort(entries.begin(), entries.end(),
                         [&](uint64_t x, uint64_t y) { return -s.score[x] < -s.score[y]; });
        const size_t nd = entries.size();
        for (size_t t = 0; t < out.T; ++t) {
          std::vector<double> tp(nd), fp(nd);
          double ctp = 0, cfp = 0;
          for (size_t j = 0; j < nd; ++j) {
            const size_t idx = (entries[j] * A + a) * W + t / 32;
            const bool is_tp = (s.tp_bits[idx] >> (t % 32)) & 1;
            const bool is_ig = (s.ig_bits[idx] >> (t % 32)) & 1;
            ctp += is_tp;
            cfp += !is_tp && !is_ig;
            tp[j] = ctp;
            fp[j] = cfp;
          }
          std::vector<double> rc(nd), pr(nd);
          for (size_t j = 0; j < nd; ++j) {
            rc[j] = tp[j] / static_cast<double>(npig);
            pr[j] = tp[j] / (fp[j] + tp[j] + 2.220446049250313e-16);
          }
          out.recall[out.RecallIndex(t, k, a, m)] = nd ? rc[nd - 1] : 0;
          for (size_t i = nd; i-- > 1;) {
            if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
          }
          std::vector<double> q(out.R, 0), ss(out.R, 0);
          for (size_t r = 0; r < out.R; ++r) {
            const size_t pi = std::lower_bound(rc.begin(), rc.end(), rec_thrs[r]) - rc.begin();
            if (pi >= nd) break;
            q[r] = pr[pi];
            ss[r] = s.score[entries[pi]];
          }
          for (size_t r = 0; r < out.R; ++r) {
            out.precision[out.PrecisionIndex(t, r, k, a, m)] = q[r];
            out.scores[out.PrecisionIndex(t, r, k, a, m)] = ss[r];
          }
        }
      }
    }
  }
  return out;
}

EvalState RandomState(std::mt19937* rng, size_t T) {
  EvalState s;
  s.iou_thrs = Linspace(0.5, 0.95, T);
  s.area_rng = {{0, 1e10}, {0, 1024}, {1024, 1e10}};
  s.cat_ids = {1, 2, 3};
  s.max_det = 7;
  const size_t A = s.area_rng.size(), W = s.words();
  s.group_begin.push_back(0);
  std::uniform_int_distribution<int> coin(0, 9);
  for (uint32_t k = 0; k < 3; ++k) {
    if (k == 1) continue;  // a category without any group
    for (int64_t img = 0; img < 12; ++img) {
      if (coin(*rng) < 3) continue;
      s.group_cat.push_back(k);
      s.group_image.push_back(img * 3);
      const size_t n = coin(*rng) % 8;
      for (size_t a = 0; a < A; ++a) s.npig.push_back(coin(*rng) % 4);
      std::vector<double> scores;
      for (size_t i = 0; i < n; ++i) scores.push_back((coin(*rng) % 5) / 4.0);  // many ties
      std::sort(scores.rbegin(), scores.rend());
      for (size_t i = 0; i < n; ++i) {
        s.score.push_back(scores[i]);
        for (size_t a = 0; a < A; ++a) {
          for (size_t w = 0; w < W; ++w) {
            uint32_t tp = 0, ig = 0;
            for (size_t t = w * 32; t < std::min(T, w * 32 + 32); ++t) {
              const int c = coin(*rng);
              if (c < 4)
                tp |= 1u << (t % 32);
              else if (c < 6)
                ig |= 1u << (t % 32);
            }
            s.tp_bits.push_back(tp);
            s.ig_bits.push_back(ig);
          }
        }
      }
      s.group_begin.push_back(s.group_begin.back() + n);
    }
  }
  return s;
}

TEST(AccumulateTest, MatchesLiteralPycocotoolsAlgorithm) {
  std::mt19937 rng(42);
  for (int iter = 0; iter < 200; ++iter) {
    const size_t T = iter % 3 == 0 ? 40 : 10;  // also more than 32 thresholds
    const EvalState s = RandomState(&rng, T);
    const std::vector<double> rec = Linspace(0, 1, 101);
    const std::vector<int64_t> md = {1, 3, 7};
    const Accumulated got = Accumulate(s, rec, md, 1 + iter % 3);
    const Accumulated want = Reference(s, rec, md);
    ASSERT_EQ(got.precision, want.precision) << iter;
    ASSERT_EQ(got.scores, want.scores) << iter;
    ASSERT_EQ(got.recall, want.recall) << iter;
  }
}

TEST(AccumulateTest, UnsortedRecallThresholdsStopAtFirstMiss) {
  std::mt19937 rng(7);
  const EvalState s = RandomState(&rng, 10);
  const std::vector<double> rec = {0.9, 0.1, 0.5, 1.0, 0.0};
  const std::vector<int64_t> md = {7};
  const Accumulated got = Accumulate(s, rec, md, 1);
  const Accumulated want = Reference(s, rec, md);
  EXPECT_EQ(got.precision, want.precision);
  EXPECT_EQ(got.scores, want.scores);
}

TEST(AccumulateTest, EpsilonMattersWhenOneDetection) {
  // One detection, a true positive: precision is 1 / (1 + eps), not 1.
  EvalState s;
  s.iou_thrs = {0.5};
  s.area_rng = {{0, 1e10}};
  s.cat_ids = {1};
  s.max_det = 100;
  s.group_cat = {0};
  s.group_image = {1};
  s.group_begin = {0, 1};
  s.npig = {1};
  s.score = {0.5};
  s.tp_bits = {1};
  s.ig_bits = {0};
  const Accumulated acc = Accumulate(s, {0.0, 1.0}, {100}, 1);
  EXPECT_EQ(acc.precision[0], 1.0 / (1.0 + 2.220446049250313e-16));
  EXPECT_LT(acc.precision[0], 1.0);
  EXPECT_EQ(acc.recall[0], 1.0);
  EXPECT_EQ(acc.scores[1], 0.5);
}

TEST(SortTest, StableDescendingWithTiesAndSignedZero) {
  for (size_t n : {5u, 300u, 5000u}) {
    std::vector<double> scores(n);
    for (size_t i = 0; i < n; ++i) scores[i] = (i * 7919 % 13) / 4.0 - 1.0;
    scores[1] = -0.0;
    scores[3] = 0.0;
    std::vector<uint32_t> order;
    SortByScoreDescending(scores.data(), n, &order);
    std::vector<uint32_t> want(n);
    std::iota(want.begin(), want.end(), 0);
    std::stable_sort(want.begin(), want.end(),
                     [&](uint32_t a, uint32_t b) { return -scores[a] < -scores[b]; });
    EXPECT_EQ(order, want) << n;
  }
}

}  // namespace
}  // namespace cocoeval
