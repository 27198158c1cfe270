#include "cocoeval_cc/dataset.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "cocoeval_cc/errors.h"

namespace cocoeval {
namespace {

const char kGt[] = R"({"info": {"x": [1, {"y": "z"}]},
  "images": [{"id": 3, "height": 20, "width": 30, "file_name": "a.jpg"},
             {"id": 1, "height": 10, "width": 10},
             {"id": 9000000000, "height": 10, "width": 10}],
  "categories": [{"id": 7, "name": "cat", "supercategory": "animal"}, {"id": 0, "name": "zero"}],
  "annotations": [
    {"id": 5, "image_id": 3, "category_id": 7, "bbox": [1, 2, 3, 4], "area": 12.5, "iscrowd": 0,
     "segmentation": [[1, 2, 4, 2, 4, 6, 1, 6]]},
    {"id": 6, "image_id": 1, "category_id": 0, "bbox": [0, 0, 2, 2], "area": 4, "iscrowd": true,
     "segmentation": {"counts": [10, 20, 70], "size": [10, 10]}},
    {"id": 8, "image_id": 42, "category_id": 7, "bbox": [0, 0, 1, 1], "area": 1}]})";

std::unique_ptr<GroundTruth> Gt() { return LoadGroundTruthBuffer(kGt, "gt.json"); }

std::string ErrorOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(GroundTruthTest, Loads) {
  auto gt = Gt();
  EXPECT_EQ(gt->image_ids, (std::vector<int64_t>{1, 3, 9000000000}));
  EXPECT_EQ(gt->image_heights[1], 20);
  EXPECT_EQ(gt->category_ids, (std::vector<int64_t>{0, 7}));
  EXPECT_EQ(gt->category_names[1], "cat");
  // The annotation of unknown image 42 can never be evaluated: dropped.
  ASSERT_EQ(gt->num_annotations(), 2u);
  EXPECT_EQ(gt->ann_ids[0], 5);
  EXPECT_EQ(gt->ann_image[0], 1u);
  EXPECT_EQ(gt->ann_category[0], 1u);
  EXPECT_EQ(gt->ann_area[0], 12.5);
  EXPECT_EQ(gt->ann_iscrowd[1], 1);
  EXPECT_EQ(gt->image_index.Find(9000000000), 2);
  EXPECT_EQ(gt->image_index.Find(2), -1);
  EXPECT_EQ(gt->category_index.Find(0), 0);
  const std::vector<Rle>& masks = gt->Masks(2);
  ASSERT_EQ(masks.size(), 2u);
  EXPECT_EQ(masks[1].counts, (std::vector<uint32_t>{10, 20, 70}));
  EXPECT_EQ(masks[0].h, 20u);
  EXPECT_EQ(masks[0].w, 30u);
}

TEST(GroundTruthTest, FastAndGeneralParsersAgree) {
  // A non-ASCII string sends the same document through simdjson.
  std::string general = kGt;
  general.replace(general.find("\"y\": \"z\""), 8, "\"y\": \"\u00e9\xc3\xa9\"");
  auto fast = LoadGroundTruthBuffer(kGt, "gt.json");
  auto slow = LoadGroundTruthBuffer(general, "gt.json");
  EXPECT_EQ(fast->image_ids, slow->image_ids);
  EXPECT_EQ(fast->image_heights, slow->image_heights);
  EXPECT_EQ(fast->category_names, slow->category_names);
  EXPECT_EQ(fast->ann_ids, slow->ann_ids);
  EXPECT_EQ(fast->ann_area, slow->ann_area);
  EXPECT_EQ(fast->ann_iscrowd, slow->ann_iscrowd);
  ASSERT_EQ(fast->num_annotations(), slow->num_annotations());
  for (size_t i = 0; i < fast->num_annotations(); ++i) {
    EXPECT_EQ(fast->ann_segm.Get(i), slow->ann_segm.Get(i));
    EXPECT_EQ(fast->Masks(1)[i].counts, slow->Masks(1)[i].counts);
  }
}

TEST(GroundTruthTest, Errors) {
  EXPECT_TRUE(Contains(ErrorOf([] { LoadGroundTruthBuffer("", "g.json"); }), "g.json: empty file"));
  EXPECT_TRUE(
      Contains(ErrorOf([] { LoadGroundTruthBuffer("{\"images\": [", "g.json"); }), "invalid JSON"));
  EXPECT_TRUE(
      Contains(ErrorOf([] { LoadGroundTruthBuffer("[]", "g.json"); }), "must be an object"));
  EXPECT_TRUE(Contains(
      ErrorOf([] { LoadGroundTruthBuffer(R"({"images": [], "categories": []})", "g.json"); }),
      "missing 'annotations'"));
  const std::string bad_ann = R"({"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [
      {"id": 4, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1},
      {"id": 456, "image_id": 1, "category_id": 1, "bbox": [0, 0, -1, 1], "area": 1}]})";
  const std::string e = ErrorOf([&] { LoadGroundTruthBuffer(bad_ann, "g.json"); });
  EXPECT_TRUE(Contains(e, "g.json: annotations[1] (id 456): bbox has a negative width or height"))
      << e;
  const std::string dup =
      R"({"images": [{"id": 1}, {"id": 1}], "categories": [], "annotations": []})";
  EXPECT_TRUE(Contains(ErrorOf([&] { LoadGroundTruthBuffer(dup, "g.json"); }), "duplicate id"));
  const std::string no_area = R"({"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [
      {"id": 4, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]})";
  EXPECT_TRUE(Contains(ErrorOf([&] { LoadGroundTruthBuffer(no_area, "g.json"); }),
                       "annotations[0] (id 4): missing 'area'"));
  const std::string typed = R"({"images": [{"id": "1"}], "categories": [], "annotations": []})";
  EXPECT_TRUE(Contains(ErrorOf([&] { LoadGroundTruthBuffer(typed, "g.json"); }),
                       "images[0]: 'id' must be an integer"));
  EXPECT_TRUE(Contains(ErrorOf([] { LoadGroundTruthFile("/nonexistent/x.json"); }),
                       "/nonexistent/x.json: cannot open file"));
}

// Every number the loaders read: values that overflow a double (1e400) or
// an int64 must raise an InputError naming the source, record and field,
// on the scanner fast path and the simdjson path alike.
TEST(GroundTruthTest, HugeAndNonFiniteNumbersAreErrors) {
  const std::string base =
      R"({"images": [{"id": 1, "height": 10, "width": 10}], "categories": [{"id": 1}],
    "annotations": [{"id": 4, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1,
                     "iscrowd": 0}]})";
  ASSERT_EQ(ErrorOf([&] { LoadGroundTruthBuffer(base, "g.json"); }), "");
  struct Case {
    const char* from;
    const char* to;
    const char* expect;
  };
  const Case cases[] = {
      {R"("area": 1)", R"("area": 1e400)", "g.json: annotations[0] (id 4): 'area' must be finite"},
      {R"("area": 1)", R"("area": -1e400)", "annotations[0] (id 4): 'area'"},
      {R"("bbox": [0, 0, 1, 1])", R"("bbox": [0, 1e400, 1, 1])",
       "annotations[0] (id 4): bbox has a NaN or infinite"},
      {R"("id": 4,)", R"("id": 1e400,)",
       "annotations[0]: 'id' must be an integer (the value is out of the int64 range"},
      {R"("id": 4,)", R"("id": 9223372036854775808,)",
       "annotations[0]: 'id' must be an integer (the value is out"},
      {R"("id": 4,)", R"("id": -9223372036854775809,)", "annotations[0]: 'id' must be an integer"},
      {R"("image_id": 1, "category_id": 1, "bbox")",
       R"("image_id": 1e19, "category_id": 1, "bbox")",
       "annotations[0] (id 4): 'image_id' must be an integer"},
      {R"("category_id": 1, "bbox")", R"("category_id": 1e400, "bbox")",
       "annotations[0] (id 4): 'category_id'"},
      {R"("iscrowd": 0)", R"("iscrowd": 1e400)", "annotations[0] (id 4): 'iscrowd'"},
      {R"("height": 10)", R"("height": 1e400)", "images[0] (id 1): 'height'"},
      {R"("width": 10)", R"("width": 99999999999999999999)", "images[0] (id 1): 'width'"},
      {R"({"id": 1, "height")", R"({"id": 1e400, "height")", "images[0]: 'id' must be an integer"},
      {R"("categories": [{"id": 1}])", R"("categories": [{"id": -1e400}])",
       "categories[0]: 'id' must be an integer"},
  };
  for (const Case& c : cases) {
    std::string text = base;
    const size_t at = text.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    text.replace(at, std::strlen(c.from), c.to);
    const std::string e = ErrorOf([&] { LoadGroundTruthBuffer(text, "g.json"); });
    EXPECT_TRUE(Contains(e, c.expect)) << c.to << " -> " << e;
  }
  // The largest int64 id is fine.
  std::string text = base;
  text.replace(text.find(R"("id": 4,)"), 8, R"("id": 9223372036854775807,)");
  EXPECT_EQ(ErrorOf([&] { LoadGroundTruthBuffer(text, "g.json"); }), "");
}

TEST(DetectionsTest, HugeNumbersAreErrors) {
  auto gt = Gt();
  const char* cases[][2] = {
      {R"([{"image_id": 3, "category_id": 7, "bbox": [1, 2, 3, 4], "score": 1e400}])",
       "results[0] (image_id 3): 'score' must be finite"},
      {R"([{"image_id": 3, "category_id": 7, "bbox": [1, 2, 1e400, 4], "score": 0.5}])",
       "results[0] (image_id 3): bbox has a NaN or infinite"},
      {R"([{"image_id": 1e400, "category_id": 7, "bbox": [1, 2, 3, 4], "score": 0.5}])",
       "results[0]: 'image_id' must be an integer (the value is out"},
      {R"([{"image_id": 3, "category_id": 18446744073709551616, "bbox": [1, 2, 3, 4], "score": 0.5}])",
       "results[0] (image_id 3): 'category_id' must be an integer"},
  };
  for (const auto& c : cases) {
    const std::string e = ErrorOf([&] { LoadDetectionsBuffer(*gt, c[0], "r.json", 1); });
    EXPECT_TRUE(Contains(e, std::string("r.json: ") + c[1])) << c[0] << " -> " << e;
  }
}

TEST(GroundTruthTest, MaskErrors) {
  const std::string bad_rle =
      R"({"images": [{"id": 1, "height": 10, "width": 10}], "categories": [{"id": 1}],
    "annotations": [{"id": 4, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1,
                     "segmentation": {"counts": "!!bad", "size": [10, 10]}}]})";
  auto gt = LoadGroundTruthBuffer(bad_rle, "g.json");
  const std::string e = ErrorOf([&] { gt->Masks(1); });
  EXPECT_TRUE(Contains(e, "g.json: annotations[0] (id 4): malformed RLE")) << e;
  const std::string bad_size =
      R"({"images": [{"id": 1, "height": 10, "width": 10}], "categories": [{"id": 1}],
    "annotations": [{"id": 4, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1,
                     "segmentation": {"counts": [100], "size": [20, 5]}}]})";
  auto gt2 = LoadGroundTruthBuffer(bad_size, "g.json");
  EXPECT_TRUE(Contains(ErrorOf([&] { gt2->Masks(1); }), "does not match the image size"));
}

TEST(DetectionsTest, LoadsWithLoadResSemantics) {
  auto gt = Gt();
  const std::string res = R"([
    {"image_id": 3, "category_id": 7, "bbox": [1.5, 2, 3, 4], "score": 0.25, "id": 99, "area": 1},
    {"image_id": 9000000000.0, "category_id": 0, "bbox": [0, 0, 2, 0.5], "score": 1}])";
  auto dt = LoadDetectionsBuffer(*gt, res, "r.json", 1);
  ASSERT_EQ(dt->size(), 2u);
  EXPECT_TRUE(dt->bbox_mode);
  EXPECT_EQ(dt->image, (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(dt->category, (std::vector<uint32_t>{1, 0}));
  EXPECT_EQ(dt->area[0], 12.0);  // w * h, whatever 'area' says
  EXPECT_EQ(dt->area[1], 1.0);
  EXPECT_EQ(dt->bbox[0], 1.5);
}

TEST(DetectionsTest, FastAndGeneralParsersAgree) {
  auto gt = Gt();
  std::string plain = "[", with_segm = "[";
  for (int i = 0; i < 2000; ++i) {
    char rec[256];
    std::snprintf(rec, sizeof(rec),
                  "{\"image_id\": %d, \"category_id\": 7, \"bbox\": [%.17g, %.3f, %de-2, 0.%d], "
                  "\"score\": %.*g}",
                  i % 2 ? 1 : 3, i * 0.1234567891234, i * 0.5, i, i + 1, 1 + i % 17, 1.0 / (i + 3));
    plain += std::string(i ? "," : "") + rec;
    std::string r = rec;
    if (i == 0) r.insert(1, "\"segmentation\": [[0, 0, 1, 0, 1, 1]], ");
    with_segm += std::string(i ? "," : "") + r;
  }
  plain += "]";
  with_segm += "]";
  auto fast = LoadDetectionsBuffer(*gt, plain, "r.json", 2);
  auto general = LoadDetectionsBuffer(*gt, with_segm, "r.json", 2);
  EXPECT_EQ(fast->bbox, general->bbox);
  EXPECT_EQ(fast->score, general->score);
  EXPECT_EQ(fast->image, general->image);
}

TEST(DetectionsTest, Errors) {
  auto gt = Gt();
  auto err = [&](const std::string& json) {
    return ErrorOf([&] { LoadDetectionsBuffer(*gt, json, "r.json", 1); });
  };
  EXPECT_TRUE(Contains(err("[]"), "r.json: no results"));
  EXPECT_TRUE(Contains(err("  "), "r.json: empty file"));
  EXPECT_TRUE(Contains(err("{}"), "results must be a list"));
  EXPECT_TRUE(Contains(err("[{\"image_id\": 1,"), "invalid JSON"));
  EXPECT_TRUE(
      Contains(err(R"([{"image_id": 1, "category_id": 0, "bbox": [0, 0, 1, 1], "score": 1}] x)"),
               "invalid JSON"));
  std::string e = err(R"([{"image_id": 1, "category_id": 0, "bbox": [0, 0, 1, 1], "score": 1},
                          {"image_id": 2, "category_id": 0, "bbox": [0, 0, 1, 1], "score": 1}])");
  EXPECT_TRUE(
      Contains(e, "r.json: results[1] (image_id 2): image_id 2 is not in the ground truth gt.json"))
      << e;
  e = err(R"([{"image_id": 1, "category_id": 5, "bbox": [0, 0, 1, 1], "score": 1}])");
  EXPECT_TRUE(Contains(e, "category_id 5 is not in the ground truth")) << e;
  e = err(R"([{"image_id": 1, "category_id": 0, "bbox": [0, 0, 1], "score": 1}])");
  EXPECT_TRUE(Contains(e, "'bbox' must be a list of 4 numbers")) << e;
  e = err(R"([{"image_id": 1, "category_id": 0, "bbox": [0, 0, 1, -2], "score": 1}])");
  EXPECT_TRUE(Contains(e, "negative width or height")) << e;
  e = err(R"([{"image_id": 1, "category_id": 0, "bbox": [0, 0, 1, 1e400], "score": 1}])");
  EXPECT_TRUE(Contains(e, "NaN or infinite")) << e;
  e = err(R"([{"image_id": 1, "category_id": 0, "bbox": [0, 0, 1, 1]}])");
  EXPECT_TRUE(Contains(e, "results[0] (image_id 1): missing 'score'")) << e;
  e = err(R"([{"image_id": 1, "category_id": 0, "bbox": [0, 0, 1, 1], "score": "high"}])");
  EXPECT_TRUE(Contains(e, "'score' must be a number")) << e;
  e = err(R"([{"image_id": 1, "category_id": 0, "score": 1}])");
  EXPECT_TRUE(Contains(e, "no 'bbox', 'segmentation' or 'keypoints'")) << e;
  e = err(
      R"([{"image_id": 1, "category_id": 0, "score": 1, "segmentation": {"counts": "0@", "size": [10, 10]}}])");
  EXPECT_TRUE(Contains(e, "malformed RLE")) << e;
  e = err(
      R"([{"image_id": 1, "category_id": 0, "score": 1, "segmentation": {"counts": [100], "size": [10, 9]}}])");
  EXPECT_TRUE(Contains(e, "does not match the image size")) << e;
  e = err(R"([{"image_id": 1.5, "category_id": 0, "bbox": [0, 0, 1, 1], "score": 1}])");
  EXPECT_TRUE(Contains(e, "'image_id' must be an integer")) << e;
}

TEST(DetectionsTest, ArrayRows) {
  auto gt = Gt();
  const double rows[] = {3,   1, 2, 3, 4, 0.5,  7,  //
                         1.9, 0, 0, 1, 1, 0.25, 0};
  auto dt = LoadDetectionsArray(*gt, rows, 2, "array");
  EXPECT_EQ(dt->image, (std::vector<uint32_t>{1, 0}));  // int(1.9) == 1
  EXPECT_EQ(dt->area[0], 12.0);
  const double bad[] = {3, 1, 2, NAN, 4, 0.5, 7};
  EXPECT_TRUE(Contains(ErrorOf([&] { LoadDetectionsArray(*gt, bad, 1, "array"); }),
                       "array: row 0: bbox has a NaN"));
}

TEST(DetectionsTest, FileLoadingMatchesBuffer) {
  auto gt = Gt();
  std::string res = "[";
  for (int i = 0; i < 5000; ++i) {
    res += std::string(i ? ",\n" : "") +
           "{\"image_id\": 3, \"category_id\": 7, \"bbox\": [1, 2, 3, " + std::to_string(i) +
           "], \"score\": 0." + std::to_string(i) + "}";
  }
  res += "]";
  const std::string path = ::testing::TempDir() + "/results_test.json";
  std::ofstream(path) << res;
  auto from_file = LoadDetectionsFile(*gt, path, 2);
  auto from_buffer = LoadDetectionsBuffer(*gt, res, path, 1);
  EXPECT_EQ(from_file->bbox, from_buffer->bbox);
  EXPECT_EQ(from_file->score, from_buffer->score);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace cocoeval
