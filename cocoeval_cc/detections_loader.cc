// Detections loading (pycocotools' loadRes()): from a JSON results file or
// buffer (json_scanner.h's fast scan of plain bbox records, else simdjson's
// parser, in two halves on large inputs) and from an Nx7 array.
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "cocoeval_cc/dataset.h"
#include "cocoeval_cc/dataset_internal.h"
#include "cocoeval_cc/errors.h"
#include "cocoeval_cc/json_scanner.h"
#include "cocoeval_cc/mask.h"
#include "cocoeval_cc/parallel_for.h"

namespace cocoeval {

using internal::CheckBox;
using internal::CopyBuffer;
using internal::Fail;
using internal::GetBox;
using internal::GetDouble;
using internal::GetId;
using internal::IntProblem;
using internal::IsBlank;
using internal::JsonProblem;
using internal::kNaN;
using internal::PaddedBuffer;
using internal::RawSegmentation;
using internal::ReadFile;
using internal::RecordProblem;
using internal::ResultName;

namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

// Segmentation texts copied out of a results chunk.
struct TextArena {
  std::string arena;
  std::vector<uint64_t> begin, end;
  void Add(std::string_view text) {
    begin.push_back(arena.size());
    arena.append(text.data(), text.size());
    end.push_back(arena.size());
  }
  void AddNone() {
    begin.push_back(arena.size());
    end.push_back(arena.size());
  }
};

// Results parsed from one slice of the results array.
struct ResultChunk {
  std::vector<uint32_t> image, category;
  std::vector<double> bbox, score;
  std::vector<uint8_t> has_bbox;
  TextArena segm;
  // Keypoint x, y pairs; record i's end offset in kp_end (empty while no
  // record so far had keypoints, and then filled for the earlier ones).
  std::vector<double> kp_xy;
  std::vector<uint64_t> kp_end;
  bool first_has_bbox = false;  // non-empty bbox on the slice's first record
  bool first_has_segm = false;
  bool first_has_keypoints = false;
};

// A result's 'keypoints': x, y, v triples (only x, y are kept: loadRes and
// computeOks never read a detection's v). Returns the problem, or "".
std::string ReadKeypoints(od::value val, std::vector<double>* scratch, ResultChunk* out) {
  scratch->clear();
  std::string problem = internal::GetNumberList(val, "keypoints", scratch);
  if (!problem.empty()) return problem;
  if (scratch->empty() || scratch->size() % 3 != 0) {
    return "'keypoints' must hold x, y, v for each keypoint (a non-empty multiple of 3 numbers)";
  }
  for (size_t j = 0; j < scratch->size(); j += 3) {
    out->kp_xy.push_back((*scratch)[j]);
    out->kp_xy.push_back((*scratch)[j + 1]);
  }
  return "";
}

// Why a results document is not an array, in the user's terms (an error path: not fast).
std::string NotAnArray(const char* data, size_t size) {
  const std::string_view text(data, size);
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    return "the file starts with a UTF-8 byte-order mark (BOM), which JSON does not allow; "
           "save it without one";
  }
  simdjson::dom::parser validator;
  simdjson::dom::element root;
  if (const error_code e = validator.parse(data, size).get(root); e) {
    return "not valid JSON (" + JsonProblem(e) + ")";
  }
  return "results must be a list of objects, not a JSON " +
         std::string(root.is_object() ? "object" : "value");
}

// Parses a JSON array of results. `first_index` numbers records in messages.
void ParseResultArray(const char* data, size_t size, size_t capacity, const GroundTruth& gt,
                      const std::string& src, size_t first_index, ResultChunk* out) {
  od::parser parser;
  od::document doc;
  error_code e = parser.iterate(data, size, capacity).get(doc);
  if (e) Fail(src, "", JsonProblem(e));
  od::array arr;
  e = doc.get_array().get(arr);
  if (e) Fail(src, "", e == simdjson::INCORRECT_TYPE ? NotAnArray(data, size) : JsonProblem(e));
  // Reserve for the smallest plausible record so vectors never regrow;
  // untouched reserved pages cost no memory.
  const size_t max_records = size / 48 + 16;
  out->image.reserve(max_records);
  out->category.reserve(max_records);
  out->bbox.reserve(4 * max_records);
  out->score.reserve(max_records);
  out->has_bbox.reserve(max_records);
  size_t index = first_index;
  std::vector<double> kp_scratch;
  for (auto elem : arr) {
    od::object obj;
    e = elem.get_object().get(obj);
    if (e) Fail(src, ResultName(index, false, 0), RecordProblem(e));
    int64_t image_id = 0, category_id = 0;
    double box[4] = {kNaN, kNaN, kNaN, kNaN};
    double score = kNaN;
    bool has_image = false, has_cat = false, has_score = false;
    int box_n = -1;
    bool has_segm = false, has_keypoints = false;
    std::string_view segm_text;
    for (auto field : obj) {
      od::raw_json_string key;
      if ((e = field.key().get(key)))
        Fail(src, ResultName(index, has_image, image_id), JsonProblem(e));
      od::value val = field.value();
      auto bad = [&](const std::string& what) {
        Fail(src, ResultName(index, has_image, image_id), what);
      };
      if (key == "image_id") {
        if ((e = GetId(val, &image_id))) bad(IntProblem("image_id", e));
        has_image = true;
      } else if (key == "category_id") {
        if ((e = GetId(val, &category_id))) bad(IntProblem("category_id", e));
        has_cat = true;
      } else if (key == "bbox") {
        box_n = GetBox(val, box, &e);
        if (box_n < 0 && e != simdjson::INCORRECT_TYPE) bad(JsonProblem(e));
        if (box_n != 4 && box_n != 0) bad("'bbox' must be a list of 4 numbers");
        if (box_n == 4) {
          const std::string problem = CheckBox(box);
          if (!problem.empty()) bad(problem);
        }
      } else if (key == "score") {
        if (GetDouble(val, &score)) bad("'score' must be a number");
        if (!std::isfinite(score)) bad("'score' must be finite");
        has_score = true;
      } else if (key == "segmentation") {
        std::string_view text;
        const std::string problem = RawSegmentation(val, &text);
        if (!problem.empty()) bad(problem);
        segm_text = text;
        has_segm = true;
      } else if (key == "keypoints") {
        // Records before the first with keypoints get empty ranges.
        if (out->kp_end.size() < out->score.size()) out->kp_end.resize(out->score.size(), 0);
        const std::string problem = ReadKeypoints(val, &kp_scratch, out);
        if (!problem.empty()) bad(problem);
        has_keypoints = true;
      }
    }
    if (!has_image) Fail(src, ResultName(index, false, 0), "missing 'image_id'");
    if (!has_cat) Fail(src, ResultName(index, true, image_id), "missing 'category_id'");
    if (!has_score) Fail(src, ResultName(index, true, image_id), "missing 'score'");
    const int64_t img = gt.image_index.Find(image_id);
    if (img < 0) {
      Fail(src, ResultName(index, true, image_id),
           "image_id " + std::to_string(image_id) + " is not in the ground truth " + gt.source);
    }
    const int64_t cat = gt.category_index.Find(category_id);
    if (cat < 0) {
      Fail(src, ResultName(index, true, image_id),
           "category_id " + std::to_string(category_id) + " is not in the ground truth " +
               gt.source);
    }
    if (index == first_index) {
      out->first_has_bbox = box_n == 4;
      out->first_has_segm = has_segm;
      out->first_has_keypoints = has_keypoints;
    }
    out->image.push_back(static_cast<uint32_t>(img));
    out->category.push_back(static_cast<uint32_t>(cat));
    out->bbox.insert(out->bbox.end(), box, box + 4);
    out->score.push_back(score);
    out->has_bbox.push_back(box_n == 4);
    if (has_segm) {
      out->segm.Add(segm_text);
    } else {
      out->segm.AddNone();
    }
    if (has_keypoints || !out->kp_end.empty()) {
      out->kp_end.resize(out->score.size() - 1, out->kp_xy.size());
      out->kp_end.push_back(out->kp_xy.size());
    }
    ++index;
  }
  if (doc.current_location().error() == simdjson::SUCCESS)
    Fail(src, "", "invalid JSON (trailing content after the results list)");
}

// Splits the buffer into two valid JSON arrays in place, at a top-level
// "}, {" boundary near the middle, so two threads can parse it. Returns
// false when no boundary is found; Undo() restores the buffer.
struct Split {
  char* buf = nullptr;
  size_t close = 0, open = 0;  // positions of '}' and '{'
  char saved = 0;
  const char* first = nullptr;
  size_t first_size = 0;
  const char* second = nullptr;
  size_t second_size = 0;

  bool Make(PaddedBuffer& b) {
    buf = b.data;
    size_t i = b.size / 2;
    const size_t limit = std::min(b.size, i + (1u << 20));
    for (; i < limit; ++i) {
      if (buf[i] != '}') continue;
      size_t j = i + 1;
      while (j < b.size && std::strchr(" \n\r\t", buf[j]) && buf[j]) ++j;
      if (j >= b.size || buf[j] != ',') continue;
      ++j;
      while (j < b.size && std::strchr(" \n\r\t", buf[j]) && buf[j]) ++j;
      if (j >= b.size || buf[j] != '{') continue;
      close = i;
      open = j;
      // First half: shift left into the slack byte and close it with ']'.
      std::memmove(buf - 1, buf, close + 1);
      buf[close] = ']';
      // Second half: open it with '[' just before its first '{'.
      saved = buf[open - 1];
      buf[open - 1] = '[';
      first = buf - 1;
      first_size = close + 2;
      second = buf + open - 1;
      second_size = b.size - (open - 1);
      return true;
    }
    return false;
  }

  void Undo() {
    buf[open - 1] = saved;
    std::memmove(buf, buf - 1, close + 1);
    // buf[close] held ']' (the moved '}' is back at close now via memmove).
  }
};

// Appends chunk c to chunk `into` (record order is chunk order).
void AppendChunk(ResultChunk&& c, ResultChunk* into) {
  into->image.insert(into->image.end(), c.image.begin(), c.image.end());
  into->category.insert(into->category.end(), c.category.begin(), c.category.end());
  into->bbox.insert(into->bbox.end(), c.bbox.begin(), c.bbox.end());
  into->score.insert(into->score.end(), c.score.begin(), c.score.end());
  into->has_bbox.insert(into->has_bbox.end(), c.has_bbox.begin(), c.has_bbox.end());
  if (!c.kp_end.empty() || !into->kp_end.empty()) {
    const uint64_t kp_base = into->kp_xy.size();
    into->kp_end.resize(into->score.size() - c.score.size(), kp_base);
    into->kp_xy.insert(into->kp_xy.end(), c.kp_xy.begin(), c.kp_xy.end());
    for (uint64_t e : c.kp_end) into->kp_end.push_back(kp_base + e);
    into->kp_end.resize(into->score.size(), into->kp_xy.size());
  }
  const uint64_t base = into->segm.arena.size();
  into->segm.arena += c.segm.arena;
  for (size_t i = 0; i < c.segm.begin.size(); ++i) {
    into->segm.begin.push_back(base + c.segm.begin[i]);
    into->segm.end.push_back(base + c.segm.end[i]);
  }
  c = ResultChunk();
}

// pycocotools loadRes, keypoints branch: bbox = the extent of all keypoints
// (x0, y0, x1 - x0, y1 - y0) and area = (x1 - x0) * (y1 - y0).
void KeypointBoxes(const GroundTruth& gt, const std::string& src, Detections* det) {
  for (size_t i = 0; i < det->size(); ++i) {
    const size_t k = det->NumKeypoints(i);
    if (k == 0) Fail(src, ResultName(i, true, gt.image_ids[det->image[i]]), "missing 'keypoints'");
    const double* xy = &det->kp_xy[det->kp_begin[i]];
    double x0 = xy[0], x1 = xy[0], y0 = xy[1], y1 = xy[1];
    for (size_t j = 1; j < k; ++j) {
      x0 = std::min(x0, xy[2 * j]);
      x1 = std::max(x1, xy[2 * j]);
      y0 = std::min(y0, xy[2 * j + 1]);
      y1 = std::max(y1, xy[2 * j + 1]);
    }
    double* b = &det->bbox[4 * i];
    b[0] = x0;
    b[1] = y0;
    b[2] = x1 - x0;
    b[3] = y1 - y0;
    det->area[i] = (x1 - x0) * (y1 - y0);
  }
}

std::unique_ptr<Detections> FinishDetections(const GroundTruth& gt,
                                             std::vector<ResultChunk>& chunks,
                                             const std::string& src, int num_threads) {
  auto det = std::make_unique<Detections>();
  det->source = src;
  size_t n = 0;
  for (const auto& c : chunks) n += c.score.size();
  if (n == 0) Fail(src, "", "no results (the results list is empty)");
  const ResultChunk& first = chunks[0];
  if (!first.first_has_bbox && !first.first_has_segm && !first.first_has_keypoints) {
    Fail(src, "results[0]",
         "has no 'bbox', 'segmentation' or 'keypoints' (captions are not supported)");
  }
  det->bbox_mode = first.first_has_bbox;
  det->keypoint_mode = !first.first_has_bbox && !first.first_has_segm;
  ResultChunk& all = chunks[0];
  for (size_t i = 1; i < chunks.size(); ++i) AppendChunk(std::move(chunks[i]), &all);
  det->image = std::move(all.image);
  det->category = std::move(all.category);
  det->bbox = std::move(all.bbox);
  det->score = std::move(all.score);
  const std::vector<uint8_t> has_bbox = std::move(all.has_bbox);
  if (!all.kp_end.empty()) {
    all.kp_end.resize(n, all.kp_xy.size());
    det->kp_xy = std::move(all.kp_xy);
    det->kp_begin.reserve(n + 1);
    det->kp_begin.push_back(0);
    det->kp_begin.insert(det->kp_begin.end(), all.kp_end.begin(), all.kp_end.end());
  }
  SegmText segm;
  {
    auto arena = std::make_shared<std::string>(std::move(all.segm.arena));
    arena->append(simdjson::SIMDJSON_PADDING, ' ');
    segm.base = arena->data();
    segm.owner = std::move(arena);
    segm.begin = std::move(all.segm.begin);
    segm.end = std::move(all.segm.end);
  }
  det->area.resize(n);
  if (det->bbox_mode) {
    for (size_t i = 0; i < n; ++i) {
      if (!has_bbox[i])
        Fail(src, ResultName(i, true, gt.image_ids[det->image[i]]), "missing 'bbox'");
      det->area[i] = det->bbox[4 * i + 2] * det->bbox[4 * i + 3];
    }
    det->segm = std::move(segm);
    return det;
  }
  if (det->keypoint_mode) {
    KeypointBoxes(gt, src, det.get());
    return det;
  }
  // Segm results: the area (and a missing bbox) come from the mask.
  det->segm_masks.Resize(n);
  ParallelFor(n, num_threads, /*block_size=*/256, [&](size_t i) {
    auto name = [&] { return src + ": " + ResultName(i, true, gt.image_ids[det->image[i]]); };
    if (!segm.Has(i)) throw InputError(name() + ": missing 'segmentation'");
    const uint32_t img = det->image[i];
    Rle rle;
    try {
      rle = SegmentationToRle(segm.Get(i), gt.image_heights[img], gt.image_widths[img], "");
    } catch (const InputError& err) {
      throw InputError(name() + ": " + err.what());
    }
    det->segm_masks.Set(i, std::move(rle));
    det->area[i] = static_cast<double>(det->segm_masks.areas[i]);
    if (!has_bbox[i]) {
      const std::array<double, 4>& bb = det->segm_masks.boxes[i];
      // loadRes's toBbox; NaN means it throws.
      if (std::isnan(bb[0])) ToBbox(det->segm_masks.rles[i]);
      std::copy(bb.begin(), bb.end(), &det->bbox[4 * i]);
    }
  });
  return det;
}

// The fast path: plain bbox records, scanned in two halves when worthwhile.
std::unique_ptr<Detections> ScanDetections(const GroundTruth& gt, const PaddedBuffer& buf,
                                           const std::string& src, int num_threads) {
  const size_t max_records = buf.size / 48 + 16;
  std::vector<ScannedResults> parts;
  size_t close = 0, open = 0;
  bool split = false;
  if (num_threads >= 2 && buf.size >= (4u << 20)) {
    // A '}' , '{' sequence near the middle; the head scan only succeeds if
    // it really ends a top-level record.
    const char* d = buf.data;
    const size_t limit = std::min(buf.size, buf.size / 2 + (1u << 20));
    for (size_t i = buf.size / 2; i < limit && !split; ++i) {
      if (d[i] != '}') continue;
      size_t j = i + 1;
      while (j < buf.size && (d[j] == ' ' || d[j] == '\n' || d[j] == '\r' || d[j] == '\t')) ++j;
      if (j >= buf.size || d[j] != ',') continue;
      ++j;
      while (j < buf.size && (d[j] == ' ' || d[j] == '\n' || d[j] == '\r' || d[j] == '\t')) ++j;
      if (j >= buf.size || d[j] != '{') continue;
      close = i;
      open = j;
      split = true;
    }
  }
  // Keypoint records: room for every number (each takes at least 2 bytes
  // with its comma, and 2 of 3 are kept); pages never written cost nothing.
  const std::string_view start(buf.data, std::min<size_t>(buf.size, 4096));
  const size_t kp_capacity =
      start.find("\"keypoints\"") != std::string_view::npos ? buf.size / 3 + 16 : 0;
  bool ok;
  if (split) {
    parts.resize(2);
    const size_t head = (close + 1) / 48 + 16;
    parts[0].image.reserve(head);
    parts[0].category.reserve(head);
    parts[0].bbox.reserve(4 * head);
    parts[0].score.reserve(head);
    parts[0].kp_xy.reserve(kp_capacity ? (close + 1) / 3 + 16 : 0);
    const size_t tail_records = (buf.size - open) / 48 + 16;
    parts[1].image.reserve(tail_records);
    parts[1].category.reserve(tail_records);
    parts[1].bbox.reserve(4 * tail_records);
    parts[1].score.reserve(tail_records);
    parts[1].kp_xy.reserve(kp_capacity ? (buf.size - open) / 3 + 16 : 0);
    bool ok_tail = false;
    std::thread tail([&]() {
      ok_tail = ScanResults(buf.data + open, buf.data + buf.size, ScanPart::kTail, gt.image_index,
                            gt.category_index, &parts[1]);
    });
    const bool ok_head = ScanResults(buf.data, buf.data + close + 1, ScanPart::kHead,
                                     gt.image_index, gt.category_index, &parts[0]);
    tail.join();
    ok = ok_head && ok_tail;
  } else {
    parts.resize(1);
    parts[0].image.reserve(max_records);
    parts[0].category.reserve(max_records);
    parts[0].bbox.reserve(4 * max_records);
    parts[0].score.reserve(max_records);
    parts[0].kp_xy.reserve(kp_capacity);
    ok = ScanResults(buf.data, buf.data + buf.size, ScanPart::kWhole, gt.image_index,
                     gt.category_index, &parts[0]);
  }
  if (!ok) return nullptr;
  ScannedResults& all = parts[0];
  if (parts.size() == 2) {
    const size_t head = all.score.size();
    all.image.insert(all.image.end(), parts[1].image.begin(), parts[1].image.end());
    all.category.insert(all.category.end(), parts[1].category.begin(), parts[1].category.end());
    all.bbox.insert(all.bbox.end(), parts[1].bbox.begin(), parts[1].bbox.end());
    all.score.insert(all.score.end(), parts[1].score.begin(), parts[1].score.end());
    if (!all.kp_end.empty() || !parts[1].kp_end.empty()) {
      const uint64_t base = all.kp_xy.size();
      all.kp_end.resize(head, base);
      all.kp_xy.insert(all.kp_xy.end(), parts[1].kp_xy.begin(), parts[1].kp_xy.end());
      for (uint64_t e : parts[1].kp_end) all.kp_end.push_back(base + e);
    }
  }
  auto det = std::make_unique<Detections>();
  det->source = src;
  const size_t n = all.score.size();
  // loadRes' branch, from the first record: bbox (a bbox first) or keypoints.
  det->bbox_mode = !std::isnan(all.bbox[0]);
  det->keypoint_mode = !det->bbox_mode;
  if (!all.kp_end.empty()) {
    all.kp_end.resize(n, all.kp_xy.size());
    det->kp_xy = std::move(all.kp_xy);
    det->kp_begin.reserve(n + 1);
    det->kp_begin.push_back(0);
    det->kp_begin.insert(det->kp_begin.end(), all.kp_end.begin(), all.kp_end.end());
  }
  det->image = std::move(all.image);
  det->category = std::move(all.category);
  det->bbox = std::move(all.bbox);
  det->score = std::move(all.score);
  det->area.resize(n);
  if (det->keypoint_mode) {
    // A record without keypoints: the simdjson path names it.
    for (size_t i = 0; i < n; ++i) {
      if (det->NumKeypoints(i) == 0) return nullptr;
    }
    KeypointBoxes(gt, src, det.get());
    return det;
  }
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(det->bbox[4 * i])) return nullptr;  // missing 'bbox': named by simdjson
    det->area[i] = det->bbox[4 * i + 2] * det->bbox[4 * i + 3];
  }
  return det;
}

std::unique_ptr<Detections> ParseDetections(const GroundTruth& gt, PaddedBuffer& buf,
                                            const std::string& src, int num_threads) {
  if (IsBlank(buf.data, buf.size)) Fail(src, "", "empty file");
  num_threads = ResolveThreads(num_threads);
  if (auto det = ScanDetections(gt, buf, src, num_threads)) return det;
  std::vector<ResultChunk> chunks;
  Split split;
  if (num_threads >= 2 && buf.size >= (4u << 20) && split.Make(buf)) {
    chunks.resize(2);
    bool ok = true;
    std::thread second([&]() {
      try {
        ParseResultArray(split.second, split.second_size,
                         buf.capacity() - (split.second - buf.data), gt, src, 0, &chunks[1]);
      } catch (const std::exception&) {
        ok = false;
      }
    });
    bool ok_first = true;
    try {
      ParseResultArray(split.first, split.first_size, buf.capacity() + 1, gt, src, 0, &chunks[0]);
    } catch (const std::exception&) {
      ok_first = false;
    }
    second.join();
    split.Undo();
    if (!(ok && ok_first)) {
      // A bad split or bad input: the whole document gives the exact message.
      chunks.clear();
      chunks.resize(1);
      ParseResultArray(buf.data, buf.size, buf.capacity(), gt, src, 0, &chunks[0]);
    }
  } else {
    chunks.resize(1);
    ParseResultArray(buf.data, buf.size, buf.capacity(), gt, src, 0, &chunks[0]);
  }
  return FinishDetections(gt, chunks, src, num_threads);
}

}  // namespace

std::unique_ptr<Detections> LoadDetectionsFile(const GroundTruth& gt, const std::string& path,
                                               int num_threads) {
  PaddedBuffer buf;
  ReadFile(path, &buf);
  return ParseDetections(gt, buf, path, num_threads);
}

std::unique_ptr<Detections> LoadDetectionsBuffer(const GroundTruth& gt, std::string_view json,
                                                 const std::string& source, int num_threads) {
  PaddedBuffer buf;
  CopyBuffer(json, &buf);
  return ParseDetections(gt, buf, source, num_threads);
}

std::unique_ptr<Detections> LoadDetectionsArray(const GroundTruth& gt, const double* rows, size_t n,
                                                const std::string& source) {
  if (n == 0) Fail(source, "", "no results (the array has no rows)");
  auto det = std::make_unique<Detections>();
  det->source = source;
  det->bbox_mode = true;
  det->image.resize(n);
  det->category.resize(n);
  det->bbox.resize(4 * n);
  det->score.resize(n);
  det->area.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const double* r = rows + 7 * i;
    const std::string row = "row " + std::to_string(i);
    if (!std::isfinite(r[0]) || !std::isfinite(r[6]) || std::fabs(r[0]) > 9.2e18 ||
        std::fabs(r[6]) > 9.2e18) {
      Fail(source, row, "image_id and category_id must be finite");
    }
    // int() in loadNumpyAnnotations truncates toward zero.
    const int64_t image_id = static_cast<int64_t>(r[0]);
    const int64_t category_id = static_cast<int64_t>(r[6]);
    const int64_t img = gt.image_index.Find(image_id);
    if (img < 0)
      Fail(source, row,
           "image_id " + std::to_string(image_id) + " is not in the ground truth " + gt.source);
    const int64_t cat = gt.category_index.Find(category_id);
    if (cat < 0)
      Fail(source, row,
           "category_id " + std::to_string(category_id) + " is not in the ground truth " +
               gt.source);
    const std::string problem = CheckBox(r + 1);
    if (!problem.empty()) Fail(source, row, problem);
    if (!std::isfinite(r[5])) Fail(source, row, "score must be finite");
    det->image[i] = static_cast<uint32_t>(img);
    det->category[i] = static_cast<uint32_t>(cat);
    std::copy(r + 1, r + 5, &det->bbox[4 * i]);
    det->score[i] = r[5];
    det->area[i] = r[3] * r[4];
  }
  return det;
}

}  // namespace cocoeval
