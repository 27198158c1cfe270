// Python bindings: TIDE error decomposition.
#include <pybind11/stl.h>

#include "cocoeval_cc/analysis_bindings.h"
#include "cocoeval_cc/evaluator.h"
#include "cocoeval_cc/tide.h"

namespace py = pybind11;

namespace cocoeval {
namespace {

py::dict Summary(const TideSummary& s) {
  py::dict d;
  d["ap"] = s.ap;
  d["delta_ap"] = py::list(py::cast(std::vector<double>(s.delta_ap.begin(), s.delta_ap.end())));
  d["counts"] = py::list(py::cast(std::vector<int64_t>(s.counts.begin(), s.counts.end())));
  return d;
}

}  // namespace

void BindTide(pybind11::module_& m) {
  m.def(
      "tide_errors",
      [](const Evaluator& e, double pos_thr, double bg_thr, int num_threads) {
        TideResult r;
        {
          py::gil_scoped_release release;
          r = ComputeTide(e, pos_thr, bg_thr, num_threads);
        }
        const GroundTruth& gt = e.ground_truth();
        py::dict out = Summary(r.overall);
        py::list cats;
        for (size_t k = 0; k < r.categories.size(); ++k) {
          py::dict c = Summary(r.per_category[k]);
          c["category_id"] = gt.category_ids[r.categories[k]];
          c["name"] = gt.category_names[r.categories[k]];
          cats.append(c);
        }
        out["per_category"] = cats;
        return out;
      },
      py::arg("evaluator"), py::arg("pos_thr") = 0.5, py::arg("bg_thr") = 0.1,
      py::arg("num_threads") = 0,
      "TIDE (tidecv 1.0.1) error decomposition of an evaluated Evaluator: {ap, delta_ap [Cls, Loc, "
      "Both, Dupe, Bkg, Miss, FP, FN], counts [Cls, Loc, Both, Dupe, Bkg, Miss], per_category: "
      "[{category_id (native), name, ap, delta_ap, counts}]}, AP as fractions.");
}

}  // namespace cocoeval
