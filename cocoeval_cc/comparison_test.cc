#include "cocoeval_cc/comparison.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cocoeval_cc/dataset.h"
#include "cocoeval_cc/errors.h"
#include "cocoeval_cc/evaluator.h"

namespace cocoeval {
namespace {

struct Box {
  int64_t image = 0, category = 0;
  double x = 0, y = 0, w = 0, h = 0, score = 0;
  bool crowd = false;
};

struct Data {
  std::vector<int64_t> images;
  std::vector<Box> gt, dt;
};

// Small random scenes: 3 categories, a few objects per image (some crowd),
// detections near them and some anywhere, every score distinct.
Data RandomData(uint32_t seed, int num_images) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Data d;
  int score_id = 0;
  for (int i = 0; i < num_images; ++i) {
    const int64_t img = 3 + 2 * i;
    d.images.push_back(img);
    const int n = static_cast<int>(rng() % 6);
    for (int j = 0; j < n; ++j) {
      Box b;
      b.image = img;
      b.category = 1 + static_cast<int64_t>(rng() % 3);
      b.x = 100 * u(rng);
      b.y = 100 * u(rng);
      b.w = 5 + 120 * u(rng);
      b.h = 5 + 120 * u(rng);
      b.crowd = rng() % 10 == 0;
      d.gt.push_back(b);
      if (rng() % 4 != 0) {
        Box t = b;
        t.crowd = false;
        t.x += 10 * (u(rng) - 0.5);
        t.w *= 0.8 + 0.4 * u(rng);
        if (rng() % 5 == 0) t.category = 1 + static_cast<int64_t>(rng() % 3);
        t.score = 0.001 * (++score_id) + 0.0001 * u(rng);
        d.dt.push_back(t);
      }
    }
    for (int j = static_cast<int>(rng() % 4); j > 0; --j) {
      Box t;
      t.image = img;
      t.category = 1 + static_cast<int64_t>(rng() % 3);
      t.x = 100 * u(rng);
      t.y = 100 * u(rng);
      t.w = 5 + 60 * u(rng);
      t.h = 5 + 60 * u(rng);
      t.score = 0.001 * (++score_id) + 0.0001 * u(rng);
      d.dt.push_back(t);
    }
  }
  return d;
}

// The data set with image i repeated weights[i] times, copy c of image id
// x getting id 16 * x + c, so copies are adjacent in image id order.
Data Materialize(const Data& d, const std::vector<uint32_t>& weights) {
  Data out;
  for (size_t i = 0; i < d.images.size(); ++i) {
    for (uint32_t c = 0; c < weights[i]; ++c) {
      const int64_t id = 16 * d.images[i] + c;
      out.images.push_back(id);
      for (const Box& b : d.gt) {
        if (b.image != d.images[i]) continue;
        out.gt.push_back(b);
        out.gt.back().image = id;
      }
      for (const Box& b : d.dt) {
        if (b.image != d.images[i]) continue;
        out.dt.push_back(b);
        out.dt.back().image = id;
      }
    }
  }
  return out;
}

std::string Num(double x) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", x);
  return buf;
}

std::string GtJson(const Data& d) {
  std::string s = "{\"images\": [";
  for (size_t i = 0; i < d.images.size(); ++i) {
    if (i) s += ",";
    // Sizes spread over the built-in image area buckets.
    const int64_t w = 300 + 400 * static_cast<int64_t>(i % 3);
    s += "{\"id\": " + std::to_string(d.images[i]) + ", \"width\": " + std::to_string(w) +
         ", \"height\": 600}";
  }
  s += "], \"categories\": [{\"id\": 1, \"name\": \"a\"}, {\"id\": 2, \"name\": \"b\"}, "
       "{\"id\": 3, \"name\": \"c\"}], \"annotations\": [";
  for (size_t i = 0; i < d.gt.size(); ++i) {
    const Box& b = d.gt[i];
    if (i) s += ",";
    s += "{\"id\": " + std::to_string(i + 1) + ", \"image_id\": " + std::to_string(b.image) +
         ", \"category_id\": " + std::to_string(b.category) + ", \"bbox\": [" + Num(b.x) + ", " +
         Num(b.y) + ", " + Num(b.w) + ", " + Num(b.h) + "], \"area\": " + Num(b.w * b.h) +
         ", \"iscrowd\": " + (b.crowd ? "1" : "0") + "}";
  }
  return s + "]}";
}

std::string DtJson(const Data& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.dt.size(); ++i) {
    const Box& b = d.dt[i];
    if (i) s += ",";
    s += "{\"image_id\": " + std::to_string(b.image) +
         ", \"category_id\": " + std::to_string(b.category) + ", \"bbox\": [" + Num(b.x) + ", " +
         Num(b.y) + ", " + Num(b.w) + ", " + Num(b.h) + "], \"score\": " + Num(b.score) + "}";
  }
  return s + "]";
}

std::unique_ptr<Evaluator> Evaluate(const Data& d, Params p = Params(), int threads = 2) {
  std::shared_ptr<const GroundTruth> gt(LoadGroundTruthBuffer(GtJson(d), "gt.json"));
  std::shared_ptr<const Detections> dt(LoadDetectionsBuffer(*gt, DtJson(d), "dt.json"));
  auto e = std::make_unique<Evaluator>(gt, dt, p, threads);
  e->Evaluate();
  e->Accumulate();
  e->Summarize();
  return e;
}

std::vector<double> Row0(const Evaluator& e) {
  const std::vector<double> per = e.PerCategoryStats();
  const size_t K = e.category_axis().size();
  return std::vector<double>(per.begin(), per.begin() + static_cast<std::ptrdiff_t>(K));
}

TEST(BootstrapModelTest, UnitWeightsGiveTheEvaluationsStatisticsExactly) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    const auto e = Evaluate(RandomData(seed, 40));
    BootstrapModel model(*e);
    std::vector<double> stats, cat0;
    model.WeightedStats(std::vector<uint32_t>(40, 1), &stats, &cat0);
    EXPECT_EQ(stats, e->stats()) << "seed " << seed;
    EXPECT_EQ(cat0, Row0(*e)) << "seed " << seed;
  }
}

TEST(BootstrapModelTest, WeightsEqualTheMaterializedResample) {
  // With distinct scores, weights are exactly the data set with the images
  // repeated: the copies' order cannot matter.
  for (uint32_t seed : {4u, 5u, 6u, 7u}) {
    const Data d = RandomData(seed, 30);
    const auto e = Evaluate(d);
    const std::vector<uint32_t> w = ResampleWeights(seed, 0, d.images.size());
    const auto expected = Evaluate(Materialize(d, w));
    BootstrapModel model(*e);
    std::vector<double> stats, cat0;
    model.WeightedStats(w, &stats, &cat0);
    EXPECT_EQ(stats, expected->stats()) << "seed " << seed;
    EXPECT_EQ(cat0, Row0(*expected)) << "seed " << seed;
  }
}

TEST(BootstrapModelTest, WrongNumberOfWeightsIsAnError) {
  const auto e = Evaluate(RandomData(1, 5));
  BootstrapModel model(*e);
  std::vector<double> stats, cat0;
  EXPECT_THROW(model.WeightedStats({1, 1}, &stats, &cat0), InputError);
}

TEST(ResampleWeightsTest, DeterministicAndSumsToN) {
  const std::vector<uint32_t> a = ResampleWeights(42, 7, 1000);
  EXPECT_EQ(a, ResampleWeights(42, 7, 1000));
  EXPECT_NE(a, ResampleWeights(42, 8, 1000));
  EXPECT_NE(a, ResampleWeights(43, 7, 1000));
  uint64_t sum = 0;
  for (uint32_t x : a) sum += x;
  EXPECT_EQ(sum, 1000u);
  EXPECT_EQ(ResampleWeights(0, 0, 1), (std::vector<uint32_t>{1}));
  EXPECT_TRUE(ResampleWeights(0, 0, 0).empty());
}

TEST(QuantileTest, LinearInterpolationLikeNumpy) {
  const std::vector<double> v = {1.0, 2.0, 4.0, 8.0};
  EXPECT_DOUBLE_EQ(Quantile(v, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(Quantile(v, 1.0), 8.0);
  EXPECT_DOUBLE_EQ(Quantile(v, 0.5), 3.0);      // h = 1.5
  EXPECT_DOUBLE_EQ(Quantile(v, 0.025), 1.075);  // h = 0.075
  EXPECT_DOUBLE_EQ(Quantile({5.0}, 0.3), 5.0);
}

TEST(SliceTest, EqualsEvaluatingTheSubsetAlone) {
  const Data d = RandomData(9, 50);
  const auto e = Evaluate(d);
  std::vector<int64_t> subset;
  for (size_t i = 0; i < d.images.size(); i += 3) subset.push_back(d.images[i]);
  Params p;
  p.img_ids = subset;
  const auto expected = Evaluate(d, p);
  const SliceStats s = EvaluateSlice(*e, "every third", subset, 2);
  EXPECT_EQ(s.num_images, subset.size());
  EXPECT_EQ(s.stats, expected->stats());
  EXPECT_EQ(s.per_category, expected->PerCategoryStats());
}

TEST(SliceTest, EmptyAndUnknownIdsAreErrors) {
  const Data d = RandomData(9, 10);
  const auto e = Evaluate(d);
  EXPECT_THROW(EvaluateSlice(*e, "none", {}, 1), InputError);
  try {
    EvaluateSlice(*e, "odd", {d.images[0], 4, 6}, 1);
    FAIL() << "no error";
  } catch (const InputError& err) {
    const std::string what = err.what();
    EXPECT_NE(what.find("'odd'"), std::string::npos) << what;
    EXPECT_NE(what.find("4, 6"), std::string::npos) << what;
  }
}

TEST(SliceTest, BuiltinSlicesPartitionTheImages) {
  const Data d = RandomData(11, 60);
  const auto e = Evaluate(d);
  size_t area_total = 0, objects_total = 0;
  for (const NamedSlice& s : BuiltinSlices(*e)) {
    EXPECT_FALSE(s.image_ids.empty()) << s.name;
    if (s.name.rfind("image_area:", 0) == 0) area_total += s.image_ids.size();
    if (s.name.rfind("objects:", 0) == 0 && s.name != "objects:has_crowd") {
      objects_total += s.image_ids.size();
    }
  }
  EXPECT_EQ(area_total, d.images.size());
  EXPECT_EQ(objects_total, d.images.size());
}

TEST(CompareTest, SameModelHasZeroDeltaAndNoSignificance) {
  const auto a = Evaluate(RandomData(12, 40));
  const auto b = Evaluate(RandomData(12, 40));
  const ComparisonResult r = Compare(*a, *b, 50, 3, 0.9, 2);
  ASSERT_EQ(r.stats.size(), a->stats().size());
  for (const DeltaInterval& d : r.stats) {
    EXPECT_EQ(d.delta, 0.0);
    EXPECT_EQ(d.lo, 0.0);
    EXPECT_EQ(d.hi, 0.0);
    EXPECT_FALSE(d.significant);
  }
}

TEST(CompareTest, ResultsDoNotDependOnThreads) {
  const auto a = Evaluate(RandomData(13, 40));
  Data other = RandomData(13, 40);
  for (Box& b : other.dt) b.score = 1.0 - b.score;  // a worse ranking
  const auto b = Evaluate(other);
  const ComparisonResult r1 = Compare(*a, *b, 40, 9, 0.95, 1);
  const ComparisonResult r3 = Compare(*a, *b, 40, 9, 0.95, 3);
  ASSERT_EQ(r1.stats.size(), r3.stats.size());
  for (size_t i = 0; i < r1.stats.size(); ++i) {
    EXPECT_EQ(r1.stats[i].lo, r3.stats[i].lo);
    EXPECT_EQ(r1.stats[i].hi, r3.stats[i].hi);
  }
  EXPECT_LT(r1.stats[0].delta, 0.0);
}

TEST(CompareTest, BadParametersAreErrors) {
  const auto a = Evaluate(RandomData(14, 20));
  const auto b = Evaluate(RandomData(14, 20));
  EXPECT_THROW(Compare(*a, *b, 0, 0, 0.95, 1), InputError);
  EXPECT_THROW(Compare(*a, *b, 10, 0, 1.0, 1), InputError);
  EXPECT_THROW(Compare(*a, *b, 10, 0, 0.0, 1), InputError);
  const auto c = Evaluate(RandomData(14, 21));
  EXPECT_THROW(Compare(*a, *c, 10, 0, 0.95, 1), InputError);
  Params p;
  p.iou_thrs = {0.5};
  const auto d = Evaluate(RandomData(14, 20), p);
  EXPECT_THROW(Compare(*a, *d, 10, 0, 0.95, 1), InputError);
}

}  // namespace
}  // namespace cocoeval
