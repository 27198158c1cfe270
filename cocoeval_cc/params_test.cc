#include "cocoeval_cc/params.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

namespace cocoeval {
namespace {

TEST(LinspaceTest, IouThresholdsMatchNumpy) {
  const std::vector<double> t = Linspace(0.5, 0.95, 10);
  const double numpy[10] = {0x1.0000000000000p-1, 0x1.199999999999ap-1, 0x1.3333333333333p-1,
                            0x1.4cccccccccccdp-1, 0x1.6666666666666p-1, 0x1.8000000000000p-1,
                            0x1.999999999999ap-1, 0x1.b333333333333p-1, 0x1.cccccccccccccp-1,
                            0x1.e666666666666p-1};
  ASSERT_EQ(t.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(t[i], numpy[i]) << i;
  EXPECT_EQ(t[8], 0.8999999999999999);
  EXPECT_EQ(t[5], 0.75);
}

TEST(LinspaceTest, RecallThresholdsMatchNumpy) {
  const std::vector<double> r = Linspace(0.0, 1.0, 101);
  ASSERT_EQ(r.size(), 101u);
  // The ten entries where numpy's i * 0.01 differs from i / 100.
  const std::pair<int, double> differing[] = {
      {35, 0x1.6666666666667p-2}, {41, 0x1.a3d70a3d70a3ep-2}, {47, 0x1.e147ae147ae15p-2},
      {57, 0x1.23d70a3d70a3ep-1}, {69, 0x1.6147ae147ae15p-1}, {70, 0x1.6666666666667p-1},
      {82, 0x1.a3d70a3d70a3ep-1}, {83, 0x1.a8f5c28f5c290p-1}, {94, 0x1.e147ae147ae15p-1},
      {95, 0x1.e666666666667p-1}};
  int num_differing = 0;
  for (int i = 0; i <= 100; ++i) {
    if (r[i] != i / 100.0) ++num_differing;
  }
  EXPECT_EQ(num_differing, 10);
  for (const auto& [i, v] : differing) EXPECT_EQ(r[i], v) << i;
  EXPECT_EQ(r[100], 1.0);
}

TEST(ParamsTest, Defaults) {
  Params p;
  EXPECT_EQ(p.max_dets, (std::vector<int64_t>{1, 10, 100}));
  EXPECT_EQ(p.area_rng.size(), 4u);
  EXPECT_EQ(p.area_rng[2][0], 1024.0);
  EXPECT_EQ(p.area_rng[3][1], 1e10);
  EXPECT_TRUE(p.use_cats);
}

TEST(ParamsTest, IouTypes) {
  EXPECT_EQ(ParseIouType("bbox"), IouType::kBbox);
  EXPECT_EQ(ParseIouType("segm"), IouType::kSegm);
  EXPECT_EQ(ParseIouType("keypoints"), IouType::kKeypoints);
  EXPECT_STREQ(IouTypeName(IouType::kKeypoints), "keypoints");
  EXPECT_THROW(ParseIouType("mask"), InputError);
}

TEST(ParamsTest, KeypointDefaultsAreSetKpParams) {
  const Params p = DefaultParams(IouType::kKeypoints);
  EXPECT_EQ(p.max_dets, (std::vector<int64_t>{20}));
  EXPECT_EQ(p.area_rng_lbl, (std::vector<std::string>{"all", "medium", "large"}));
  EXPECT_EQ(p.area_rng[1], (std::array<double, 2>{1024.0, 9216.0}));
  ASSERT_EQ(p.kpt_oks_sigmas.size(), 17u);
  // np.array([.26, ...]) / 10.0: .26 / 10 is 0.026000000000000002, not 0.026.
  EXPECT_EQ(p.kpt_oks_sigmas[0], 0.026000000000000002);
  EXPECT_EQ(p.kpt_oks_sigmas[11], 1.07 / 10.0);
  EXPECT_TRUE(DefaultParams(IouType::kBbox).kpt_oks_sigmas.empty());
}

TEST(ParamsTest, KeypointSigmasMustBePositiveAndFinite) {
  for (double bad : {0.0, -0.1, std::nan("")}) {
    Params p = DefaultParams(IouType::kKeypoints);
    p.kpt_oks_sigmas[3] = bad;
    EXPECT_THROW(NormalizeParams(&p), InputError) << bad;
  }
  Params empty = DefaultParams(IouType::kKeypoints);
  empty.kpt_oks_sigmas.clear();
  EXPECT_THROW(NormalizeParams(&empty), InputError);
}

TEST(ParamsTest, NormalizeSortsAndValidates) {
  Params p;
  p.max_dets = {100, 1, 10};
  NormalizeParams(&p);
  EXPECT_EQ(p.max_dets, (std::vector<int64_t>{1, 10, 100}));
  Params dup;
  dup.max_dets = {10, 10};
  EXPECT_THROW(NormalizeParams(&dup), InputError);
  Params labels;
  labels.area_rng_lbl = {"all", "all", "a", "b"};
  EXPECT_THROW(NormalizeParams(&labels), InputError);
  Params mismatch;
  mismatch.area_rng_lbl = {"all"};
  EXPECT_THROW(NormalizeParams(&mismatch), InputError);
  Params empty;
  empty.iou_thrs.clear();
  EXPECT_THROW(NormalizeParams(&empty), InputError);
}

}  // namespace
}  // namespace cocoeval
