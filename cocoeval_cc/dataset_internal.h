// Internal helpers shared by the loaders behind dataset.h (dataset.cc,
// padded_buffer.cc, ground_truth_loader.cc, detections_loader.cc,
// segmentation.cc): error messages, the input buffer and the simdjson field
// readers. Not part of the public API.
#ifndef COCOEVAL_CC_DATASET_INTERNAL_H_
#define COCOEVAL_CC_DATASET_INTERNAL_H_

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cocoeval {
namespace internal {

namespace od = simdjson::ondemand;
using simdjson::error_code;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------- error messages
// (defined in dataset.cc)

// Throws InputError "source: where: problem" ("source: problem" when `where`
// is empty).
[[noreturn]] void Fail(const std::string& source, const std::string& where,
                       const std::string& problem);

// "invalid JSON (<simdjson's message>)".
std::string JsonProblem(error_code e);

// Why a list element could not be read as a record (object): "must be an object" when it
// is another JSON type, else the parse error.
std::string RecordProblem(error_code e);

// The message for a bad integer field (ids, iscrowd, height / width).
std::string IntProblem(const char* field, error_code e);

// "images[3] (id 7)": a ground-truth record, named by list, index and id.
std::string RecordName(const char* list, size_t index, bool has_id, int64_t id);

// "results[3] (image_id 7)": a result, named by index and image id.
std::string ResultName(size_t index, bool has_image, int64_t image_id);

// ------------------------------------------------------------ input buffer
// (defined in padded_buffer.cc)

// A file or buffer copy with one byte of slack in front (used to split the
// results array in two without copying) and simdjson's padding behind.
// Files are mapped privately (no copy, no page zeroing); writes stay local.
class PaddedBuffer {
 public:
  PaddedBuffer() = default;
  PaddedBuffer(const PaddedBuffer&) = delete;
  PaddedBuffer& operator=(const PaddedBuffer&) = delete;
  ~PaddedBuffer();

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
  bool Map(int fd, size_t n);

 private:
  std::unique_ptr<char[]> mem_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
};

// Reads a whole file into `buf`; Fail()s naming `path` on error.
void ReadFile(const std::string& path, PaddedBuffer* buf);

// Copies `json` into `buf`.
void CopyBuffer(std::string_view json, PaddedBuffer* buf);

// True when p[0, n) is only JSON whitespace.
bool IsBlank(const char* p, size_t n);

// ------------------------------------------------- simdjson field readers
// (defined in dataset.cc)

// The raw JSON text of a segmentation (a polygon list or an RLE object).
// Returns the problem, or "" on success.
std::string RawSegmentation(od::value& val, std::string_view* text);

// Reads a number, correctly rounded.
error_code GetDouble(od::value v, double* out);

// Reads an integer id (integral doubles such as 1.0 too).
error_code GetId(od::value v, int64_t* out);

// Reads a bbox array. Returns the number of elements read into out[0..3]
// (more than 4 reports 5), or -1 on a non-number.
int GetBox(od::value v, double* out, error_code* err);

// Appends the numbers of a JSON list of finite numbers to `out`. Returns the
// problem (naming `field`), or "" on success.
std::string GetNumberList(od::value v, const char* field, std::vector<double>* out);

// The raw JSON text of a list (an array value). Returns the problem (naming
// `field`), or "" on success.
std::string RawList(od::value& val, const char* field, std::string_view* text);

// Reads 'num_keypoints': a number (or a boolean, as Python compares it).
// Returns the problem, or "" on success.
std::string GetNumKeypoints(od::value v, double* out);

// The problem with a bbox [x, y, w, h], or "" when it is valid.
std::string CheckBox(const double* b);

}  // namespace internal
}  // namespace cocoeval

#endif  // COCOEVAL_CC_DATASET_INTERNAL_H_
