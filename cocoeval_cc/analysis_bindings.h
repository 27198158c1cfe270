// Bindings of the analyses built on an evaluation (error analysis,
// diagnostics, model comparison), one file per concern, each registered
// into _cocoeval_cc by python_bindings.cc.
#ifndef COCOEVAL_CC_ANALYSIS_BINDINGS_H_
#define COCOEVAL_CC_ANALYSIS_BINDINGS_H_

#include <pybind11/pybind11.h>

namespace cocoeval {

// tide_bindings.cc: TIDE error decomposition.
void BindTide(pybind11::module_& m);
// diagnostics_bindings.cc: F1 thresholds, confusion, calibration, per-image.
void BindDiagnostics(pybind11::module_& m);
// comparison_bindings.cc: slices and the paired bootstrap.
void BindComparison(pybind11::module_& m);

}  // namespace cocoeval

#endif  // COCOEVAL_CC_ANALYSIS_BINDINGS_H_
