// Ground truth and detections in struct-of-arrays form, loaded from COCO JSON
// with simdjson, with pycocotools' COCO() / loadRes() semantics.
#ifndef COCOEVAL_CC_DATASET_H_
#define COCOEVAL_CC_DATASET_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cocoeval_cc/id_index.h"
#include "cocoeval_cc/mask.h"

namespace cocoeval {

// Raw JSON text of each record's segmentation, left in (or copied from) the
// source document; decoded only when segm evaluation asks for masks, so bbox
// evaluation never pays for them.
struct SegmText {
  std::shared_ptr<const void> owner;  // keeps the text alive
  const char* base = nullptr;         // followed by >= SIMDJSON_PADDING readable bytes
  std::vector<uint64_t> begin, end;   // per record, from base; equal: absent
  bool Has(size_t i) const { return i < end.size() && end[i] > begin[i]; }
  std::string_view Get(size_t i) const {
    return std::string_view(base + begin[i], end[i] - begin[i]);
  }
};

// Ground-truth keypoints of every annotation, parsed from their JSON text on
// first use (keypoint evaluation only).
struct GtKeypoints {
  std::vector<double> xyv;      // x, y, v per keypoint, annotations in order
  std::vector<uint64_t> begin;  // annotation i: xyv[begin[i], begin[i + 1])
  size_t Count(size_t i) const { return (begin[i + 1] - begin[i]) / 3; }
  const double* Get(size_t i) const { return xyv.data() + begin[i]; }
};

struct GroundTruth {
  std::string source;  // file name or "<bytes>", used in error messages

  // Images, sorted by id; an image's dense index is its position here.
  std::vector<int64_t> image_ids;
  std::vector<int64_t> image_heights;  // -1 when the record has none
  std::vector<int64_t> image_widths;
  IdIndex image_index;

  // Categories, sorted by id (pycocotools sorts getCatIds()).
  std::vector<int64_t> category_ids;
  std::vector<std::string> category_names;
  std::vector<std::string> category_supercategories;
  IdIndex category_index;

  // Annotations in file order. Those whose image or category is unknown can
  // never take part in an evaluation (as in pycocotools) and are dropped.
  std::vector<int64_t> ann_ids;
  std::vector<uint32_t> ann_image;     // dense image index
  std::vector<uint32_t> ann_category;  // dense category index
  std::vector<double> ann_bbox;        // 4 per annotation; NaN when absent
  std::vector<double> ann_area;
  std::vector<uint8_t> ann_iscrowd;
  std::vector<uint32_t> ann_record;  // position in the file's list
  SegmText ann_segm;
  // 'keypoints' as raw JSON text (decoded by KeypointData) and
  // 'num_keypoints' (NaN when absent); keypoint evaluation only.
  SegmText ann_keypoints;
  std::vector<double> ann_num_keypoints;

  size_t num_annotations() const { return ann_ids.size(); }
  // "annotations[12] (id 34)", for error messages.
  std::string AnnotationName(size_t i) const;

  // Compressed masks of every annotation (with their boxes and areas),
  // decoded once, in parallel, on first use (thread-safe). Throws
  // InputError for missing or malformed segmentations.
  const MaskSet& MaskData(int num_threads) const;
  const std::vector<Rle>& Masks(int num_threads) const { return MaskData(num_threads).rles; }
  // Throws InputError naming the first annotation without a bbox.
  void RequireBoxes() const;
  // Every annotation's keypoints (none: count 0), decoded once on first use
  // (thread-safe). Throws InputError naming a malformed 'keypoints'.
  const GtKeypoints& KeypointData() const;

 private:
  mutable std::mutex masks_mutex_;
  mutable bool masks_ready_ = false;
  mutable MaskSet masks_;
  mutable std::mutex keypoints_mutex_;
  mutable bool keypoints_ready_ = false;
  mutable GtKeypoints keypoints_;
};

struct Detections {
  std::string source;
  // loadRes picks its branch from the first result: true when that result
  // has a non-empty bbox (area = w*h for all), false for segm results
  // (area = mask area, bbox = toBbox when missing) and keypoint results.
  bool bbox_mode = true;
  // loadRes's keypoints branch (the first result has keypoints but neither
  // bbox nor segmentation): bbox and area from the keypoints' extent.
  bool keypoint_mode = false;

  // One entry per result, in file order; the result's id is index + 1.
  std::vector<uint32_t> image;     // dense ground-truth image index
  std::vector<uint32_t> category;  // dense ground-truth category index
  std::vector<double> bbox;        // 4 per result
  std::vector<double> score;
  std::vector<double> area;
  SegmText segm;  // raw text, bbox mode only

  MaskSet segm_masks;  // segm mode: decoded at load time

  // Keypoint x, y pairs of result i: kp_xy[kp_begin[i], kp_begin[i + 1]).
  // The visibility flags are never used for detections. Both empty when no
  // result has keypoints (the bbox fast path never fills them).
  std::vector<double> kp_xy;
  std::vector<uint64_t> kp_begin;

  size_t size() const { return score.size(); }
  size_t NumKeypoints(size_t i) const {
    return kp_begin.empty() ? 0 : (kp_begin[i + 1] - kp_begin[i]) / 2;
  }
  // Masks for segm evaluation: segm_masks, or (bbox mode) built on first use
  // from the results' segmentations or their boxes' polygons.
  const MaskSet& MaskData(const GroundTruth& gt, int num_threads) const;
  const std::vector<Rle>& Masks(const GroundTruth& gt, int num_threads) const {
    return MaskData(gt, num_threads).rles;
  }

 private:
  mutable std::mutex masks_mutex_;
  mutable bool masks_ready_ = false;
  mutable MaskSet masks_;
};

// Loading. Every problem raises InputError naming `source`, the record and
// the problem; the loaders never crash on bad input.
std::unique_ptr<GroundTruth> LoadGroundTruthFile(const std::string& path);
std::unique_ptr<GroundTruth> LoadGroundTruthBuffer(std::string_view json,
                                                   const std::string& source);
std::unique_ptr<Detections> LoadDetectionsFile(const GroundTruth& gt, const std::string& path,
                                               int num_threads = 0);
std::unique_ptr<Detections> LoadDetectionsBuffer(const GroundTruth& gt, std::string_view json,
                                                 const std::string& source, int num_threads = 0);
// loadRes(ndarray): rows of [image_id, x, y, w, h, score, category_id].
std::unique_ptr<Detections> LoadDetectionsArray(const GroundTruth& gt, const double* rows, size_t n,
                                                const std::string& source);

// Decodes one segmentation (polygon list, uncompressed or compressed RLE)
// as pycocotools' annToRLE does for an image of size h x w. `json` must be
// followed by at least SIMDJSON_PADDING readable bytes. Throws InputError
// prefixed with `what`.
Rle SegmentationToRle(std::string_view json, int64_t h, int64_t w, const std::string& what);

// Resolves a thread count: 0 means all cores.
int ResolveThreads(int num_threads);

}  // namespace cocoeval

#endif  // COCOEVAL_CC_DATASET_H_
