// Fast paths for the two big inputs, without simdjson's structural index:
// a results array of plain bbox or keypoint records, and a ground-truth file
// (whose segmentations and keypoints are only delimited, not parsed). Both parse numbers with
// correct rounding, validate the JSON grammar they accept, and give up
// (return false) on anything unusual (non-ASCII strings, escapes in keys,
// bad or missing fields, ...), so the caller falls back to the simdjson
// parser, which also produces the error messages.
#ifndef COCOEVAL_CC_JSON_SCANNER_H_
#define COCOEVAL_CC_JSON_SCANNER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cocoeval_cc/id_index.h"

namespace cocoeval {

struct ScannedResults {
  std::vector<uint32_t> image;     // dense ground-truth image index
  std::vector<uint32_t> category;  // dense ground-truth category index
  std::vector<double> bbox;        // 4 per record; NaN when absent (keypoint records)
  std::vector<double> score;
  // Keypoint x, y pairs (a detection's v is never used) and each record's
  // end offset in kp_xy; kp_end stays empty until a record has keypoints,
  // so plain bbox records pay nothing.
  std::vector<double> kp_xy;
  std::vector<uint64_t> kp_end;
};

// Which part of the document [begin, end) is.
enum class ScanPart {
  kWhole,  // the whole results document
  kHead,   // from the document start to just after a record's closing '}'
  kTail,   // from a record's '{' (following a kHead part) to the document end
};

// Appends the records of [begin, end) to `out`. Returns false when the
// fast path does not apply; `out` is then in an unspecified state.
bool ScanResults(const char* begin, const char* end, ScanPart part, const IdIndex& images,
                 const IdIndex& categories, ScannedResults* out);

// Ground-truth tables as read from the file, before ids are resolved.
struct ScannedGroundTruth {
  std::vector<int64_t> image_ids, image_heights, image_widths;  // -1: absent
  std::vector<int64_t> category_ids;
  std::vector<std::string> category_names, category_supercategories;
  std::vector<int64_t> ann_ids, ann_image_ids, ann_category_ids;
  std::vector<double> ann_bbox;  // 4 per annotation, NaN when absent
  std::vector<double> ann_area;
  std::vector<uint8_t> ann_iscrowd;
  // Segmentation JSON text of each annotation as [begin, end) offsets into
  // the document; begin == end when absent.
  std::vector<uint64_t> segm_begin, segm_end;
  // The same for 'keypoints' (a list), and 'num_keypoints' (NaN when absent).
  std::vector<uint64_t> keypoints_begin, keypoints_end;
  std::vector<double> ann_num_keypoints;
};

// Reads a whole ground-truth document. Returns false when the fast path
// does not apply; `out` is then in an unspecified state.
bool ScanGroundTruth(const char* begin, const char* end, ScannedGroundTruth* out);

// Correctly rounded JSON number parsing; exposed for tests. Parses a whole
// JSON number at [begin, end) and returns false if it is not one (or is out
// of double range).
bool ParseJsonDouble(const char* begin, const char* end, double* out);

}  // namespace cocoeval

#endif  // COCOEVAL_CC_JSON_SCANNER_H_
