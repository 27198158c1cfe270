#include "cocoeval_cc/oks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace cocoeval {
namespace {

// numpy's results for the same inputs (pycocotools 2.0.11 computeOks, numpy
// 2.4, glibc exp), as hexadecimal doubles.
TEST(OksTest, VariancesAreTwiceSigmaSquared) {
  const std::vector<double> vars = OksVariances({0.026, 0.107});
  EXPECT_EQ(vars[0], (0.026 * 2) * (0.026 * 2));
  EXPECT_EQ(vars[1], (0.107 * 2) * (0.107 * 2));
}

TEST(OksTest, IdenticalVisibleKeypointsGiveOne) {
  const std::vector<double> vars = OksVariances({0.1, 0.2, 0.3});
  const double gt_xyv[9] = {1, 2, 2, 3, 4, 1, 5, 6, 2};
  const double dt_xy[6] = {1, 2, 3, 4, 5, 6};
  const double box[4] = {0, 0, 10, 10};
  double scratch[3];
  EXPECT_EQ(Oks(dt_xy, {gt_xyv, box, 100.0}, vars, scratch), 1.0);
}

TEST(OksTest, OnlyVisibleKeypointsCount) {
  // Keypoint 1 is unlabelled (v = 0): its distance does not matter, and the
  // mean is over the two labelled ones.
  const std::vector<double> vars = OksVariances({0.1, 0.1, 0.1});
  const double gt_xyv[9] = {0, 0, 2, 50, 50, 0, 10, 0, 1};
  const double dt_xy[6] = {0, 0, 999, 999, 13, 4};
  const double box[4] = {0, 0, 10, 10};
  double scratch[3];
  const double area = 200.0;
  const double var = (0.1 * 2) * (0.1 * 2);
  const double e = (3.0 * 3.0 + 4.0 * 4.0) / var / (area + 2.220446049250313e-16) / 2;
  const double expected = (std::exp(-0.0) + std::exp(-e)) / 2;
  EXPECT_EQ(Oks(dt_xy, {gt_xyv, box, area}, vars, scratch), expected);
}

TEST(OksTest, NoVisibleKeypointsMeasureToTheEnlargedBox) {
  // Box [10, 20, 4, 6]: the region is x in [6, 18], y in [14, 32]. A
  // keypoint inside counts as distance 0; outside, the distance to it.
  const std::vector<double> vars = OksVariances({0.5, 0.5});
  const double gt_xyv[6] = {0, 0, 0, 0, 0, 0};
  const double box[4] = {10, 20, 4, 6};
  const double dt_xy[4] = {7, 30, 20, 10};  // inside; 2 right of and 4 above
  double scratch[2];
  const double area = 24.0;
  const double e1 = (2.0 * 2.0 + 4.0 * 4.0) / 1.0 / (area + 2.220446049250313e-16) / 2;
  EXPECT_EQ(Oks(dt_xy, {gt_xyv, box, area}, vars, scratch), (1.0 + std::exp(-e1)) / 2);
}

TEST(OksTest, SeventeenKeypointsUseNumpysPairwiseSum) {
  // 17 terms: numpy sums 8 lanes, combines them pairwise, then adds the
  // 17th (a running sum gives ...95dp-1). numpy: 0x1.1ba389adfc95cp-1.
  std::vector<double> sigmas(17);
  for (int j = 0; j < 17; ++j) sigmas[j] = (j + 1) / 100.0;
  const std::vector<double> vars = OksVariances(sigmas);
  std::vector<double> gt_xyv, dt_xy;
  for (int j = 0; j < 17; ++j) {
    gt_xyv.insert(gt_xyv.end(), {10.0 * j, 5.0 * j, 2.0});
    dt_xy.insert(dt_xy.end(), {10.0 * j + 0.3 * j, 5.0 * j - 1.7});
  }
  const double box[4] = {0, 0, 160, 80};
  std::vector<double> scratch(17);
  const double got = Oks(dt_xy.data(), {gt_xyv.data(), box, 333.5}, vars, scratch.data());
  EXPECT_EQ(got, 0x1.1ba389adfc95cp-1) << std::hexfloat << got;
}

TEST(OksTest, MatrixIsDetectionsByGroundTruth) {
  const std::vector<double> vars = OksVariances({0.1});
  const double g0[3] = {0, 0, 2}, g1[3] = {100, 100, 2};
  const double box[4] = {0, 0, 1, 1};
  const OksGroundTruth gts[2] = {{g0, box, 50.0}, {g1, box, 50.0}};
  const double d0[2] = {0, 0}, d1[2] = {100, 100}, d2[2] = {1, 0};
  const double* dts[3] = {d0, d1, d2};
  std::vector<double> out(6), scratch;
  OksMatrix(dts, 3, gts, 2, vars, out.data(), &scratch);
  EXPECT_EQ(out[0], 1.0);
  EXPECT_EQ(out[3], 1.0);
  EXPECT_LT(out[1], 1e-100);
  EXPECT_LT(out[4], 1.0);
  EXPECT_GT(out[4], 0.0);
}

}  // namespace
}  // namespace cocoeval
