#include "cocoeval_cc/summarize.h"

#include <gtest/gtest.h>

#include <vector>

namespace cocoeval {
namespace {

TEST(PairwiseSumTest, MatchesNumpyBitForBit) {
  // np.sum(np.array([1/(i+1) for i in range(n)]) * (1 + 1e-9)), as hex.
  const std::pair<size_t, double> numpy[] = {
      {1, 0x1.000000044b830p+0},    {5, 0x1.244444492b8aep+1},    {7, 0x1.4be2be31742e6p+1},
      {8, 0x1.5be2be31b8e69p+1},    {9, 0x1.6a1ba1c02edfap+1},    {100, 0x1.4bfdfe4b23095p+2},
      {128, 0x1.5bb8ae9b173e3p+2},  {129, 0x1.5c37b097214fdp+2},  {1000, 0x1.df11f46757f8fp+2},
      {8193, 0x1.32d373eba00b5p+3}, {80800, 0x1.7c1002107e0afp+3}};
  for (const auto& [n, expected] : numpy) {
    std::vector<double> a(n);
    for (size_t i = 0; i < n; ++i) a[i] = 1.0 / static_cast<double>(i + 1) * (1 + 1e-9);
    EXPECT_EQ(PairwiseSum(a.data(), n), expected) << n;
  }
}

TEST(PairwiseSumTest, DiffersFromNaiveSum) {
  // For n = 100 a running sum is off in the last bit (0x1.4bfdfe4b23097p+2).
  std::vector<double> a(100);
  double naive = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = 1.0 / static_cast<double>(i + 1) * (1 + 1e-9);
    naive += a[i];
  }
  EXPECT_NE(PairwiseSum(a.data(), a.size()), naive);
}

Accumulated TinyAccumulated() {
  Accumulated acc;
  acc.T = 2;
  acc.R = 2;
  acc.K = 2;
  acc.A = 2;
  acc.M = 2;
  acc.precision.assign(32, -1.0);
  acc.scores.assign(32, -1.0);
  acc.recall.assign(16, -1.0);
  return acc;
}

TEST(SummarizeTest, MeanOverEntriesAboveMinusOne) {
  Params p;
  p.iou_thrs = {0.5, 0.75};
  p.rec_thrs = {0.0, 1.0};
  p.max_dets = {1, 100};
  p.area_rng = {{0, 1e10}, {0, 1024}};
  p.area_rng_lbl = {"all", "small"};
  Accumulated acc = TinyAccumulated();
  // AP all/maxDet 100 over (t, r, k): category 1 has no ground truth.
  acc.precision[acc.PrecisionIndex(0, 0, 0, 0, 1)] = 1.0;
  acc.precision[acc.PrecisionIndex(0, 1, 0, 0, 1)] = 0.5;
  acc.precision[acc.PrecisionIndex(1, 0, 0, 0, 1)] = 0.25;
  acc.precision[acc.PrecisionIndex(1, 1, 0, 0, 1)] = 0.0;
  acc.recall[acc.RecallIndex(0, 0, 0, 0)] = 0.5;
  acc.recall[acc.RecallIndex(1, 0, 0, 0)] = 0.25;
  const auto specs = StatSpecs(p);
  // AP, AP50, AP75, AP small, AR@1, AR@100, AR small
  ASSERT_EQ(specs.size(), 7u);
  const std::vector<double> stats = Summarize(acc, p, specs);
  EXPECT_EQ(stats[0], (1.0 + 0.5 + 0.25 + 0.0) / 4);
  EXPECT_EQ(stats[1], 0.75);
  EXPECT_EQ(stats[2], 0.125);
  EXPECT_EQ(stats[3], -1.0);  // no small ground truth
  EXPECT_EQ(stats[4], 0.375);
  EXPECT_EQ(stats[5], -1.0);
  const std::vector<double> per_cat = PerCategoryStats(acc, p, specs);
  ASSERT_EQ(per_cat.size(), 7u * 2);
  EXPECT_EQ(per_cat[0 * 2 + 0], stats[0]);
  EXPECT_EQ(per_cat[0 * 2 + 1], -1.0);
  EXPECT_EQ(per_cat[4 * 2 + 0], 0.375);
}

TEST(SummarizeTest, DefaultSpecsAreTheTwelveStats) {
  Params p;
  const auto specs = StatSpecs(p);
  ASSERT_EQ(specs.size(), 12u);
  EXPECT_EQ(specs[0].Describe(p),
            " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]");
  EXPECT_EQ(specs[1].Describe(p),
            " Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ]");
  EXPECT_EQ(specs[6].Describe(p),
            " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ]");
  EXPECT_EQ(specs[11].Describe(p),
            " Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]");
}

}  // namespace
}  // namespace cocoeval
