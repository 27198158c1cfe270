#include "cocoeval_cc/evaluate.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cocoeval_cc/errors.h"
#include "cocoeval_cc/evaluator.h"

namespace cocoeval {
namespace {

struct MatchResult {
  std::vector<uint32_t> matched, ignored;
};

MatchResult Match(const std::vector<double>& ious, size_t nd, size_t ng,
                  std::vector<uint8_t> ignore, std::vector<uint8_t> crowd,
                  const std::vector<double>& thrs) {
  MatchResult r;
  r.matched.assign(nd, 0);
  r.ignored.assign(nd, 0);
  MatchScratch scratch;
  MatchGroup(ious.data(), nd, ng, ignore.data(), crowd.data(), thrs, r.matched.data(),
             r.ignored.data(), 1, &scratch);
  return r;
}

TEST(MatchGroupTest, EqualIouReplacesTheMatch) {
  // dt0 ties on gt0 and gt1: the later (gt1) wins, which leaves gt0 to dt1.
  const std::vector<double> ious = {0.6, 0.6,   // dt0
                                    0.6, 0.0};  // dt1
  const MatchResult r = Match(ious, 2, 2, {0, 0}, {0, 0}, {0.5});
  EXPECT_EQ(r.matched, (std::vector<uint32_t>{1, 1}));
  EXPECT_EQ(r.ignored, (std::vector<uint32_t>{0, 0}));
}

TEST(MatchGroupTest, MatchedGroundTruthIsTakenOnce) {
  const std::vector<double> ious = {0.9, 0.9};
  const MatchResult r = Match(ious, 2, 1, {0}, {0}, {0.5, 0.95});
  EXPECT_EQ(r.matched, (std::vector<uint32_t>{1, 0}));  // bit 0 only: IoU 0.9 < 0.95
}

TEST(MatchGroupTest, CrowdMatchesManyAndIsIgnored) {
  const std::vector<double> ious = {0.9, 0.8, 0.7};
  const MatchResult r = Match(ious, 3, 1, {1}, {1}, {0.5, 0.75});
  EXPECT_EQ(r.matched, (std::vector<uint32_t>{3, 3, 1}));
  EXPECT_EQ(r.ignored, (std::vector<uint32_t>{3, 3, 1}));
}

TEST(MatchGroupTest, RegularMatchStopsAtIgnoredGroundTruth) {
  // gt0 ignored (listed first in the input, sorted last), gt1 regular.
  const std::vector<double> ious = {0.9, 0.55};
  const MatchResult r = Match(ious, 1, 2, {1, 0}, {0, 0}, {0.5, 0.6});
  // t=0.5: matches regular gt1 and stops. t=0.6: gt1 fails, ignored gt0 matches.
  EXPECT_EQ(r.matched, (std::vector<uint32_t>{3}));
  EXPECT_EQ(r.ignored, (std::vector<uint32_t>{2}));
}

TEST(MatchGroupTest, ThresholdOneStartsJustBelowOne) {
  const std::vector<double> ious = {1.0, 1 - 1e-11, 1 - 1e-9};
  const MatchResult r = Match(ious, 3, 1, {0}, {1}, {1.0});
  EXPECT_EQ(r.matched, (std::vector<uint32_t>{1, 1, 0}));
}

TEST(MatchGroupTest, BelowThresholdNeverMatches) {
  const std::vector<double> ious = {0.49999, 0.5};
  const MatchResult r = Match(ious, 2, 1, {0}, {0}, {0.5});
  EXPECT_EQ(r.matched, (std::vector<uint32_t>{0, 1}));
}

std::shared_ptr<GroundTruth> Gt(const std::string& json) {
  return std::shared_ptr<GroundTruth>(LoadGroundTruthBuffer(json, "gt.json"));
}

const char kGt[] = R"({"images": [{"id": 0, "height": 100, "width": 100},
                                  {"id": 5000000000, "height": 100, "width": 100}],
  "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
  "annotations": [
    {"id": 0, "image_id": 0, "category_id": 1, "bbox": [10, 10, 20, 20], "area": 400, "iscrowd": 0},
    {"id": 7, "image_id": 5000000000, "category_id": 2, "bbox": [0, 0, 50, 50], "area": 2500, "iscrowd": 0},
    {"id": 8, "image_id": 5000000000, "category_id": 2, "bbox": [60, 60, 10, 10], "area": 100, "iscrowd": 1}]})";

TEST(EvaluatorTest, GroundTruthIdZeroAndLargeImageIds) {
  auto gt = Gt(kGt);
  const std::string results = R"([
    {"image_id": 0, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.9},
    {"image_id": 5000000000, "category_id": 2, "bbox": [0, 0, 50, 50], "score": 0.8},
    {"image_id": 5000000000, "category_id": 2, "bbox": [60, 60, 10, 10], "score": 0.7}])";
  std::shared_ptr<Detections> dt(LoadDetectionsBuffer(*gt, results, "res.json", 1));
  Evaluator ev(gt, dt, Params(), 1);
  ev.Evaluate();
  ev.Accumulate();
  const std::vector<double>& stats = ev.Summarize();
  // Both regular objects are found exactly (the one with id 0 included);
  // the crowd match is ignored, not a false positive.
  EXPECT_NEAR(stats[0], 1.0, 1e-15);  // 1 / (1 + eps) at the first detection
  EXPECT_EQ(stats[8], 1.0);
}

TEST(EvaluateGroupsTest, FullDetailsOfOneGroup) {
  auto gt = Gt(kGt);
  const std::string results = R"([
    {"image_id": 0, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.9},
    {"image_id": 5000000000, "category_id": 2, "bbox": [60, 60, 10, 10], "score": 0.7},
    {"image_id": 5000000000, "category_id": 2, "bbox": [0, 0, 50, 50], "score": 0.8}])";
  std::shared_ptr<Detections> dt(LoadDetectionsBuffer(*gt, results, "res.json", 1));
  Evaluator ev(gt, dt, Params(), 1);
  ev.Evaluate();
  std::vector<int64_t> image_ids, cat_ids;
  const Params& p = ev.params();
  const std::vector<GroupDetail> groups =
      ev.EvaluateGroups(5000000000, 2, p.area_rng, 100, &image_ids, &cat_ids);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(image_ids, (std::vector<int64_t>{5000000000}));
  EXPECT_EQ(cat_ids, (std::vector<int64_t>{2}));
  const GroupDetail& g = groups[0];
  EXPECT_EQ(g.dt_rows, (std::vector<uint32_t>{2, 1}));  // best score first
  EXPECT_EQ(g.gt_rows, (std::vector<uint32_t>{1, 2}));  // input order
  EXPECT_EQ(g.ious, (std::vector<double>{1.0, 0.0, 0.0, 1.0}));
  // Areas all / small / medium / large: the crowd is always ignored; the
  // 2500-pixel object only outside medium and all.
  EXPECT_EQ(g.gt_ignore, (std::vector<uint8_t>{0, 1, 1, 1, 0, 1, 1, 1}));
  const size_t A = p.area_rng.size(), T = p.iou_thrs.size(), D = 2;
  ASSERT_EQ(g.dt_match.size(), A * T * D);
  for (size_t a = 0; a < A; ++a) {
    for (size_t t = 0; t < T; ++t) {
      EXPECT_EQ(g.dt_match[(a * T + t) * D + 0], 0) << a << " " << t;  // the exact box
      EXPECT_EQ(g.dt_match[(a * T + t) * D + 1], 1) << a << " " << t;  // inside the crowd
    }
  }
  // Every non-empty group in (image id, category) order when nothing is fixed.
  const std::vector<GroupDetail> all =
      ev.EvaluateGroups(std::nullopt, std::nullopt, p.area_rng, 100, &image_ids, &cat_ids);
  EXPECT_EQ(all.size(), 2u);
  EXPECT_EQ(image_ids, (std::vector<int64_t>{0, 5000000000}));
  EXPECT_EQ(cat_ids, (std::vector<int64_t>{1, 2}));
}

TEST(EvaluateStateTest, ShardsMergeToTheSameStateAndSerialize) {
  auto gt = Gt(kGt);
  const std::string results = R"([
    {"image_id": 5000000000, "category_id": 2, "bbox": [1, 1, 50, 50], "score": 0.5},
    {"image_id": 0, "category_id": 1, "bbox": [12, 10, 20, 20], "score": 0.5},
    {"image_id": 0, "category_id": 2, "bbox": [12, 10, 20, 20], "score": 0.25}])";
  std::shared_ptr<Detections> dt(LoadDetectionsBuffer(*gt, results, "res.json", 1));
  Evaluator ev(gt, dt, Params(), 2);
  ev.Evaluate();
  const EvalState a = ev.EvaluateImages({0});
  const EvalState b = ev.EvaluateImages({5000000000});
  const EvalState merged = MergeStates({&b, &a});
  EXPECT_EQ(SerializeState(merged), SerializeState(ev.state()));
  const EvalState back = DeserializeState(SerializeState(merged));
  EXPECT_EQ(SerializeState(back), SerializeState(merged));
  EXPECT_THROW(MergeStates({&a, &a}), InputError);
  EXPECT_THROW(DeserializeState("nonsense"), InputError);
  std::string truncated = SerializeState(merged);
  truncated.resize(truncated.size() - 3);
  EXPECT_THROW(DeserializeState(truncated), InputError);
}

TEST(EvaluateStateTest, ThreadCountDoesNotChangeResults) {
  auto gt = Gt(kGt);
  std::string results = "[";
  for (int i = 0; i < 300; ++i) {
    results += std::string(i ? "," : "") + "{\"image_id\": " + (i % 2 ? "0" : "5000000000") +
               ", \"category_id\": " + std::to_string(1 + i % 2) + ", \"bbox\": [" +
               std::to_string(i % 37) + ", " + std::to_string(i % 11) +
               ", 20, 30], \"score\": " + std::to_string((i * 7 % 13) / 13.0) + "}";
  }
  results += "]";
  std::shared_ptr<Detections> dt(LoadDetectionsBuffer(*gt, results, "res.json", 1));
  std::string reference;
  for (int threads : {1, 2, 3, 8}) {
    Evaluator ev(gt, dt, Params(), threads);
    ev.Evaluate();
    const std::string bytes = SerializeState(ev.state());
    if (reference.empty()) reference = bytes;
    EXPECT_EQ(bytes, reference) << threads;
  }
}

const char kTwoResults[] = R"([
    {"image_id": 0, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.9},
    {"image_id": 5000000000, "category_id": 2, "bbox": [0, 0, 50, 50], "score": 0.8}])";

TEST(EvaluatorTest, ExplicitEmptyImageIdsEvaluateNothing) {
  auto gt = Gt(kGt);
  std::shared_ptr<Detections> dt(LoadDetectionsBuffer(*gt, kTwoResults, "res.json", 1));
  Params p;
  p.img_ids = std::vector<int64_t>{};
  Evaluator ev(gt, dt, p, 2);
  ev.Evaluate();
  EXPECT_EQ(ev.state().num_groups(), 0u);
  ev.Accumulate();
  const Accumulated& acc = ev.accumulation();
  EXPECT_EQ(acc.K, 2u);
  for (double v : acc.precision) EXPECT_EQ(v, -1.0);
  for (double v : ev.Summarize()) EXPECT_EQ(v, -1.0);
  const std::vector<double> per_cat = ev.PerCategoryStats();
  EXPECT_EQ(per_cat.size(), ev.stat_specs().size() * 2);
  for (double v : per_cat) EXPECT_EQ(v, -1.0);
  // Unset ids still mean every ground-truth image.
  Evaluator all(gt, dt, Params(), 2);
  all.Evaluate();
  EXPECT_GT(all.state().num_groups(), 0u);
}

TEST(EvaluatorTest, ExplicitEmptyCategoryIdsGiveAnEmptyAxis) {
  auto gt = Gt(kGt);
  std::shared_ptr<Detections> dt(LoadDetectionsBuffer(*gt, kTwoResults, "res.json", 1));
  Params p;
  p.cat_ids = std::vector<int64_t>{};
  Evaluator ev(gt, dt, p, 2);
  EXPECT_TRUE(ev.category_axis().empty());
  ev.Evaluate();
  ev.Accumulate();
  const Accumulated& acc = ev.accumulation();
  EXPECT_EQ(acc.K, 0u);
  EXPECT_TRUE(acc.precision.empty());
  EXPECT_TRUE(acc.recall.empty());
  for (double v : ev.Summarize()) EXPECT_EQ(v, -1.0);
  EXPECT_TRUE(ev.PerCategoryStats().empty());
  // A K = 0 state serializes, merges and is adopted.
  const EvalState back = DeserializeState(SerializeState(ev.state()));
  const EvalState merged = MergeStates({&back});
  Evaluator again(gt, dt, p, 1);
  again.SetState(merged);
  again.Accumulate();
  EXPECT_EQ(again.accumulation().K, 0u);
  // Without use_cats, an empty pool keeps the {-1} axis with nothing in it.
  p.use_cats = false;
  Evaluator pooled(gt, dt, p, 1);
  pooled.Evaluate();
  pooled.Accumulate();
  EXPECT_EQ(pooled.accumulation().K, 1u);
  for (double v : pooled.accumulation().precision) EXPECT_EQ(v, -1.0);
}

TEST(EvaluateStateTest, PooledCategoriesArePartOfTheParameters) {
  auto gt = Gt(kGt);
  std::shared_ptr<Detections> dt(LoadDetectionsBuffer(*gt, kTwoResults, "res.json", 1));
  Params p12, p1;
  p12.use_cats = p1.use_cats = false;
  p12.cat_ids = std::vector<int64_t>{1, 2};
  p1.cat_ids = std::vector<int64_t>{1};
  Evaluator e12(gt, dt, p12, 1), e1(gt, dt, p1, 1);
  const EvalState a = e12.EvaluateImages({0});
  const EvalState b = e1.EvaluateImages({5000000000});
  EXPECT_EQ(a.pooled_cat_ids, (std::vector<int64_t>{1, 2}));
  EXPECT_THROW(MergeStates({&a, &b}), InputError);
  EXPECT_THROW(e12.SetState(b), InputError);
  const EvalState b_back = DeserializeState(SerializeState(b));
  EXPECT_EQ(b_back.pooled_cat_ids, (std::vector<int64_t>{1}));
  EXPECT_THROW(e12.SetState(b_back), InputError);
  // The same pool (in the same order) merges.
  const EvalState c = e12.EvaluateImages({5000000000});
  EXPECT_NO_THROW(e12.SetState(MergeStates({&a, &c})));
}

// Keypoints: two people (one with no labelled keypoint, matched against
// its enlarged box) and one with num_keypoints 0 (ignored), in the fast
// ground-truth scanner's format; results without a bbox (loadRes'
// keypoints branch) in the simdjson path.
const char kKeypointGt[] = R"({"images": [{"id": 1, "height": 100, "width": 100}],
  "categories": [{"id": 1, "name": "person"}],
  "annotations": [
    {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 40, 40], "area": 1600,
     "iscrowd": 0, "keypoints": [20, 20, 2, 30, 30, 1], "num_keypoints": 2},
    {"id": 2, "image_id": 1, "category_id": 1, "bbox": [60, 60, 30, 30], "area": 2000,
     "iscrowd": 0, "keypoints": [0, 0, 0, 0, 0, 0], "num_keypoints": 1},
    {"id": 3, "image_id": 1, "category_id": 1, "bbox": [0, 60, 20, 20], "area": 400,
     "iscrowd": 0, "keypoints": [5, 65, 2, 10, 70, 2], "num_keypoints": 0}]})";

Params KeypointParams(std::vector<double> sigmas) {
  Params p = DefaultParams(IouType::kKeypoints);
  p.kpt_oks_sigmas = std::move(sigmas);
  return p;
}

TEST(KeypointEvaluationTest, ExactMatchesAndTheEnlargedBox) {
  auto gt = Gt(kKeypointGt);
  const std::string results = R"([
    {"image_id": 1, "category_id": 1, "keypoints": [20, 20, 1, 30, 30, 1], "score": 0.9},
    {"image_id": 1, "category_id": 1, "keypoints": [70, 70, 1, 80, 75, 0], "score": 0.8},
    {"image_id": 1, "category_id": 1, "keypoints": [5, 65, 1, 10, 70, 1], "score": 0.7}])";
  std::shared_ptr<Detections> dt(LoadDetectionsBuffer(*gt, results, "res.json", 1));
  ASSERT_TRUE(dt->keypoint_mode);
  // loadRes: bbox and area from the keypoints' extent.
  EXPECT_EQ(dt->bbox[4], 70.0);
  EXPECT_EQ(dt->bbox[6], 10.0);
  EXPECT_EQ(dt->area[1], 50.0);
  Evaluator ev(gt, dt, KeypointParams({0.05, 0.05}), 2);
  ev.Evaluate();
  ev.Accumulate();
  const std::vector<double>& stats = ev.Summarize();
  ASSERT_EQ(stats.size(), 10u);
  // Both regular people are found with OKS 1 (the second: keypoints inside
  // its enlarged box); the third detection hits ignored ground truth.
  EXPECT_NEAR(stats[0], 1.0, 1e-15);
  EXPECT_EQ(stats[5], 1.0);  // AR
  EXPECT_EQ(ev.state().iou_type, IouType::kKeypoints);
  const EvalState back = DeserializeState(SerializeState(ev.state()));
  EXPECT_EQ(back.kpt_oks_sigmas, (std::vector<double>{0.05, 0.05}));
  // States with other sigmas are other parameters.
  Evaluator other(gt, dt, KeypointParams({0.05, 0.06}), 1);
  EXPECT_THROW(other.SetState(ev.state()), InputError);
}

TEST(KeypointEvaluationTest, BadKeypointsAreNamedAtEvaluation) {
  auto gt = Gt(kKeypointGt);
  const std::string results =
      R"([{"image_id": 1, "category_id": 1, "keypoints": [20, 20, 1], "score": 0.9}])";
  std::shared_ptr<Detections> dt(LoadDetectionsBuffer(*gt, results, "res.json", 1));
  Evaluator ev(gt, dt, KeypointParams({0.05, 0.05}), 1);
  try {
    ev.Evaluate();
    FAIL();
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("results[0] (image_id 1): has 1 keypoints (kpt_oks_sigmas has 2)"),
              std::string::npos)
        << m;
  }
  Evaluator three(gt, dt, KeypointParams({0.05, 0.05, 0.05}), 1);
  EXPECT_THROW(three.Evaluate(), InputError);  // the ground truth has 2
}

}  // namespace
}  // namespace cocoeval
