#include "cocoeval_cc/diagnostics.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "cocoeval_cc/dataset.h"
#include "cocoeval_cc/errors.h"
#include "cocoeval_cc/evaluator.h"

namespace cocoeval {
namespace {

// Two images, classes a (1) and b (2); image 2 has a crowd region of a.
constexpr char kGt[] = R"({
  "images": [{"id": 1, "height": 100, "width": 100}, {"id": 2, "height": 100, "width": 100}],
  "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
  "annotations": [
    {"id": 10, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0},
    {"id": 11, "image_id": 1, "category_id": 2, "bbox": [20, 20, 10, 10], "area": 100, "iscrowd": 0},
    {"id": 12, "image_id": 2, "category_id": 2, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0},
    {"id": 13, "image_id": 2, "category_id": 1, "bbox": [50, 50, 10, 10], "area": 100, "iscrowd": 1}]})";

constexpr char kDt[] = R"([
  {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},
  {"image_id": 1, "category_id": 1, "bbox": [20, 20, 10, 10], "score": 0.8},
  {"image_id": 1, "category_id": 2, "bbox": [20, 20, 10, 10], "score": 0.3},
  {"image_id": 2, "category_id": 1, "bbox": [0, 0, 10, 9], "score": 0.7},
  {"image_id": 2, "category_id": 1, "bbox": [50, 50, 10, 10], "score": 0.6},
  {"image_id": 2, "category_id": 2, "bbox": [70, 70, 10, 10], "score": 0.95}])";

std::unique_ptr<Evaluator> Evaluated(const std::string& dt_json, Params p = Params(),
                                     int threads = 1) {
  std::shared_ptr<GroundTruth> gt(LoadGroundTruthBuffer(kGt, "gt.json"));
  std::shared_ptr<Detections> dt(LoadDetectionsBuffer(*gt, dt_json, "dt.json", 1));
  auto e = std::make_unique<Evaluator>(gt, dt, p, threads);
  e->Evaluate();
  return e;
}

TEST(ConfusionTest, SameClassFirstThenCrossClassThenBackground) {
  const auto e = Evaluated(kDt);
  const ConfusionMatrix c = Confusion(*e, 0.5, 0.0, 1);
  EXPECT_EQ(c.category_ids, (std::vector<int64_t>{1, 2}));
  // Rows gt a, gt b, background; columns as a, as b, missed.
  // a@0.9 finds gt 10. b@0.3 finds gt 11 (its own class comes first, though
  // a@0.8 scores higher), so a@0.8 is background. a@0.7 claims gt 12 (b);
  // b@0.95 overlaps nothing; a@0.6 on the crowd region is ignored.
  EXPECT_EQ(c.matrix, (std::vector<uint64_t>{1, 0, 0,  //
                                             1, 1, 0,  //
                                             1, 1, 0}));
  // At 0.5, b@0.3 is dropped: gt 11 is free for a@0.8.
  const ConfusionMatrix hi = Confusion(*e, 0.5, 0.5, 1);
  EXPECT_EQ(hi.matrix, (std::vector<uint64_t>{1, 0, 0,  //
                                              2, 0, 0,  //
                                              0, 1, 0}));
  // Nothing scores >= 1: every non-crowd ground truth is missed.
  const ConfusionMatrix none = Confusion(*e, 0.5, 1.0, 1);
  EXPECT_EQ(none.matrix, (std::vector<uint64_t>{0, 0, 1,  //
                                                0, 0, 2,  //
                                                0, 0, 0}));
}

TEST(F1ThresholdsTest, BestRunEndAndTies) {
  // Class a: gt 10 and nothing else regular. a@0.9 TP, a@0.8 FP, a@0.7 FP
  // (on gt b), a@0.6 ignored (crowd): best F1 at 0.9 (1 / 1).
  // Class b: gt 11, 12; b@0.95 FP, b@0.3 TP: at 0.95 no TP, at 0.3
  // tp 1, fp 1 -> F1 = 2 / (2 + 2) = 0.5.
  const auto e = Evaluated(kDt);
  const std::vector<F1Threshold> f = F1Thresholds(*e, 0.5, 1);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_TRUE(f[0].found);
  EXPECT_EQ(f[0].score, 0.9);
  EXPECT_EQ(f[0].tp, 1u);
  EXPECT_EQ(f[0].fp, 0u);
  EXPECT_EQ(f[0].f1, 1.0);
  EXPECT_EQ(f[1].num_gt, 2u);
  EXPECT_EQ(f[1].score, 0.3);
  EXPECT_EQ(f[1].tp, 1u);
  EXPECT_EQ(f[1].fp, 1u);
  EXPECT_DOUBLE_EQ(f[1].f1, 0.5);
  EXPECT_DOUBLE_EQ(f[1].precision, 0.5);
  EXPECT_DOUBLE_EQ(f[1].recall, 0.5);
}

TEST(F1ThresholdsTest, ATieIsNeverSplit) {
  // Two detections of b at the same score, the first (in file order) a TP:
  // a threshold keeps both, so the F1 is 2 * 1 / (1 + 1 + 2), not 2 / 3.
  const auto e = Evaluated(R"([
    {"image_id": 1, "category_id": 2, "bbox": [20, 20, 10, 10], "score": 0.5},
    {"image_id": 1, "category_id": 2, "bbox": [80, 80, 10, 10], "score": 0.5}])");
  const std::vector<F1Threshold> f = F1Thresholds(*e, 0.5, 1);
  EXPECT_FALSE(f[0].found);  // a: ground truth, no true positive
  EXPECT_EQ(f[0].num_gt, 1u);
  EXPECT_TRUE(f[1].found);
  EXPECT_EQ(f[1].tp, 1u);
  EXPECT_EQ(f[1].fp, 1u);
  EXPECT_DOUBLE_EQ(f[1].f1, 0.5);
}

TEST(F1ThresholdsTest, AnIouOutsideTheEvaluationMatchesAgain) {
  // The same IoU read from the evaluation's bits or matched again agrees.
  Params other;
  other.iou_thrs = {0.55, 0.6};
  const auto e = Evaluated(kDt);
  const auto again = Evaluated(kDt, other);
  for (double iou : {0.5, 0.75, 0.95}) {
    Params p;
    p.iou_thrs = {iou};
    const auto exact = Evaluated(kDt, p);
    const std::vector<F1Threshold> a = F1Thresholds(*exact, iou, 1);
    const std::vector<F1Threshold> b = F1Thresholds(*again, iou, 2);
    ASSERT_EQ(a.size(), b.size());
    for (size_t k = 0; k < a.size(); ++k) {
      EXPECT_EQ(a[k].found, b[k].found);
      EXPECT_EQ(a[k].score, b[k].score);
      EXPECT_EQ(a[k].tp, b[k].tp);
      EXPECT_EQ(a[k].fp, b[k].fp);
      EXPECT_EQ(a[k].num_gt, b[k].num_gt);
    }
  }
  // IoU 0.9: box [0, 0, 10, 9] on gt 12 has IoU 0.9 exactly: still a match.
  EXPECT_TRUE(F1Thresholds(*e, 0.9, 1)[0].found);
}

TEST(CalibrationTest, BinsEceMce) {
  const auto e = Evaluated(kDt);
  const Calibration c = ComputeCalibration(*e, 0.5, 10);
  // Five non-ignored detections (the crowd match is ignored).
  EXPECT_EQ(c.num_detections, 5u);
  ASSERT_EQ(c.bins.size(), 10u);
  EXPECT_EQ(c.bins[3].count, 1u);
  EXPECT_EQ(c.bins[3].accuracy, 1.0);
  EXPECT_EQ(c.bins[9].count, 2u);
  EXPECT_DOUBLE_EQ(c.bins[9].mean_score, 0.925);
  EXPECT_EQ(c.bins[9].accuracy, 0.5);
  EXPECT_NEAR(c.ece, (0.7 + 0.7 + 0.8 + 2 * 0.425) / 5, 1e-12);
  EXPECT_NEAR(c.mce, 0.8, 1e-12);
  EXPECT_EQ(ComputeCalibration(*e, 0.5, 1).bins.size(), 1u);
}

TEST(ImageDiagnosticsTest, CountsWorstAndLabelErrors) {
  const auto e = Evaluated(kDt);
  const ImageDiagnostics d = DiagnoseImages(*e, 0.5, 0.5, 1, 1);
  ASSERT_EQ(d.images.size(), 2u);
  // Image 1 at >= 0.5: a@0.9 TP, a@0.8 FP, gt 11 missed (b@0.3 is below).
  EXPECT_EQ(d.images[0].tp, 1u);
  EXPECT_EQ(d.images[0].fp, 1u);
  EXPECT_EQ(d.images[0].fn, 1u);
  EXPECT_DOUBLE_EQ(d.images[0].f1, 0.5);
  // Image 2: a@0.7 and b@0.95 FP, the crowd match ignored, gt 12 missed.
  EXPECT_EQ(d.images[1].tp, 0u);
  EXPECT_EQ(d.images[1].fp, 2u);
  EXPECT_EQ(d.images[1].fn, 1u);
  EXPECT_EQ(d.worst, (std::vector<size_t>{1}));
  // a@0.7 over gt 12 (b), which no b detection found. a@0.8 over gt 11 is
  // not one: b@0.3 found gt 11.
  ASSERT_EQ(d.label_errors.size(), 1u);
  EXPECT_EQ(d.label_errors[0].image_id, 2);
  EXPECT_EQ(d.label_errors[0].gt_id, 12);
  EXPECT_EQ(d.label_errors[0].gt_category_id, 2);
  EXPECT_EQ(d.label_errors[0].dt_category_id, 1);
  EXPECT_EQ(d.label_errors[0].score, 0.7);
  EXPECT_NEAR(d.label_errors[0].iou, 0.9, 1e-12);
}

TEST(DiagnosticsTest, ResultsDoNotDependOnThreads) {
  std::string dts = "[";
  for (int i = 0; i < 300; ++i) {
    const int img = 1 + i % 2, cat = 1 + (i / 2) % 2;
    const double x = (i * 7) % 60, y = (i * 13) % 60;
    dts += (i ? "," : "") + std::string("{\"image_id\": ") + std::to_string(img) +
           ", \"category_id\": " + std::to_string(cat) + ", \"bbox\": [" + std::to_string(x) +
           ", " + std::to_string(y) + ", 10, 10], \"score\": " + std::to_string((i % 17) / 17.0) +
           "}";
  }
  dts += "]";
  const auto one = Evaluated(dts, Params(), 1);
  const auto four = Evaluated(dts, Params(), 4);
  EXPECT_EQ(Confusion(*one, 0.3, 0.2, 1).matrix, Confusion(*four, 0.3, 0.2, 4).matrix);
  const ImageDiagnostics a = DiagnoseImages(*one, 0.3, 0.2, 5, 1);
  const ImageDiagnostics b = DiagnoseImages(*four, 0.3, 0.2, 5, 4);
  ASSERT_EQ(a.label_errors.size(), b.label_errors.size());
  for (size_t i = 0; i < a.label_errors.size(); ++i) {
    EXPECT_EQ(a.label_errors[i].gt_id, b.label_errors[i].gt_id);
    EXPECT_EQ(a.label_errors[i].score, b.label_errors[i].score);
  }
  EXPECT_EQ(a.worst, b.worst);
  const std::vector<F1Threshold> f = F1Thresholds(*one, 0.7, 1), g = F1Thresholds(*four, 0.7, 4);
  for (size_t k = 0; k < f.size(); ++k) EXPECT_EQ(f[k].score, g[k].score);
}

TEST(DiagnosticsTest, BadParametersAreNamed) {
  const auto e = Evaluated(kDt);
  auto message = [](auto fn) {
    try {
      fn();
    } catch (const InputError& err) {
      return std::string(err.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([&] { F1Thresholds(*e, 0.0, 1); }),
            "f1_thresholds: iou must be in (0, 1], got 0");
  EXPECT_EQ(message([&] { F1Thresholds(*e, 1.5, 1); }),
            "f1_thresholds: iou must be in (0, 1], got 1.5");
  EXPECT_NE(message([&] { Confusion(*e, std::nan(""), 0.5, 1); }).find("iou"), std::string::npos);
  EXPECT_NE(message([&] { Confusion(*e, 0.5, std::nan(""), 1); }).find("score_thr"),
            std::string::npos);
  EXPECT_EQ(message([&] { ComputeCalibration(*e, 0.5, 0); }),
            "calibration: n_bins must be in [1, 1000000], got 0");
  EXPECT_NE(message([&] { DiagnoseImages(*e, 0.5, 0.5, -1, 1); }).find("top_n"), std::string::npos);
  Params pooled;
  pooled.use_cats = false;
  const auto p = Evaluated(kDt, pooled);
  EXPECT_NE(message([&] { Confusion(*p, 0.5, 0.5, 1); }).find("useCats"), std::string::npos);
  // Not evaluated yet.
  std::shared_ptr<GroundTruth> gt(LoadGroundTruthBuffer(kGt, "gt.json"));
  std::shared_ptr<Detections> dt(LoadDetectionsBuffer(*gt, kDt, "dt.json", 1));
  Evaluator fresh(gt, dt, Params(), 1);
  EXPECT_NE(message([&] { F1Thresholds(fresh, 0.5, 1); }).find("evaluate"), std::string::npos);
}

TEST(DiagnosticsTest, NothingAboveTheThresholdAndNoImages) {
  const auto e =
      Evaluated(R"([{"image_id": 1, "category_id": 1, "bbox": [90, 90, 5, 5], "score": 0.1}])");
  const ConfusionMatrix c = Confusion(*e, 0.5, 0.5, 1);
  EXPECT_EQ(c.matrix, (std::vector<uint64_t>{0, 0, 1, 0, 0, 2, 0, 0, 0}));
  EXPECT_EQ(ComputeCalibration(*e, 0.5, 10).num_detections, 1u);
  EXPECT_FALSE(F1Thresholds(*e, 0.5, 1)[0].found);
  EXPECT_EQ(F1Thresholds(*e, 0.5, 1)[1].num_gt, 2u);
  const ImageDiagnostics d = DiagnoseImages(*e, 0.5, 0.5, 20, 1);
  EXPECT_EQ(d.images[1].fn, 1u);  // the crowd region is never missed
  EXPECT_TRUE(d.label_errors.empty());
  // An explicitly empty image list evaluates nothing: empty, not a crash.
  Params none;
  none.img_ids = std::vector<int64_t>{};
  const auto n = Evaluated(
      R"([{"image_id": 1, "category_id": 1, "bbox": [90, 90, 5, 5], "score": 0.1}])", none);
  EXPECT_EQ(Confusion(*n, 0.5, 0.5, 1).matrix, std::vector<uint64_t>(9, 0));
  EXPECT_TRUE(DiagnoseImages(*n, 0.5, 0.5, 20, 1).images.empty());
  EXPECT_EQ(ComputeCalibration(*n, 0.7, 3).num_detections, 0u);
  EXPECT_FALSE(F1Thresholds(*n, 0.7, 1)[0].found);
}

}  // namespace
}  // namespace cocoeval
