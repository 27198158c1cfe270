// Ground-truth loading (pycocotools' COCO()): json_scanner.h's fast scan, or
// simdjson's parser, which also words the errors; then ids are sorted and
// checked for duplicates, and annotations resolved to dense indices.
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cocoeval_cc/dataset.h"
#include "cocoeval_cc/dataset_internal.h"
#include "cocoeval_cc/json_scanner.h"

namespace cocoeval {

using internal::CheckBox;
using internal::CopyBuffer;
using internal::Fail;
using internal::GetBox;
using internal::GetDouble;
using internal::GetId;
using internal::GetNumKeypoints;
using internal::IntProblem;
using internal::IsBlank;
using internal::JsonProblem;
using internal::kNaN;
using internal::PaddedBuffer;
using internal::RawList;
using internal::RawSegmentation;
using internal::ReadFile;
using internal::RecordName;
using internal::RecordProblem;

namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

void ParseImages(od::value v, const std::string& src, ScannedGroundTruth* gt) {
  od::array arr;
  if (v.get_array().get(arr)) Fail(src, "images", "must be a list");
  size_t index = 0;
  for (auto elem : arr) {
    od::object obj;
    error_code e = elem.get_object().get(obj);
    if (e) Fail(src, RecordName("images", index, false, 0), RecordProblem(e));
    int64_t id = 0, h = -1, w = -1;
    bool has_id = false;
    for (auto field : obj) {
      od::raw_json_string key;
      if ((e = field.key().get(key)))
        Fail(src, RecordName("images", index, has_id, id), JsonProblem(e));
      od::value val = field.value();
      if (key == "id") {
        if ((e = GetId(val, &id)))
          Fail(src, RecordName("images", index, false, 0), IntProblem("id", e));
        has_id = true;
      } else if (key == "height" || key == "width") {
        int64_t x;
        if ((e = GetId(val, &x)) || x < 0) {
          Fail(src, RecordName("images", index, has_id, id),
               std::string("'") + (key == "height" ? "height" : "width") +
                   "' must be a non-negative integer");
        }
        (key == "height" ? h : w) = x;
      }
    }
    if (!has_id) Fail(src, RecordName("images", index, false, 0), "missing 'id'");
    gt->image_ids.push_back(id);
    gt->image_heights.push_back(h);
    gt->image_widths.push_back(w);
    ++index;
  }
}

void ParseCategories(od::value v, const std::string& src, ScannedGroundTruth* gt) {
  od::array arr;
  if (v.get_array().get(arr)) Fail(src, "categories", "must be a list");
  size_t index = 0;
  for (auto elem : arr) {
    od::object obj;
    error_code e = elem.get_object().get(obj);
    if (e) Fail(src, RecordName("categories", index, false, 0), RecordProblem(e));
    int64_t id = 0;
    bool has_id = false;
    std::string name, super;
    for (auto field : obj) {
      od::raw_json_string key;
      if ((e = field.key().get(key)))
        Fail(src, RecordName("categories", index, has_id, id), JsonProblem(e));
      od::value val = field.value();
      if (key == "id") {
        if ((e = GetId(val, &id)))
          Fail(src, RecordName("categories", index, false, 0), IntProblem("id", e));
        has_id = true;
      } else if (key == "name" || key == "supercategory") {
        std::string_view s;
        if ((e = val.get_string().get(s))) {
          Fail(src, RecordName("categories", index, has_id, id),
               "'name' and 'supercategory' must be strings");
        }
        (key == "name" ? name : super) = std::string(s);
      }
    }
    if (!has_id) Fail(src, RecordName("categories", index, false, 0), "missing 'id'");
    gt->category_ids.push_back(id);
    gt->category_names.push_back(std::move(name));
    gt->category_supercategories.push_back(std::move(super));
    ++index;
  }
}

void ParseAnnotations(od::value v, const std::string& src, const char* doc,
                      ScannedGroundTruth* raw) {
  od::array arr;
  if (v.get_array().get(arr)) Fail(src, "annotations", "must be a list");
  size_t index = 0;
  for (auto elem : arr) {
    od::object obj;
    error_code e = elem.get_object().get(obj);
    if (e) Fail(src, RecordName("annotations", index, false, 0), RecordProblem(e));
    int64_t id = 0, image_id = 0, category_id = 0, iscrowd = 0;
    double box[4] = {kNaN, kNaN, kNaN, kNaN};
    double area = kNaN;
    bool has_id = false, has_image = false, has_cat = false, has_area = false;
    uint64_t seg_b = 0, seg_e = 0, kp_b = 0, kp_e = 0;
    double num_keypoints = kNaN;
    for (auto field : obj) {
      od::raw_json_string key;
      if ((e = field.key().get(key)))
        Fail(src, RecordName("annotations", index, has_id, id), JsonProblem(e));
      od::value val = field.value();
      auto bad = [&](const char* what) {
        Fail(src, RecordName("annotations", index, has_id, id), what);
      };
      if (key == "id") {
        if ((e = GetId(val, &id))) bad(IntProblem("id", e).c_str());
        has_id = true;
      } else if (key == "image_id") {
        if ((e = GetId(val, &image_id))) bad(IntProblem("image_id", e).c_str());
        has_image = true;
      } else if (key == "category_id") {
        if ((e = GetId(val, &category_id))) bad(IntProblem("category_id", e).c_str());
        has_cat = true;
      } else if (key == "area") {
        if (GetDouble(val, &area)) bad("'area' must be a number");
        if (!std::isfinite(area))
          bad("'area' must be finite (NaN, inf or a number out of double range)");
        has_area = true;
      } else if (key == "iscrowd") {
        bool b;
        if (val.get_bool().get(b) == simdjson::SUCCESS) {
          iscrowd = b;
        } else if ((e = GetId(val, &iscrowd))) {
          bad("'iscrowd' must be 0 or 1 (or a boolean)");
        }
      } else if (key == "bbox") {
        const int n = GetBox(val, box, &e);
        if (n != 4) bad("'bbox' must be a list of 4 numbers");
        const std::string problem = CheckBox(box);
        if (!problem.empty()) bad(problem.c_str());
      } else if (key == "segmentation") {
        std::string_view text;
        const std::string problem = RawSegmentation(val, &text);
        if (!problem.empty()) bad(problem.c_str());
        seg_b = static_cast<uint64_t>(text.data() - doc);
        seg_e = seg_b + text.size();
      } else if (key == "keypoints") {
        // Kept as text: decoded by KeypointData for keypoint evaluation only.
        std::string_view text;
        const std::string problem = RawList(val, "keypoints", &text);
        if (!problem.empty()) bad(problem.c_str());
        kp_b = static_cast<uint64_t>(text.data() - doc);
        kp_e = kp_b + text.size();
      } else if (key == "num_keypoints") {
        const std::string problem = GetNumKeypoints(val, &num_keypoints);
        if (!problem.empty()) bad(problem.c_str());
      }
    }
    if (!has_id) Fail(src, RecordName("annotations", index, false, 0), "missing 'id'");
    if (!has_image) Fail(src, RecordName("annotations", index, true, id), "missing 'image_id'");
    if (!has_cat) Fail(src, RecordName("annotations", index, true, id), "missing 'category_id'");
    if (!has_area) Fail(src, RecordName("annotations", index, true, id), "missing 'area'");
    raw->ann_ids.push_back(id);
    raw->ann_image_ids.push_back(image_id);
    raw->ann_category_ids.push_back(category_id);
    raw->ann_bbox.insert(raw->ann_bbox.end(), box, box + 4);
    raw->ann_area.push_back(area);
    raw->ann_iscrowd.push_back(iscrowd != 0);
    raw->segm_begin.push_back(seg_b);
    raw->segm_end.push_back(seg_e);
    raw->keypoints_begin.push_back(kp_b);
    raw->keypoints_end.push_back(kp_e);
    raw->ann_num_keypoints.push_back(num_keypoints);
    ++index;
  }
}

// Sorts a table by id and checks that ids are unique.
std::vector<size_t> SortedOrder(const std::vector<int64_t>& ids, const std::string& src,
                                const char* list) {
  std::vector<size_t> order(ids.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a] < ids[b]; });
  for (size_t i = 1; i < order.size(); ++i) {
    if (ids[order[i]] == ids[order[i - 1]]) {
      Fail(src, RecordName(list, order[i], true, ids[order[i]]),
           "duplicate id (also used by " + std::string(list) + "[" + std::to_string(order[i - 1]) +
               "])");
    }
  }
  return order;
}

template <typename T>
void Permute(std::vector<T>* v, const std::vector<size_t>& order) {
  std::vector<T> out;
  out.reserve(order.size());
  for (size_t i : order) out.push_back(std::move((*v)[i]));
  v->swap(out);
}

// simdjson path: the general parser, with error messages.
void ParseGroundTruthTables(const PaddedBuffer& buf, const std::string& src,
                            ScannedGroundTruth* t) {
  od::parser parser;
  od::document doc;
  error_code e = parser.iterate(buf.data, buf.size, buf.capacity()).get(doc);
  if (e) Fail(src, "", JsonProblem(e));
  od::object root;
  e = doc.get_object().get(root);
  if (e)
    Fail(src, "",
         e == simdjson::INCORRECT_TYPE ? "the top-level value must be an object" : JsonProblem(e));
  bool has_images = false, has_cats = false, has_anns = false;
  for (auto field : root) {
    od::raw_json_string key;
    if ((e = field.key().get(key))) Fail(src, "", JsonProblem(e));
    if (key == "images") {
      if (has_images) Fail(src, "images", "appears twice");
      ParseImages(field.value(), src, t);
      has_images = true;
    } else if (key == "categories") {
      if (has_cats) Fail(src, "categories", "appears twice");
      ParseCategories(field.value(), src, t);
      has_cats = true;
    } else if (key == "annotations") {
      if (has_anns) Fail(src, "annotations", "appears twice");
      ParseAnnotations(field.value(), src, buf.data, t);
      has_anns = true;
    }
  }
  if (doc.current_location().error() == simdjson::SUCCESS) {
    Fail(src, "", "invalid JSON (trailing content after the top-level object)");
  }
  if (!has_images) Fail(src, "", "missing 'images'");
  if (!has_cats) Fail(src, "", "missing 'categories'");
  if (!has_anns) Fail(src, "", "missing 'annotations'");
}

std::unique_ptr<GroundTruth> ParseGroundTruth(std::shared_ptr<PaddedBuffer> buf,
                                              const std::string& src) {
  if (IsBlank(buf->data, buf->size)) Fail(src, "", "empty file");
  ScannedGroundTruth t;
  if (!ScanGroundTruth(buf->data, buf->data + buf->size, &t)) {
    t = ScannedGroundTruth();
    ParseGroundTruthTables(*buf, src, &t);
  }
  auto gt = std::make_unique<GroundTruth>();
  gt->source = src;
  {
    const auto order = SortedOrder(t.image_ids, src, "images");
    gt->image_ids = t.image_ids;
    gt->image_heights = t.image_heights;
    gt->image_widths = t.image_widths;
    Permute(&gt->image_ids, order);
    Permute(&gt->image_heights, order);
    Permute(&gt->image_widths, order);
    gt->image_index.Build(gt->image_ids);
  }
  {
    const auto order = SortedOrder(t.category_ids, src, "categories");
    gt->category_ids = std::move(t.category_ids);
    gt->category_names = std::move(t.category_names);
    gt->category_supercategories = std::move(t.category_supercategories);
    Permute(&gt->category_ids, order);
    Permute(&gt->category_names, order);
    Permute(&gt->category_supercategories, order);
    gt->category_index.Build(gt->category_ids);
  }
  SortedOrder(t.ann_ids, src, "annotations");

  const size_t n = t.ann_ids.size();
  gt->ann_ids.reserve(n);
  gt->ann_image.reserve(n);
  gt->ann_category.reserve(n);
  gt->ann_bbox.reserve(4 * n);
  gt->ann_area.reserve(n);
  gt->ann_iscrowd.reserve(n);
  gt->ann_record.reserve(n);
  gt->ann_segm.begin.reserve(n);
  gt->ann_segm.end.reserve(n);
  gt->ann_keypoints.begin.reserve(n);
  gt->ann_keypoints.end.reserve(n);
  gt->ann_num_keypoints.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t img = gt->image_index.Find(t.ann_image_ids[i]);
    const int64_t cat = gt->category_index.Find(t.ann_category_ids[i]);
    if (img < 0 || cat < 0) continue;  // never evaluated, as in pycocotools
    gt->ann_ids.push_back(t.ann_ids[i]);
    gt->ann_image.push_back(static_cast<uint32_t>(img));
    gt->ann_category.push_back(static_cast<uint32_t>(cat));
    gt->ann_bbox.insert(gt->ann_bbox.end(), &t.ann_bbox[4 * i], &t.ann_bbox[4 * i] + 4);
    gt->ann_area.push_back(t.ann_area[i]);
    gt->ann_iscrowd.push_back(t.ann_iscrowd[i]);
    gt->ann_record.push_back(static_cast<uint32_t>(i));
    gt->ann_segm.begin.push_back(t.segm_begin[i]);
    gt->ann_segm.end.push_back(t.segm_end[i]);
    gt->ann_keypoints.begin.push_back(t.keypoints_begin[i]);
    gt->ann_keypoints.end.push_back(t.keypoints_end[i]);
    gt->ann_num_keypoints.push_back(t.ann_num_keypoints[i]);
  }
  // The segmentation texts stay in the document, which the ground truth
  // keeps (no copy); they are parsed only for segm evaluation.
  gt->ann_segm.base = buf->data;
  gt->ann_keypoints.base = buf->data;
  gt->ann_keypoints.owner = buf;
  gt->ann_segm.owner = std::move(buf);
  return gt;
}

}  // namespace

std::unique_ptr<GroundTruth> LoadGroundTruthFile(const std::string& path) {
  auto buf = std::make_shared<PaddedBuffer>();
  ReadFile(path, buf.get());
  return ParseGroundTruth(std::move(buf), path);
}

std::unique_ptr<GroundTruth> LoadGroundTruthBuffer(std::string_view json,
                                                   const std::string& source) {
  auto buf = std::make_shared<PaddedBuffer>();
  CopyBuffer(json, buf.get());
  return ParseGroundTruth(std::move(buf), source);
}

}  // namespace cocoeval
