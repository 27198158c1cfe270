#include "cocoeval_cc/tide.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cocoeval_cc/errors.h"
#include "cocoeval_cc/evaluator.h"

namespace cocoeval {
namespace {

// One ground truth or detection: image id, category id, box, crowd / score.
struct Box {
  int image, cat;
  double x, y, w, h;
  double score_or_crowd;
};

std::string BoxJson(const Box& b) {
  return "[" + std::to_string(b.x) + "," + std::to_string(b.y) + "," + std::to_string(b.w) + "," +
         std::to_string(b.h) + "]";
}

std::shared_ptr<GroundTruth> MakeGt(int num_images, const std::vector<Box>& anns) {
  std::string j = "{\"images\":[";
  for (int i = 1; i <= num_images; ++i) {
    j += (i > 1 ? "," : "") + std::string("{\"id\":") + std::to_string(i) +
         ",\"width\":100,\"height\":100}";
  }
  j += "],\"categories\":[{\"id\":1,\"name\":\"a\"},{\"id\":2,\"name\":\"b\"}],\"annotations\":[";
  for (size_t k = 0; k < anns.size(); ++k) {
    const Box& b = anns[k];
    j += (k ? "," : "") + std::string("{\"id\":") + std::to_string(k + 1) +
         ",\"image_id\":" + std::to_string(b.image) + ",\"category_id\":" + std::to_string(b.cat) +
         ",\"bbox\":" + BoxJson(b) + ",\"area\":" + std::to_string(b.w * b.h) +
         ",\"iscrowd\":" + (b.score_or_crowd != 0 ? "1" : "0") + "}";
  }
  j += "]}";
  return std::shared_ptr<GroundTruth>(LoadGroundTruthBuffer(j, "gt"));
}

std::shared_ptr<Detections> MakeDt(const GroundTruth& gt, const std::vector<Box>& dets) {
  std::string j = "[";
  for (size_t k = 0; k < dets.size(); ++k) {
    const Box& b = dets[k];
    j += (k ? "," : "") + std::string("{\"image_id\":") + std::to_string(b.image) +
         ",\"category_id\":" + std::to_string(b.cat) + ",\"bbox\":" + BoxJson(b) +
         ",\"score\":" + std::to_string(b.score_or_crowd) + "}";
  }
  j += "]";
  return std::shared_ptr<Detections>(LoadDetectionsBuffer(gt, j, "dt", 1));
}

TideResult RunTide(int num_images, const std::vector<Box>& gts, const std::vector<Box>& dets,
                   int num_threads = 1, double pos_thr = 0.5, double bg_thr = 0.1) {
  auto gt = MakeGt(num_images, gts);
  auto dt = MakeDt(*gt, dets);
  Evaluator e(gt, dt, DefaultParams(IouType::kBbox), num_threads);
  e.Evaluate();
  return ComputeTide(e, pos_thr, bg_thr, num_threads);
}

std::array<int64_t, kTideNumErrors> Counts(int cls, int loc, int both, int dupe, int bkg,
                                           int miss) {
  return {cls, loc, both, dupe, bkg, miss};
}

TEST(TideApTest, FollowsTidecvsRiemannSum) {
  EXPECT_DOUBLE_EQ(TideAp({1, 1}, 2), 1.0);
  EXPECT_DOUBLE_EQ(TideAp({}, 3), 0.0);
  EXPECT_DOUBLE_EQ(TideAp({0, 1}, 0), 0.0);  // no ground truth: 0, not -1
  // Recall 1/2 at precision 1: recall points 0 .. 0.50 (51 of 101).
  EXPECT_DOUBLE_EQ(TideAp({1, 0}, 2), 51.0 / 101.0);
  // A false positive first: precision 1/2 up to recall 1.
  EXPECT_DOUBLE_EQ(TideAp({0, 1}, 1), 0.5);
}

TEST(TideApTest, OnePassEqualsTheForwardDefinition) {
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    const size_t n = rng() % 40;
    std::vector<uint8_t> tp(n);
    int64_t positives = 0;
    for (auto& v : tp) positives += v = rng() % 3 == 0;
    const int64_t num_gt = positives + static_cast<int64_t>(rng() % 5) - (round % 7 == 0 ? 1 : 0);
    EXPECT_EQ(TideApOnePass(tp, num_gt), TideAp(tp, num_gt)) << round;  // bit for bit
  }
}

TEST(TideTest, PerfectDetectionHasNoErrors) {
  const TideResult r = RunTide(1, {{1, 1, 0, 0, 10, 10, 0}}, {{1, 1, 0, 0, 10, 10, 0.9}});
  EXPECT_DOUBLE_EQ(r.overall.ap, 1.0);
  EXPECT_EQ(r.overall.counts, Counts(0, 0, 0, 0, 0, 0));
  for (double d : r.overall.delta_ap) EXPECT_DOUBLE_EQ(d, 0.0);
}

TEST(TideTest, ClassificationError) {
  // The right box with the wrong category: category 1 (AP 0) and category 2
  // (a false positive, no ground truth: AP 0). Fixing it gives category 1 a
  // true positive and leaves category 2 empty, out of the mean.
  const TideResult r = RunTide(1, {{1, 1, 0, 0, 10, 10, 0}}, {{1, 2, 0, 0, 10, 10, 0.9}});
  EXPECT_DOUBLE_EQ(r.overall.ap, 0.0);
  EXPECT_EQ(r.overall.counts, Counts(1, 0, 0, 0, 0, 0));  // found, so not missed
  EXPECT_DOUBLE_EQ(r.overall.delta_ap[kTideCls], 1.0);
  EXPECT_DOUBLE_EQ(r.overall.delta_ap[kTideLoc], 0.0);
  ASSERT_EQ(r.categories.size(), 2u);
  EXPECT_EQ(r.per_category[1].counts[kTideCls], 1);  // the detection's own category
  EXPECT_DOUBLE_EQ(r.per_category[0].delta_ap[kTideCls], 1.0);
}

TEST(TideTest, LocalisationError) {
  // IoU 0.3 with the ground truth of its category.
  const TideResult r = RunTide(1, {{1, 1, 0, 0, 10, 10, 0}}, {{1, 1, 0, 0, 10, 3, 0.9}});
  EXPECT_EQ(r.overall.counts, Counts(0, 1, 0, 0, 0, 0));
  EXPECT_DOUBLE_EQ(r.overall.delta_ap[kTideLoc], 1.0);
  EXPECT_DOUBLE_EQ(r.overall.delta_ap[kTideMiss], 0.0);
  // tidecv's FN oracle drops the unmatched ground truth from the count,
  // leaving a category with one false positive and no ground truth: AP 0.
  EXPECT_DOUBLE_EQ(r.overall.delta_ap[kTideFn], 0.0);
}

TEST(TideTest, BothError) {
  // Wrong category and IoU 0.3.
  const TideResult r = RunTide(1, {{1, 1, 0, 0, 10, 10, 0}}, {{1, 2, 0, 0, 10, 3, 0.9}});
  EXPECT_EQ(r.overall.counts, Counts(0, 0, 1, 0, 0, 1));
}

TEST(TideTest, DuplicateError) {
  const TideResult r =
      RunTide(1, {{1, 1, 0, 0, 10, 10, 0}}, {{1, 1, 0, 0, 10, 10, 0.9}, {1, 1, 0, 0, 10, 9, 0.8}});
  EXPECT_EQ(r.overall.counts, Counts(0, 0, 0, 1, 0, 0));
  // Precision 1/2 at the end does not lower the interpolated AP.
  EXPECT_DOUBLE_EQ(r.overall.ap, 1.0);
  EXPECT_DOUBLE_EQ(r.overall.delta_ap[kTideDupe], 0.0);
}

TEST(TideTest, BackgroundErrorRankedFirstCostsHalfTheAp) {
  const TideResult r = RunTide(1, {{1, 1, 0, 0, 10, 10, 0}},
                               {{1, 1, 50, 50, 10, 10, 0.95}, {1, 1, 0, 0, 10, 10, 0.9}});
  EXPECT_EQ(r.overall.counts, Counts(0, 0, 0, 0, 1, 0));
  EXPECT_DOUBLE_EQ(r.overall.ap, 0.5);
  EXPECT_DOUBLE_EQ(r.overall.delta_ap[kTideBkg], 0.5);
  EXPECT_DOUBLE_EQ(r.overall.delta_ap[kTideFp], 0.5);
}

TEST(TideTest, MissedGroundTruth) {
  // Two ground truths, one detected: fixing Miss drops the other from the
  // count (AP 1); an image without detections misses everything.
  const TideResult r =
      RunTide(2, {{1, 1, 0, 0, 10, 10, 0}, {2, 1, 0, 0, 10, 10, 0}}, {{1, 1, 0, 0, 10, 10, 0.9}});
  EXPECT_EQ(r.overall.counts, Counts(0, 0, 0, 0, 0, 1));
  EXPECT_DOUBLE_EQ(r.overall.ap, 51.0 / 101.0);
  EXPECT_DOUBLE_EQ(r.overall.delta_ap[kTideMiss], 1.0 - 51.0 / 101.0);
  EXPECT_DOUBLE_EQ(r.overall.delta_ap[kTideFn], 1.0 - 51.0 / 101.0);
}

TEST(TideTest, OnlyTheBestScoredErrorOnAGroundTruthIsFixed) {
  // Two localisation errors on one ground truth: fixing Loc turns the
  // better one into a true positive and drops the other.
  const TideResult r =
      RunTide(1, {{1, 1, 0, 0, 10, 10, 0}}, {{1, 1, 0, 0, 10, 3, 0.8}, {1, 1, 0, 0, 10, 4, 0.9}});
  EXPECT_EQ(r.overall.counts, Counts(0, 2, 0, 0, 0, 0));
  EXPECT_DOUBLE_EQ(r.overall.delta_ap[kTideLoc], 1.0);
}

TEST(TideTest, CrowdRegionIgnoresDetectionsOfItsCategoryButTheyStillCount) {
  // A detection inside a crowd region of its category is left out of AP
  // but, as in tidecv, still gets an error (background here: no regular
  // ground truth in the image).
  const TideResult r = RunTide(1, {{1, 1, 0, 0, 50, 50, 1}}, {{1, 1, 10, 10, 10, 10, 0.9}});
  EXPECT_EQ(r.overall.counts, Counts(0, 0, 0, 0, 1, 0));
  EXPECT_TRUE(r.categories.size() == 1u);  // listed for its error, not in the mean
  EXPECT_DOUBLE_EQ(r.overall.ap, 0.0);
}

TEST(TideTest, KeepsTheBestDetectionsPerImageOverAllCategories) {
  // 100 confident false positives of category 2 push category 1's true
  // positive out of the image's 100.
  std::vector<Box> dets;
  for (int k = 0; k < 100; ++k) dets.push_back({1, 2, 60, 60, 10, 10, 0.9});
  dets.push_back({1, 1, 0, 0, 10, 10, 0.5});
  const TideResult r = RunTide(1, {{1, 1, 0, 0, 10, 10, 0}}, dets);
  EXPECT_EQ(r.overall.counts, Counts(0, 0, 0, 0, 100, 1));
  EXPECT_DOUBLE_EQ(r.overall.ap, 0.0);
}

TEST(TideTest, ThreadCountDoesNotChangeTheResult) {
  std::vector<Box> gts, dets;
  for (int i = 1; i <= 40; ++i) {
    gts.push_back({i, 1 + i % 2, 0, 0, 10, 10, 0});
    gts.push_back({i, 1, 30, 30, 20, 20, 0});
    dets.push_back({i, 1 + (i / 3) % 2, 0, 0, 10, 9.0 - i % 5, 0.1 + (i % 7) / 10.0});
    dets.push_back({i, 1, 31, 30, 20, 20, 0.05 + (i % 4) / 10.0});
    dets.push_back({i, 2, 70, 70, 5, 5, 0.3});
  }
  const TideResult a = RunTide(40, gts, dets, 1);
  const TideResult b = RunTide(40, gts, dets, 4);
  EXPECT_EQ(a.overall.ap, b.overall.ap);
  EXPECT_EQ(a.overall.delta_ap, b.overall.delta_ap);
  EXPECT_EQ(a.overall.counts, b.overall.counts);
  ASSERT_EQ(a.per_category.size(), b.per_category.size());
  for (size_t k = 0; k < a.per_category.size(); ++k) {
    EXPECT_EQ(a.per_category[k].delta_ap, b.per_category[k].delta_ap);
  }
}

TEST(TideTest, BadParametersThrow) {
  auto gt = MakeGt(1, {{1, 1, 0, 0, 10, 10, 0}});
  auto dt = MakeDt(*gt, {{1, 1, 0, 0, 10, 10, 0.9}});
  Evaluator e(gt, dt, DefaultParams(IouType::kBbox), 1);
  EXPECT_THROW(ComputeTide(e, 0.5, 0.1, 1), InputError);  // not evaluated
  e.Evaluate();
  EXPECT_THROW(ComputeTide(e, 0.0, 0.1, 1), InputError);
  EXPECT_THROW(ComputeTide(e, 1.5, 0.1, 1), InputError);
  EXPECT_THROW(ComputeTide(e, 0.5, 0.0, 1), InputError);
  EXPECT_THROW(ComputeTide(e, 0.5, 0.6, 1), InputError);
  EXPECT_THROW(ComputeTide(e, std::nan(""), 0.1, 1), InputError);
  EXPECT_NO_THROW(ComputeTide(e, 1.0, 1.0, 1));
  try {
    ComputeTide(e, 0.5, 0.7, 1);
    FAIL();
  } catch (const InputError& err) {
    EXPECT_NE(std::string(err.what()).find("bg_thr"), std::string::npos);
  }
}

}  // namespace
}  // namespace cocoeval
