// Python bindings: slices and the paired bootstrap comparison.
#include "cocoeval_cc/analysis_bindings.h"

namespace cocoeval {

void BindComparison(pybind11::module_& m) { (void)m; }

}  // namespace cocoeval
