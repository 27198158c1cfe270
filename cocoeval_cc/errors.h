// Error types shared by the cocoeval C++ modules.

#ifndef COCOEVAL_CC_ERRORS_H_
#define COCOEVAL_CC_ERRORS_H_

#include <stdexcept>
#include <string>

namespace cocoeval {

// Thrown when caller-supplied data (JSON, RLE strings, masks, polygons) is
// malformed. The message says what is wrong; no partial result is returned.
class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& what) : std::runtime_error(what) {}
  explicit InputError(const char* what) : std::runtime_error(what) {}
};

}  // namespace cocoeval

#endif  // COCOEVAL_CC_ERRORS_H_
