// Segmentations to compressed masks: SegmentationToRle (polygons,
// uncompressed and compressed RLE, as pycocotools' annToRLE) and the lazy,
// parallel GroundTruth::MaskData / Detections::MaskData.
#include <simdjson.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cocoeval_cc/dataset.h"
#include "cocoeval_cc/dataset_internal.h"
#include "cocoeval_cc/errors.h"
#include "cocoeval_cc/mask.h"
#include "cocoeval_cc/parallel_for.h"

namespace cocoeval {

using internal::GetDouble;
using internal::JsonProblem;
using internal::ResultName;

namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

std::string Prefix(const std::string& what) { return what.empty() ? std::string() : what + ": "; }

Rle DecodeRleObject(od::object obj, int64_t h, int64_t w, const std::string& what) {
  std::string_view counts_str;
  std::vector<uint32_t> counts;
  bool has_counts = false, compressed = false;
  int64_t size[2] = {-1, -1};
  bool has_size = false;
  error_code e;
  for (auto field : obj) {
    od::raw_json_string key;
    if ((e = field.key().get(key))) throw InputError(Prefix(what) + "" + JsonProblem(e));
    od::value val = field.value();
    if (key == "counts") {
      od::json_type type;
      if ((e = val.type().get(type))) throw InputError(Prefix(what) + "" + JsonProblem(e));
      if (type == od::json_type::string) {
        if (val.get_string().get(counts_str))
          throw InputError(Prefix(what) + "malformed RLE 'counts' string");
        compressed = true;
      } else if (type == od::json_type::array) {
        od::array arr;
        if (val.get_array().get(arr))
          throw InputError(Prefix(what) + "RLE 'counts' must be a string or a list");
        for (auto c : arr) {
          int64_t x;
          if (c.get_int64().get(x) || x < 0 || x > 0xFFFFFFFFll) {
            throw InputError(Prefix(what) + "RLE 'counts' must hold non-negative integers");
          }
          counts.push_back(static_cast<uint32_t>(x));
        }
      } else {
        throw InputError(Prefix(what) + "RLE 'counts' must be a string or a list");
      }
      has_counts = true;
    } else if (key == "size") {
      od::array arr;
      if (val.get_array().get(arr))
        throw InputError(Prefix(what) + "RLE 'size' must be [height, width]");
      int n = 0;
      for (auto c : arr) {
        int64_t x;
        if (n >= 2 || c.get_int64().get(x) || x < 0)
          throw InputError(Prefix(what) + "RLE 'size' must be [height, width]");
        size[n++] = x;
      }
      if (n != 2) throw InputError(Prefix(what) + "RLE 'size' must be [height, width]");
      has_size = true;
    }
  }
  if (!has_counts || !has_size)
    throw InputError(Prefix(what) + "RLE segmentation needs 'counts' and 'size'");
  if (size[0] != h || size[1] != w) {
    throw InputError(Prefix(what) + "mask size [" + std::to_string(size[0]) + ", " +
                     std::to_string(size[1]) + "] does not match the image size [" +
                     std::to_string(h) + ", " + std::to_string(w) + "]");
  }
  Rle rle;
  if (compressed) {
    try {
      rle = FromString(counts_str, static_cast<uint64_t>(h), static_cast<uint64_t>(w));
    } catch (const InputError& err) {
      throw InputError(Prefix(what) + "malformed RLE 'counts' string: " + err.what());
    }
  } else {
    rle.h = static_cast<uint64_t>(h);
    rle.w = static_cast<uint64_t>(w);
    rle.counts = std::move(counts);
  }
  uint64_t total = 0;
  for (uint32_t c : rle.counts) total += c;
  if (total != rle.h * rle.w) {
    throw InputError(Prefix(what) + "malformed RLE: counts add up to " + std::to_string(total) +
                     " pixels, the mask has " + std::to_string(rle.h * rle.w));
  }
  return rle;
}

Rle DecodePolygons(od::array polys, int64_t h, int64_t w, const std::string& what) {
  std::vector<std::vector<double>> coords;
  for (auto p : polys) {
    od::array arr;
    if (p.get_array().get(arr))
      throw InputError(Prefix(what) + "a polygon must be a list of numbers");
    std::vector<double> xy;
    for (auto c : arr) {
      double x;
      od::value cv;
      if (c.get(cv) || GetDouble(cv, &x) || !std::isfinite(x)) {
        throw InputError(Prefix(what) + "polygon coordinates must be finite numbers");
      }
      xy.push_back(x);
    }
    coords.push_back(std::move(xy));
  }
  if (coords.empty()) throw InputError(Prefix(what) + "empty polygon list");
  const uint64_t uh = static_cast<uint64_t>(h), uw = static_cast<uint64_t>(w);
  std::vector<Rle> parts;
  parts.reserve(coords.size());
  // frPyObjects reads a list whose first entry has 4 numbers as boxes.
  if (coords[0].size() == 4) {
    for (const auto& c : coords) {
      if (c.size() != 4) throw InputError(Prefix(what) + "polygon list mixes boxes and polygons");
      parts.push_back(FromBbox(c.data(), uh, uw));
    }
  } else if (coords[0].size() < 4) {
    throw InputError(Prefix(what) + "a polygon needs at least 3 points");
  } else {
    for (const auto& c : coords) parts.push_back(FromPolygon(c.data(), c.size(), uh, uw));
  }
  if (parts.size() == 1) return std::move(parts[0]);
  std::vector<const Rle*> ptrs;
  for (const auto& r : parts) ptrs.push_back(&r);
  return Merge(ptrs, false);
}

}  // namespace

const MaskSet& GroundTruth::MaskData(int num_threads) const {
  std::lock_guard<std::mutex> lock(masks_mutex_);
  if (masks_ready_) return masks_;
  MaskSet masks;
  masks.Resize(ann_ids.size());
  ParallelFor(masks.size(), ResolveThreads(num_threads), /*block_size=*/256, [&](size_t i) {
    auto name = [&] { return source + ": " + AnnotationName(i); };
    if (!ann_segm.Has(i))
      throw InputError(name() + ": missing 'segmentation' (needed for segm evaluation)");
    const uint32_t img = ann_image[i];
    try {
      masks.Set(i, SegmentationToRle(ann_segm.Get(i), image_heights[img], image_widths[img], ""));
    } catch (const InputError& err) {
      throw InputError(name() + ": " + err.what());
    }
  });
  masks_ = std::move(masks);
  masks_ready_ = true;
  return masks_;
}

const MaskSet& Detections::MaskData(const GroundTruth& gt, int num_threads) const {
  if (keypoint_mode) {
    // pycocotools' keypoints branch of loadRes makes no segmentation.
    throw InputError(source +
                     ": keypoint results (no 'bbox' or 'segmentation' on the first result) have "
                     "no masks for segm evaluation");
  }
  if (!bbox_mode) return segm_masks;
  std::lock_guard<std::mutex> lock(masks_mutex_);
  if (masks_ready_) return masks_;
  MaskSet masks;
  masks.Resize(size());
  ParallelFor(masks.size(), ResolveThreads(num_threads), /*block_size=*/256, [&](size_t i) {
    const uint32_t img = image[i];
    const int64_t h = gt.image_heights[img], w = gt.image_widths[img];
    auto name = [&] { return source + ": " + ResultName(i, true, gt.image_ids[img]); };
    if (h < 0 || w < 0) {
      throw InputError(name() + ": image " + std::to_string(gt.image_ids[img]) +
                       " has no height/width in the ground truth (needed for segm evaluation)");
    }
    if (segm.Has(i)) {
      try {
        masks.Set(i, SegmentationToRle(segm.Get(i), h, w, ""));
      } catch (const InputError& err) {
        throw InputError(name() + ": " + err.what());
      }
    } else {
      // loadRes turns a bbox-only result into the polygon of its box.
      const double* b = &bbox[4 * i];
      const double x1 = b[0], x2 = b[0] + b[2], y1 = b[1], y2 = b[1] + b[3];
      const double poly[8] = {x1, y1, x1, y2, x2, y2, x2, y1};
      masks.Set(i, FromPolygon(poly, 8, static_cast<uint64_t>(h), static_cast<uint64_t>(w)));
    }
  });
  masks_ = std::move(masks);
  masks_ready_ = true;
  return masks_;
}

Rle SegmentationToRle(std::string_view json, int64_t h, int64_t w, const std::string& what) {
  if (h < 0 || w < 0)
    throw InputError(Prefix(what) + "the image has no height/width (needed for masks)");
  // COCO's RLE (pycocotools' maskApi) counts pixels in 32 bits: a larger mask cannot be encoded.
  if (static_cast<uint64_t>(h) * static_cast<uint64_t>(w) > 0xFFFFFFFFull) {
    throw InputError(Prefix(what) + "the image is " + std::to_string(h) + "x" + std::to_string(w) +
                     ", " + std::to_string(h * w) +
                     " pixels: more than COCO's run-length masks can describe (2^32 - 1 "
                     "pixels, 32-bit counts as in pycocotools); masks need a smaller image");
  }
  thread_local od::parser parser;  // reused: its buffers outlive the call
  od::document doc;
  error_code e =
      parser.iterate(json.data(), json.size(), json.size() + simdjson::SIMDJSON_PADDING).get(doc);
  if (e) throw InputError(Prefix(what) + "segmentation: " + JsonProblem(e));
  od::json_type type;
  if ((e = doc.type().get(type)))
    throw InputError(Prefix(what) + "segmentation: " + JsonProblem(e));
  if (type == od::json_type::array) {
    od::array arr;
    if ((e = doc.get_array().get(arr)))
      throw InputError(Prefix(what) + "segmentation: " + JsonProblem(e));
    return DecodePolygons(arr, h, w, what);
  }
  od::object obj;
  if ((e = doc.get_object().get(obj)))
    throw InputError(Prefix(what) + "segmentation: " + JsonProblem(e));
  return DecodeRleObject(obj, h, w, what);
}

}  // namespace cocoeval
