// ResolveThreads, and the helpers the loaders share (error messages,
// record names, simdjson field readers; see dataset_internal.h). The loaders themselves:
// ground_truth_loader.cc, detections_loader.cc; masks: segmentation.cc.
#include "cocoeval_cc/dataset.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cocoeval_cc/dataset_internal.h"
#include "cocoeval_cc/errors.h"
#include "cocoeval_cc/json_scanner.h"

namespace cocoeval {
namespace internal {

[[noreturn]] void Fail(const std::string& source, const std::string& where,
                       const std::string& problem) {
  std::string msg = source;
  if (!where.empty()) msg += ": " + where;
  msg += ": " + problem;
  throw InputError(msg);
}

std::string JsonProblem(error_code e) {
  return std::string("invalid JSON (") + simdjson::error_message(e) + ")";
}

std::string RecordProblem(error_code e) {
  return e == simdjson::INCORRECT_TYPE ? "must be an object" : JsonProblem(e);
}

// The raw JSON text of a segmentation (a polygon list or an RLE object), kept as text so
// that only segm evaluation decodes it. Returns the problem, or "" on success.
std::string RawSegmentation(od::value& val, std::string_view* text) {
  od::json_type type;
  error_code e = val.type().get(type);
  if (e) return JsonProblem(e);
  if (type == od::json_type::array) {
    od::array a;
    e = val.get_array().get(a);
    if (!e) e = a.raw_json().get(*text);
  } else if (type == od::json_type::object) {
    od::object o;
    e = val.get_object().get(o);
    if (!e) e = o.raw_json().get(*text);
  } else {
    return "'segmentation' must be a polygon list or an RLE object";
  }
  return e ? JsonProblem(e) : std::string();
}

// Reads a number. simdjson 3.0.1's own conversion is wrong for some inputs
// with more than 19 significant digits (0.0000757997975717062904265 gives
// 1.68e-07), so the token goes through the correctly rounded parser.
error_code GetDouble(od::value v, double* out) {
  std::string_view tok = v.raw_json_token();
  while (!tok.empty() &&
         (tok.back() == ' ' || tok.back() == '\n' || tok.back() == '\r' || tok.back() == '\t')) {
    tok.remove_suffix(1);
  }
  if (tok.empty() || !ParseJsonDouble(tok.data(), tok.data() + tok.size(), out)) {
    return simdjson::INCORRECT_TYPE;
  }
  return simdjson::SUCCESS;
}

// Reads an integer id; integral doubles (1.0) are accepted as Python's dict
// lookups would, anything else is a type error. Integers outside the int64
// range (and non-finite numbers such as 1e400) give NUMBER_OUT_OF_RANGE.
error_code GetId(od::value v, int64_t* out) {
  error_code e = v.get_int64().get(*out);
  if (e == simdjson::SUCCESS) return e;
  if (e != simdjson::INCORRECT_TYPE && e != simdjson::NUMBER_OUT_OF_RANGE) return e;
  double d;
  if (GetDouble(v, &d) != simdjson::SUCCESS) return simdjson::INCORRECT_TYPE;
  if (!(d == std::floor(d)) || !(std::fabs(d) < 9.2e18)) return simdjson::NUMBER_OUT_OF_RANGE;
  *out = static_cast<int64_t>(d);
  return simdjson::SUCCESS;
}

// Reads a bbox array. Returns the number of elements read into out[0..3]
// (more than 4 reports 5), or -1 on a non-number.
int GetBox(od::value v, double* out, error_code* err) {
  od::array arr;
  *err = v.get_array().get(arr);
  if (*err) return -1;
  int n = 0;
  for (auto elem : arr) {
    double d;
    od::value ev;
    *err = elem.get(ev);
    if (!*err) *err = GetDouble(ev, &d);
    if (*err) return -1;
    if (n < 4) out[n] = d;
    if (n < 5) ++n;
  }
  return n;
}

std::string GetNumberList(od::value v, const char* field, std::vector<double>* out) {
  const std::string problem = std::string("'") + field + "' must be a list of finite numbers";
  od::array arr;
  if (v.get_array().get(arr)) return problem;
  for (auto elem : arr) {
    od::value ev;
    double d;
    if (elem.get(ev) || GetDouble(ev, &d) || !std::isfinite(d)) return problem;
    out->push_back(d);
  }
  return "";
}

std::string RawList(od::value& val, const char* field, std::string_view* text) {
  od::array a;
  if (val.get_array().get(a)) return std::string("'") + field + "' must be a list";
  const error_code e = a.raw_json().get(*text);
  return e ? JsonProblem(e) : std::string();
}

std::string GetNumKeypoints(od::value v, double* out) {
  bool b;
  if (v.get_bool().get(b) == simdjson::SUCCESS) {
    *out = b;
    return "";
  }
  if (GetDouble(v, out) || !std::isfinite(*out)) return "'num_keypoints' must be a number";
  return "";
}

// The message for a bad integer field (ids, iscrowd, height / width).
std::string IntProblem(const char* field, error_code e) {
  std::string m = std::string("'") + field + "' must be an integer";
  if (e == simdjson::NUMBER_OUT_OF_RANGE)
    m += " (the value is out of the int64 range or not finite)";
  return m;
}

std::string CheckBox(const double* b) {
  for (int i = 0; i < 4; ++i) {
    if (!std::isfinite(b[i])) return "bbox has a NaN or infinite value";
  }
  if (b[2] < 0 || b[3] < 0) return "bbox has a negative width or height";
  return "";
}

std::string RecordName(const char* list, size_t index, bool has_id, int64_t id) {
  std::string s = std::string(list) + "[" + std::to_string(index) + "]";
  if (has_id) s += " (id " + std::to_string(id) + ")";
  return s;
}

std::string ResultName(size_t index, bool has_image, int64_t image_id) {
  std::string s = "results[" + std::to_string(index) + "]";
  if (has_image) s += " (image_id " + std::to_string(image_id) + ")";
  return s;
}

}  // namespace internal

using internal::Fail;
using internal::RecordName;

// ------------------------------------------------------------------- public

int ResolveThreads(int num_threads) {
  if (num_threads > 0) return num_threads;
  const unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

std::string GroundTruth::AnnotationName(size_t i) const {
  return RecordName("annotations", ann_record[i], true, ann_ids[i]);
}

void GroundTruth::RequireBoxes() const {
  for (size_t i = 0; i < ann_ids.size(); ++i) {
    if (std::isnan(ann_bbox[4 * i])) {
      Fail(source, AnnotationName(i), "missing 'bbox' (needed for bbox evaluation)");
    }
  }
}

}  // namespace cocoeval
