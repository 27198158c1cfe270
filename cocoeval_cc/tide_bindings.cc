// Python bindings: TIDE error decomposition.
#include "cocoeval_cc/analysis_bindings.h"

namespace cocoeval {

void BindTide(pybind11::module_& m) { (void)m; }

}  // namespace cocoeval
