// libFuzzer target for the JSON loaders: arbitrary bytes go to the ground-truth
// loader, or (with a small fixed valid ground truth) to the results loader.
// Every problem must surface as InputError: never a crash, a leak, an
// out-of-bounds read or undefined behaviour.
//
// Both parsers are exercised: the hand-written scanner (the fast path) and
// the simdjson path it falls back to. Whenever the fast path accepts a
// document, the same document with an escaped key added (which the scanner
// refuses, so simdjson parses it) must load to bit-identical tables.
// Documents that load are then evaluated (bbox, segm when the masks decode,
// and keypoints with two-keypoint sigmas), so odd values travel through
// evaluate / accumulate / summarize.
//
// Input layout: byte 0 selects the mode (even: ground truth, odd: results);
// the rest is the JSON document. The loaders' file API maps files; the
// target uses the buffer API.
//
// Build and run: cocoeval_cc/fuzz/run_fuzz.sh

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cocoeval_cc/dataset.h"
#include "cocoeval_cc/errors.h"
#include "cocoeval_cc/evaluator.h"
#include "cocoeval_cc/json_scanner.h"
#include "cocoeval_cc/params.h"

namespace {

using cocoeval::Detections;
using cocoeval::GroundTruth;
using cocoeval::InputError;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "json_fuzz: check failed: %s\n", what);
    std::abort();
  }
}

template <typename T>
bool SameBits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

// A small, valid ground truth with polygons, compressed and uncompressed RLE,
// a crowd region, an image without size and ids of 0 and past 2**32.
constexpr char kFixedGt[] = R"({"images": [
    {"id": 1, "height": 10, "width": 20}, {"id": 2, "height": 8, "width": 8},
    {"id": 0, "height": 16, "width": 12}, {"id": 5000000000, "height": 4, "width": 4},
    {"id": 7}],
  "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 0, "name": "z"}],
  "annotations": [
    {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 4], "area": 20, "iscrowd": 0,
     "segmentation": [[1, 1, 6, 1, 6, 5, 1, 5]], "keypoints": [2, 2, 2, 4, 3, 1],
     "num_keypoints": 2},
    {"id": 2, "image_id": 2, "category_id": 2, "bbox": [0, 0, 4, 4], "area": 16, "iscrowd": 1,
     "segmentation": {"size": [8, 8], "counts": [0, 4, 4, 4, 4, 4, 4, 4, 4, 32]}},
    {"id": 0, "image_id": 0, "category_id": 0, "bbox": [2, 2, 6, 9], "area": 1024, "iscrowd": 0,
     "segmentation": [[2, 2, 8, 2, 8, 11, 2, 11], [0, 0, 1, 0, 1, 1]]},
    {"id": 4, "image_id": 5000000000, "category_id": 1, "bbox": [0, 0, 2, 2], "area": 4,
     "iscrowd": 0, "segmentation": {"size": [4, 4], "counts": "04000"}},
    {"id": 5, "image_id": 1, "category_id": 1, "bbox": [3, 2, 5, 4], "area": 9216, "iscrowd": 0,
     "segmentation": [[3, 2, 8, 2, 8, 6, 3, 6]], "keypoints": [0, 0, 0, 0, 0, 0],
     "num_keypoints": 0}]})";

const GroundTruth& FixedGt() {
  static const std::shared_ptr<GroundTruth> gt(
      cocoeval::LoadGroundTruthBuffer(kFixedGt, "fixed_gt.json"));
  return *gt;
}

// Inserts an escaped key after the first '{' so that the scanner gives up and
// the simdjson path parses the same content. Returns "" without a '{'.
std::string ForceGeneralPath(std::string_view doc) {
  const size_t brace = doc.find('{');
  if (brace == std::string_view::npos) return "";
  std::string out(doc.substr(0, brace + 1));
  out += R"("\u0078": 0, )";
  out += doc.substr(brace + 1);
  return out;
}

// The two parsers delimit the same 'keypoints' texts (at other offsets: the
// general path's document has an extra key).
bool SameKeypointTexts(const GroundTruth& a, const GroundTruth& b) {
  for (size_t i = 0; i < a.num_annotations(); ++i) {
    if (a.ann_keypoints.Has(i) != b.ann_keypoints.Has(i)) return false;
    if (a.ann_keypoints.Has(i) && a.ann_keypoints.Get(i) != b.ann_keypoints.Get(i)) return false;
  }
  return true;
}

bool SameGroundTruth(const GroundTruth& a, const GroundTruth& b) {
  return SameBits(a.image_ids, b.image_ids) && SameBits(a.image_heights, b.image_heights) &&
         SameBits(a.image_widths, b.image_widths) && SameBits(a.category_ids, b.category_ids) &&
         a.category_names == b.category_names &&
         a.category_supercategories == b.category_supercategories &&
         SameBits(a.ann_ids, b.ann_ids) && SameBits(a.ann_image, b.ann_image) &&
         SameBits(a.ann_category, b.ann_category) && SameBits(a.ann_bbox, b.ann_bbox) &&
         SameBits(a.ann_area, b.ann_area) && SameBits(a.ann_iscrowd, b.ann_iscrowd) &&
         SameBits(a.ann_record, b.ann_record) &&
         SameBits(a.ann_num_keypoints, b.ann_num_keypoints) && SameKeypointTexts(a, b);
}

bool SameDetections(const Detections& a, const Detections& b) {
  return a.bbox_mode == b.bbox_mode && a.keypoint_mode == b.keypoint_mode &&
         SameBits(a.kp_xy, b.kp_xy) && SameBits(a.kp_begin, b.kp_begin) &&
         SameBits(a.image, b.image) && SameBits(a.category, b.category) &&
         SameBits(a.bbox, b.bbox) && SameBits(a.score, b.score) && SameBits(a.area, b.area);
}

// Mask decoding costs h * w per object: only for small images.
bool SmallImages(const GroundTruth& gt) {
  for (size_t i = 0; i < gt.image_ids.size(); ++i) {
    const int64_t h = gt.image_heights[i], w = gt.image_widths[i];
    if (h > 256 || w > 256) return false;
  }
  return true;
}

// evaluate + accumulate + summarize + per-category, single-threaded;
// InputError (e.g. missing boxes or masks) is an acceptable outcome.
void Evaluate(const std::shared_ptr<const GroundTruth>& gt,
              const std::shared_ptr<const Detections>& dt, cocoeval::IouType type) {
  cocoeval::Params p = cocoeval::DefaultParams(type);
  if (type == cocoeval::IouType::kKeypoints) p.kpt_oks_sigmas = {0.1, 0.25};
  try {
    cocoeval::Evaluator ev(gt, dt, p, 1);
    ev.Evaluate();
    ev.Accumulate();
    const std::vector<double>& stats = ev.Summarize();
    for (double s : stats) Check(s == -1.0 || (s >= 0.0 && s <= 1.0), "stat out of range");
    const std::vector<double> per_cat = ev.PerCategoryStats();
    Check(per_cat.size() == stats.size() * ev.category_axis().size(), "per-category shape");
    // Shards merge and round-trip to the same state.
    const std::string bytes = cocoeval::SerializeState(ev.state());
    Check(cocoeval::SerializeState(cocoeval::DeserializeState(bytes)) == bytes, "state round trip");
  } catch (const InputError&) {
  }
}

void FuzzGroundTruth(std::string_view doc) {
  cocoeval::ScannedGroundTruth scanned;
  const bool fast = cocoeval::ScanGroundTruth(doc.data(), doc.data() + doc.size(), &scanned);
  std::shared_ptr<GroundTruth> gt;
  try {
    gt.reset(cocoeval::LoadGroundTruthBuffer(doc, "gt.json").release());
  } catch (const InputError& e) {
    Check(std::strncmp(e.what(), "gt.json", 7) == 0, "error message names the source");
    return;
  }
  if (fast) {
    const std::string general = ForceGeneralPath(doc);
    std::unique_ptr<GroundTruth> again;
    try {
      again = cocoeval::LoadGroundTruthBuffer(general, "gt.json");
    } catch (const InputError& e) {
      std::fprintf(stderr, "general path rejects what the scanner accepts: %s\n", e.what());
      Check(false, "scanner and simdjson disagree on acceptance");
    }
    Check(SameGroundTruth(*gt, *again), "scanner and simdjson tables differ");
  }
  if (!SmallImages(*gt) || gt->num_annotations() > 200) return;
  try {
    gt->Masks(1);
  } catch (const InputError&) {
  }
  try {
    gt->KeypointData();
  } catch (const InputError&) {
  }
}

void FuzzResults(std::string_view doc) {
  const GroundTruth& gt = FixedGt();
  cocoeval::ScannedResults scanned;
  const bool fast =
      cocoeval::ScanResults(doc.data(), doc.data() + doc.size(), cocoeval::ScanPart::kWhole,
                            gt.image_index, gt.category_index, &scanned);
  std::shared_ptr<Detections> dt;
  try {
    dt.reset(cocoeval::LoadDetectionsBuffer(gt, doc, "res.json", 1).release());
  } catch (const InputError& e) {
    Check(!fast, "the scanner accepted what the loader rejects");
    Check(std::strncmp(e.what(), "res.json", 8) == 0, "error message names the source");
    return;
  }
  if (fast) {
    Check(SameBits(scanned.score, dt->score) && SameBits(scanned.bbox, dt->bbox), "scan vs load");
    const std::string general = ForceGeneralPath(doc);
    std::unique_ptr<Detections> again;
    try {
      again = cocoeval::LoadDetectionsBuffer(gt, general, "res.json", 1);
    } catch (const InputError& e) {
      std::fprintf(stderr, "general path rejects what the scanner accepts: %s\n", e.what());
      Check(false, "scanner and simdjson disagree on acceptance");
    }
    Check(SameDetections(*dt, *again), "scanner and simdjson detections differ");
  }
  if (dt->size() > 2000) return;
  // A second copy of the fixed ground truth (Masks() caches per object).
  static const std::shared_ptr<const GroundTruth> shared_gt(
      cocoeval::LoadGroundTruthBuffer(kFixedGt, "fixed_gt.json"));
  // Results were resolved against FixedGt(); the copy has the same indices.
  Evaluate(shared_gt, dt, cocoeval::IouType::kBbox);
  Evaluate(shared_gt, dt, cocoeval::IouType::kSegm);
  Evaluate(shared_gt, dt, cocoeval::IouType::kKeypoints);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  // The loaders copy the bytes into their own padded buffer.
  const std::string_view doc(reinterpret_cast<const char*>(data + 1), size - 1);
  if (mode & 1) {
    FuzzResults(doc);
  } else {
    FuzzGroundTruth(doc);
  }
  return 0;
}
