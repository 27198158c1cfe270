// Python bindings: slices and the paired bootstrap comparison. The Python
// API (ids, names, the JSON-ready schema) is cocoeval_cc/comparison.py.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cocoeval_cc/analysis_bindings.h"
#include "cocoeval_cc/comparison.h"
#include "cocoeval_cc/evaluator.h"

namespace py = pybind11;

namespace cocoeval {
namespace {

py::array_t<double> Matrix(const std::vector<double>& v, size_t rows, size_t cols) {
  py::array_t<double> a({rows, cols});
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

py::dict IntervalDict(const DeltaInterval& d) {
  py::dict out;
  out["a"] = d.a;
  out["b"] = d.b;
  out["delta"] = d.delta;
  // No resample where both are defined: no interval.
  out["lo"] = std::isnan(d.lo) ? py::object(py::none()) : py::object(py::float_(d.lo));
  out["hi"] = std::isnan(d.hi) ? py::object(py::none()) : py::object(py::float_(d.hi));
  out["significant"] = d.significant;
  out["valid_samples"] = d.valid_samples;
  return out;
}

}  // namespace

void BindComparison(py::module_& m) {
  m.def(
      "slice_stats",
      [](const Evaluator& e, const std::string& name, std::vector<int64_t> image_ids,
         int num_threads) {
        SliceStats s;
        {
          py::gil_scoped_release release;
          s = EvaluateSlice(e, name, image_ids, num_threads);
        }
        const size_t S = s.stats.size();
        const size_t K = S ? s.per_category.size() / S : 0;
        py::dict out;
        out["num_images"] = s.num_images;
        out["stats"] = s.stats;
        out["per_category"] = Matrix(s.per_category, S, K);
        return out;
      },
      py::arg("evaluator"), py::arg("name"), py::arg("image_ids"), py::arg("num_threads") = 0,
      "Statistics of the evaluated images in image_ids (native ids): {num_images, stats (S), "
      "per_category (S x K)}. ValueError for an empty slice or unknown ids.");
  m.def(
      "builtin_slices",
      [](const Evaluator& e) {
        std::vector<std::pair<std::string, std::vector<int64_t>>> out;
        for (NamedSlice& s : BuiltinSlices(e)) out.emplace_back(s.name, std::move(s.image_ids));
        return out;
      },
      py::arg("evaluator"), "[(name, native image ids)] of the non-empty built-in slices.");
  m.def(
      "compare",
      [](const Evaluator& a, const Evaluator& b, int64_t n_bootstrap, uint64_t seed,
         double confidence, int num_threads) {
        ComparisonResult r;
        {
          py::gil_scoped_release release;
          r = Compare(a, b, n_bootstrap, seed, confidence, num_threads);
        }
        py::dict out;
        out["num_images"] = r.num_images;
        py::list stats, cats;
        for (const DeltaInterval& d : r.stats) stats.append(IntervalDict(d));
        for (const DeltaInterval& d : r.per_category) cats.append(IntervalDict(d));
        out["stats"] = stats;
        out["per_category"] = cats;
        return out;
      },
      py::arg("eval_a"), py::arg("eval_b"), py::arg("n_bootstrap"), py::arg("seed"),
      py::arg("confidence"), py::arg("num_threads") = 0,
      "Paired bootstrap of b - a over the evaluated images (native evaluators).");
  m.def(
      "bootstrap_weighted_stats",
      [](const Evaluator& e, std::vector<uint32_t> weights) {
        std::vector<double> stats, cat0;
        {
          py::gil_scoped_release release;
          BootstrapModel model(e);
          model.WeightedStats(weights, &stats, &cat0);
        }
        return std::make_pair(stats, cat0);
      },
      py::arg("evaluator"), py::arg("weights"),
      "(stats, per-category stat 0) with image i (sorted evaluated ids) counted weights[i] "
      "times; what one bootstrap resample computes.");
  m.def(
      "evaluator_evaluated", [](const Evaluator& e) { return e.evaluated(); }, py::arg("evaluator"),
      "Whether evaluate() (or set_state) has run.");
  m.def("bootstrap_resample_weights", &ResampleWeights, py::arg("seed"), py::arg("r"), py::arg("n"),
        "Image multiplicities of resample r of n images.");
  m.def("bootstrap_quantile", &Quantile, py::arg("sorted"), py::arg("q"),
        "numpy's linear quantile of sorted values.");
}

}  // namespace cocoeval
