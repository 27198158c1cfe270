#include "cocoeval_cc/dataset.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <thread>
#include <utility>

#include "cocoeval_cc/errors.h"
#include "cocoeval_cc/json_scanner.h"

namespace cocoeval {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

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

// A file or buffer copy with one byte of slack in front (used to split the
// results array in two without copying) and simdjson's padding behind.
// Files are mapped privately (no copy, no page zeroing); writes stay local.
class PaddedBuffer {
 public:
  PaddedBuffer() = default;
  PaddedBuffer(const PaddedBuffer&) = delete;
  PaddedBuffer& operator=(const PaddedBuffer&) = delete;
  ~PaddedBuffer() {
    if (map_) ::munmap(map_, map_size_);
  }

  char* data = nullptr;
  size_t size = 0;
  size_t capacity() const { return size + simdjson::SIMDJSON_PADDING; }

  void Allocate(size_t n) {
    mem_.reset(new char[n + 1 + simdjson::SIMDJSON_PADDING]);
    data = mem_.get() + 1;
    size = n;
    std::memset(data + n, ' ', simdjson::SIMDJSON_PADDING);
  }

  // Maps n bytes of fd after one anonymous page; the padding behind the
  // file is anonymous zero pages, so reading it never faults.
  bool Map(int fd, size_t n) {
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t file_pages = (n + page - 1) / page * page;
    map_size_ = page + file_pages + (simdjson::SIMDJSON_PADDING + page - 1) / page * page;
    void* base = ::mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
      map_ = nullptr;
      return false;
    }
    map_ = base;
    char* file = static_cast<char*>(base) + page;
    if (n > 0 && ::mmap(file, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, fd, 0) ==
                     MAP_FAILED) {
      return false;
    }
    data = file;
    size = n;
    return true;
  }

 private:
  std::unique_ptr<char[]> mem_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
};

void ReadFile(const std::string& path, PaddedBuffer* buf) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Fail(path, "", std::string("cannot open file: ") + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    Fail(path, "", "not a regular file");
  }
  const size_t n = static_cast<size_t>(st.st_size);
  if (n >= (1u << 16) && buf->Map(fd, n)) {
    ::close(fd);
    return;
  }
  buf->Allocate(n);
  size_t got = 0;
  while (got < buf->size) {
    const ssize_t r = ::read(fd, buf->data + got, buf->size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      ::close(fd);
      Fail(path, "", std::string("cannot read file: ") +
                         (r < 0 ? std::strerror(errno) : "file shrank while reading"));
    }
    got += static_cast<size_t>(r);
  }
  ::close(fd);
}

void CopyBuffer(std::string_view json, PaddedBuffer* buf) {
  buf->Allocate(json.size());
  if (!json.empty()) std::memcpy(buf->data, json.data(), json.size());
}

bool IsBlank(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != ' ' && p[i] != '\n' && p[i] != '\r' && p[i] != '\t') return false;
  }
  return true;
}

// Reads a number. simdjson 3.0.1's own conversion is wrong for some inputs
// with more than 19 significant digits (0.0000757997975717062904265 gives
// 1.68e-07), so the token goes through the correctly rounded parser.
error_code GetDouble(od::value v, double* out) {
  std::string_view tok = v.raw_json_token();
  while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\n' || tok.back() == '\r' ||
                          tok.back() == '\t')) {
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

// The message for a bad integer field (ids, iscrowd, height / width).
std::string IntProblem(const char* field, error_code e) {
  std::string m = std::string("'") + field + "' must be an integer";
  if (e == simdjson::NUMBER_OUT_OF_RANGE) m += " (the value is out of the int64 range or not finite)";
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

template <typename Fn>
void ParallelFor(size_t n, int num_threads, Fn fn) {
  const size_t workers = std::min<size_t>(static_cast<size_t>(num_threads), n);
  if (workers <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&]() {
    try {
      for (;;) {
        const size_t begin = next.fetch_add(256);
        if (begin >= n) break;
        const size_t end = std::min(n, begin + 256);
        for (size_t i = begin; i < end; ++i) fn(i);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next.store(n);
    }
  };
  std::vector<std::thread> threads;
  for (size_t t = 1; t < workers; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

// ---------------------------------------------------------------- ground truth

void ParseImages(od::value v, const std::string& src, ScannedGroundTruth* gt) {
  od::array arr;
  if (v.get_array().get(arr)) Fail(src, "images", "must be a list");
  size_t index = 0;
  for (auto elem : arr) {
    od::object obj;
    error_code e = elem.get_object().get(obj);
    if (e) Fail(src, RecordName("images", index, false, 0), e == simdjson::INCORRECT_TYPE ? "must be an object" : JsonProblem(e));
    int64_t id = 0, h = -1, w = -1;
    bool has_id = false;
    for (auto field : obj) {
      od::raw_json_string key;
      if ((e = field.key().get(key))) Fail(src, RecordName("images", index, has_id, id), JsonProblem(e));
      od::value val = field.value();
      if (key == "id") {
        if ((e = GetId(val, &id))) Fail(src, RecordName("images", index, false, 0), IntProblem("id", e));
        has_id = true;
      } else if (key == "height" || key == "width") {
        int64_t x;
        if ((e = GetId(val, &x)) || x < 0) {
          Fail(src, RecordName("images", index, has_id, id),
               std::string("'") + (key == "height" ? "height" : "width") + "' must be a non-negative integer");
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
    if (e) Fail(src, RecordName("categories", index, false, 0), e == simdjson::INCORRECT_TYPE ? "must be an object" : JsonProblem(e));
    int64_t id = 0;
    bool has_id = false;
    std::string name, super;
    for (auto field : obj) {
      od::raw_json_string key;
      if ((e = field.key().get(key))) Fail(src, RecordName("categories", index, has_id, id), JsonProblem(e));
      od::value val = field.value();
      if (key == "id") {
        if ((e = GetId(val, &id))) Fail(src, RecordName("categories", index, false, 0), IntProblem("id", e));
        has_id = true;
      } else if (key == "name" || key == "supercategory") {
        std::string_view s;
        if ((e = val.get_string().get(s))) {
          Fail(src, RecordName("categories", index, has_id, id), "'name' and 'supercategory' must be strings");
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

void ParseAnnotations(od::value v, const std::string& src, const char* doc, ScannedGroundTruth* raw) {
  od::array arr;
  if (v.get_array().get(arr)) Fail(src, "annotations", "must be a list");
  size_t index = 0;
  for (auto elem : arr) {
    od::object obj;
    error_code e = elem.get_object().get(obj);
    if (e) Fail(src, RecordName("annotations", index, false, 0), e == simdjson::INCORRECT_TYPE ? "must be an object" : JsonProblem(e));
    int64_t id = 0, image_id = 0, category_id = 0, iscrowd = 0;
    double box[4] = {kNaN, kNaN, kNaN, kNaN};
    double area = kNaN;
    bool has_id = false, has_image = false, has_cat = false, has_area = false;
    uint64_t seg_b = 0, seg_e = 0;
    for (auto field : obj) {
      od::raw_json_string key;
      if ((e = field.key().get(key))) Fail(src, RecordName("annotations", index, has_id, id), JsonProblem(e));
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
        if (!std::isfinite(area)) bad("'area' must be finite (NaN, inf or a number out of double range)");
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
    ++index;
  }
}

// Sorts a table by id and checks that ids are unique.
std::vector<size_t> SortedOrder(const std::vector<int64_t>& ids, const std::string& src,
                                const char* list) {
  std::vector<size_t> order(ids.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return ids[a] < ids[b]; });
  for (size_t i = 1; i < order.size(); ++i) {
    if (ids[order[i]] == ids[order[i - 1]]) {
      Fail(src, RecordName(list, order[i], true, ids[order[i]]),
           "duplicate id (also used by " + std::string(list) + "[" +
               std::to_string(order[i - 1]) + "])");
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
void ParseGroundTruthTables(const PaddedBuffer& buf, const std::string& src, ScannedGroundTruth* t) {
  od::parser parser;
  od::document doc;
  error_code e = parser.iterate(buf.data, buf.size, buf.capacity()).get(doc);
  if (e) Fail(src, "", JsonProblem(e));
  od::object root;
  e = doc.get_object().get(root);
  if (e) Fail(src, "", e == simdjson::INCORRECT_TYPE ? "the top-level value must be an object" : JsonProblem(e));
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

std::unique_ptr<GroundTruth> ParseGroundTruth(std::shared_ptr<PaddedBuffer> buf, const std::string& src) {
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
  }
  // The segmentation texts stay in the document, which the ground truth
  // keeps (no copy); they are parsed only for segm evaluation.
  gt->ann_segm.base = buf->data;
  gt->ann_segm.owner = std::move(buf);
  return gt;
}

// ------------------------------------------------------------------ results

// Results parsed from one slice of the results array.
struct ResultChunk {
  std::vector<uint32_t> image, category;
  std::vector<double> bbox, score;
  std::vector<uint8_t> has_bbox;
  TextArena segm;
  bool first_has_bbox = false;  // non-empty bbox on the slice's first record
  bool first_has_segm = false;
};

std::string ResultName(size_t index, bool has_image, int64_t image_id) {
  std::string s = "results[" + std::to_string(index) + "]";
  if (has_image) s += " (image_id " + std::to_string(image_id) + ")";
  return s;
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
  if (e) {
    Fail(src, "", e == simdjson::INCORRECT_TYPE ? "results must be a list of objects" : JsonProblem(e));
  }
  // Reserve for the smallest plausible record so vectors never regrow;
  // untouched reserved pages cost no memory.
  const size_t max_records = size / 48 + 16;
  out->image.reserve(max_records);
  out->category.reserve(max_records);
  out->bbox.reserve(4 * max_records);
  out->score.reserve(max_records);
  out->has_bbox.reserve(max_records);
  size_t index = first_index;
  for (auto elem : arr) {
    od::object obj;
    e = elem.get_object().get(obj);
    if (e) Fail(src, ResultName(index, false, 0), e == simdjson::INCORRECT_TYPE ? "must be an object" : JsonProblem(e));
    int64_t image_id = 0, category_id = 0;
    double box[4] = {kNaN, kNaN, kNaN, kNaN};
    double score = kNaN;
    bool has_image = false, has_cat = false, has_score = false;
    int box_n = -1;
    bool has_segm = false;
    std::string_view segm_text;
    for (auto field : obj) {
      od::raw_json_string key;
      if ((e = field.key().get(key))) Fail(src, ResultName(index, has_image, image_id), JsonProblem(e));
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
           "category_id " + std::to_string(category_id) + " is not in the ground truth " + gt.source);
    }
    if (index == first_index) {
      out->first_has_bbox = box_n == 4;
      out->first_has_segm = has_segm;
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
    ++index;
  }
  if (doc.current_location().error() == simdjson::SUCCESS) Fail(src, "", "invalid JSON (trailing content after the results list)");
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
  const uint64_t base = into->segm.arena.size();
  into->segm.arena += c.segm.arena;
  for (size_t i = 0; i < c.segm.begin.size(); ++i) {
    into->segm.begin.push_back(base + c.segm.begin[i]);
    into->segm.end.push_back(base + c.segm.end[i]);
  }
  c = ResultChunk();
}

std::unique_ptr<Detections> FinishDetections(const GroundTruth& gt, std::vector<ResultChunk>& chunks,
                                             const std::string& src, int num_threads) {
  auto det = std::make_unique<Detections>();
  det->source = src;
  size_t n = 0;
  for (const auto& c : chunks) n += c.score.size();
  if (n == 0) Fail(src, "", "no results (the results list is empty)");
  const ResultChunk& first = chunks[0];
  if (!first.first_has_bbox && !first.first_has_segm) {
    Fail(src, "results[0]", "has neither 'bbox' nor 'segmentation' (keypoints and captions are not supported)");
  }
  det->bbox_mode = first.first_has_bbox;
  ResultChunk& all = chunks[0];
  for (size_t i = 1; i < chunks.size(); ++i) AppendChunk(std::move(chunks[i]), &all);
  det->image = std::move(all.image);
  det->category = std::move(all.category);
  det->bbox = std::move(all.bbox);
  det->score = std::move(all.score);
  const std::vector<uint8_t> has_bbox = std::move(all.has_bbox);
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
      if (!has_bbox[i]) Fail(src, ResultName(i, true, gt.image_ids[det->image[i]]), "missing 'bbox'");
      det->area[i] = det->bbox[4 * i + 2] * det->bbox[4 * i + 3];
    }
    det->segm = std::move(segm);
    return det;
  }
  // Segm results: the area (and a missing bbox) come from the mask.
  det->segm_masks.Resize(n);
  ParallelFor(n, num_threads, [&](size_t i) {
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
  bool ok;
  if (split) {
    parts.resize(2);
    const size_t head = (close + 1) / 48 + 16;
    parts[0].image.reserve(head);
    parts[0].category.reserve(head);
    parts[0].bbox.reserve(4 * head);
    parts[0].score.reserve(head);
    const size_t tail_records = (buf.size - open) / 48 + 16;
    parts[1].image.reserve(tail_records);
    parts[1].category.reserve(tail_records);
    parts[1].bbox.reserve(4 * tail_records);
    parts[1].score.reserve(tail_records);
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
    ok = ScanResults(buf.data, buf.data + buf.size, ScanPart::kWhole, gt.image_index,
                     gt.category_index, &parts[0]);
  }
  if (!ok) return nullptr;
  ScannedResults& all = parts[0];
  if (parts.size() == 2) {
    all.image.insert(all.image.end(), parts[1].image.begin(), parts[1].image.end());
    all.category.insert(all.category.end(), parts[1].category.begin(), parts[1].category.end());
    all.bbox.insert(all.bbox.end(), parts[1].bbox.begin(), parts[1].bbox.end());
    all.score.insert(all.score.end(), parts[1].score.begin(), parts[1].score.end());
  }
  auto det = std::make_unique<Detections>();
  det->source = src;
  det->bbox_mode = true;
  det->image = std::move(all.image);
  det->category = std::move(all.category);
  det->bbox = std::move(all.bbox);
  det->score = std::move(all.score);
  const size_t n = det->score.size();
  det->area.resize(n);
  for (size_t i = 0; i < n; ++i) det->area[i] = det->bbox[4 * i + 2] * det->bbox[4 * i + 3];
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
        ParseResultArray(split.second, split.second_size, buf.capacity() - (split.second - buf.data),
                         gt, src, 0, &chunks[1]);
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

// --------------------------------------------------------------- segmentation

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
        if (val.get_string().get(counts_str)) throw InputError(Prefix(what) + "malformed RLE 'counts' string");
        compressed = true;
      } else if (type == od::json_type::array) {
        od::array arr;
        if (val.get_array().get(arr)) throw InputError(Prefix(what) + "RLE 'counts' must be a string or a list");
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
      if (val.get_array().get(arr)) throw InputError(Prefix(what) + "RLE 'size' must be [height, width]");
      int n = 0;
      for (auto c : arr) {
        int64_t x;
        if (n >= 2 || c.get_int64().get(x) || x < 0) throw InputError(Prefix(what) + "RLE 'size' must be [height, width]");
        size[n++] = x;
      }
      if (n != 2) throw InputError(Prefix(what) + "RLE 'size' must be [height, width]");
      has_size = true;
    }
  }
  if (!has_counts || !has_size) throw InputError(Prefix(what) + "RLE segmentation needs 'counts' and 'size'");
  if (size[0] != h || size[1] != w) {
    throw InputError(Prefix(what) + "mask size [" + std::to_string(size[0]) + ", " + std::to_string(size[1]) +
                     "] does not match the image size [" + std::to_string(h) + ", " + std::to_string(w) + "]");
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
    if (p.get_array().get(arr)) throw InputError(Prefix(what) + "a polygon must be a list of numbers");
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

// ------------------------------------------------------------------- public

int ResolveThreads(int num_threads) {
  if (num_threads > 0) return num_threads;
  const unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

void IdIndex::Build(const std::vector<int64_t>& ids) {
  direct_.clear();
  sorted_ids_.clear();
  sorted_pos_.clear();
  direct_mode_ = false;
  if (ids.empty()) {
    direct_mode_ = true;
    return;
  }
  const auto [lo, hi] = std::minmax_element(ids.begin(), ids.end());
  const uint64_t range = static_cast<uint64_t>(*hi) - static_cast<uint64_t>(*lo);
  // A table of up to a few MB beats binary search (COCO: ids < 600k).
  if (range < 16 * ids.size() + (size_t{1} << 21)) {
    direct_mode_ = true;
    min_ = *lo;
    direct_.assign(range + 1, -1);
    for (size_t i = 0; i < ids.size(); ++i) direct_[static_cast<uint64_t>(ids[i]) - static_cast<uint64_t>(min_)] = static_cast<int32_t>(i);
    return;
  }
  std::vector<size_t> order(ids.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a] < ids[b]; });
  for (size_t i : order) {
    sorted_ids_.push_back(ids[i]);
    sorted_pos_.push_back(static_cast<uint32_t>(i));
  }
}

int64_t IdIndex::FindSorted(int64_t id) const {
  auto it = std::lower_bound(sorted_ids_.begin(), sorted_ids_.end(), id);
  if (it == sorted_ids_.end() || *it != id) return -1;
  return sorted_pos_[it - sorted_ids_.begin()];
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

const MaskSet& GroundTruth::MaskData(int num_threads) const {
  std::lock_guard<std::mutex> lock(masks_mutex_);
  if (masks_ready_) return masks_;
  MaskSet masks;
  masks.Resize(ann_ids.size());
  ParallelFor(masks.size(), ResolveThreads(num_threads), [&](size_t i) {
    auto name = [&] { return source + ": " + AnnotationName(i); };
    if (!ann_segm.Has(i)) throw InputError(name() + ": missing 'segmentation' (needed for segm evaluation)");
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
  if (!bbox_mode) return segm_masks;
  std::lock_guard<std::mutex> lock(masks_mutex_);
  if (masks_ready_) return masks_;
  MaskSet masks;
  masks.Resize(size());
  ParallelFor(masks.size(), ResolveThreads(num_threads), [&](size_t i) {
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
  if (h < 0 || w < 0) throw InputError(Prefix(what) + "the image has no height/width (needed for masks)");
  thread_local od::parser parser;  // reused: its buffers outlive the call
  od::document doc;
  error_code e = parser.iterate(json.data(), json.size(), json.size() + simdjson::SIMDJSON_PADDING).get(doc);
  if (e) throw InputError(Prefix(what) + "segmentation: " + JsonProblem(e));
  od::json_type type;
  if ((e = doc.type().get(type))) throw InputError(Prefix(what) + "segmentation: " + JsonProblem(e));
  if (type == od::json_type::array) {
    od::array arr;
    if ((e = doc.get_array().get(arr))) throw InputError(Prefix(what) + "segmentation: " + JsonProblem(e));
    return DecodePolygons(arr, h, w, what);
  }
  od::object obj;
  if ((e = doc.get_object().get(obj))) throw InputError(Prefix(what) + "segmentation: " + JsonProblem(e));
  return DecodeRleObject(obj, h, w, what);
}

std::unique_ptr<GroundTruth> LoadGroundTruthFile(const std::string& path) {
  auto buf = std::make_shared<PaddedBuffer>();
  ReadFile(path, buf.get());
  return ParseGroundTruth(std::move(buf), path);
}

std::unique_ptr<GroundTruth> LoadGroundTruthBuffer(std::string_view json, const std::string& source) {
  auto buf = std::make_shared<PaddedBuffer>();
  CopyBuffer(json, buf.get());
  return ParseGroundTruth(std::move(buf), source);
}

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
    if (!std::isfinite(r[0]) || !std::isfinite(r[6]) || std::fabs(r[0]) > 9.2e18 || std::fabs(r[6]) > 9.2e18) {
      Fail(source, row, "image_id and category_id must be finite");
    }
    // int() in loadNumpyAnnotations truncates toward zero.
    const int64_t image_id = static_cast<int64_t>(r[0]);
    const int64_t category_id = static_cast<int64_t>(r[6]);
    const int64_t img = gt.image_index.Find(image_id);
    if (img < 0) Fail(source, row, "image_id " + std::to_string(image_id) + " is not in the ground truth " + gt.source);
    const int64_t cat = gt.category_index.Find(category_id);
    if (cat < 0) Fail(source, row, "category_id " + std::to_string(category_id) + " is not in the ground truth " + gt.source);
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
