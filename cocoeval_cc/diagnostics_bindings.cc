// Python bindings: F1 thresholds, confusion, calibration, per-image
// diagnostics. Results are plain dicts / lists with the ground truth's
// native ids; cocoeval_cc/diagnostics.py maps ids back and adds names.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <vector>

#include "cocoeval_cc/analysis_bindings.h"
#include "cocoeval_cc/diagnostics.h"
#include "cocoeval_cc/evaluator.h"

namespace py = pybind11;

namespace cocoeval {

void BindDiagnostics(py::module_& m) {
  m.def(
      "diagnostics_f1_thresholds",
      [](const Evaluator& e, double iou, int num_threads) {
        std::vector<F1Threshold> r;
        {
          py::gil_scoped_release release;
          r = F1Thresholds(e, iou, num_threads);
        }
        py::list out;
        for (const F1Threshold& f : r) {
          py::dict d;
          d["category_id"] = f.category_id;
          d["num_gt"] = f.num_gt;
          d["tp"] = f.tp;
          d["fp"] = f.fp;
          const py::object none = py::none();
          d["score"] = f.found ? py::object(py::float_(f.score)) : none;
          d["precision"] = f.found ? py::object(py::float_(f.precision)) : none;
          d["recall"] = f.found ? py::object(py::float_(f.recall)) : none;
          d["f1"] = f.found ? py::object(py::float_(f.f1)) : none;
          out.append(d);
        }
        return out;
      },
      py::arg("evaluator"), py::arg("iou"), py::arg("num_threads") = 0,
      "Per category: the F1-optimal score threshold at `iou` (native category ids).");

  m.def(
      "diagnostics_confusion",
      [](const Evaluator& e, double iou, double score_thr, int num_threads) {
        ConfusionMatrix c;
        {
          py::gil_scoped_release release;
          c = Confusion(e, iou, score_thr, num_threads);
        }
        const py::ssize_t n = static_cast<py::ssize_t>(c.category_ids.size() + 1);
        py::array_t<uint64_t> matrix({n, n});
        std::memcpy(matrix.mutable_data(), c.matrix.data(), c.matrix.size() * sizeof(uint64_t));
        return py::make_tuple(c.category_ids, matrix);
      },
      py::arg("evaluator"), py::arg("iou"), py::arg("score_thr"), py::arg("num_threads") = 0,
      "(native category ids, (K+1) x (K+1) counts): rows ground truth (+ background), columns "
      "detected as (+ missed).");

  m.def(
      "diagnostics_calibration",
      [](const Evaluator& e, double iou, int64_t n_bins) {
        Calibration c;
        {
          py::gil_scoped_release release;
          c = ComputeCalibration(e, iou, n_bins);
        }
        py::list bins;
        for (const CalibrationBin& b : c.bins) {
          py::dict d;
          d["lo"] = b.lo;
          d["hi"] = b.hi;
          d["count"] = b.count;
          // An empty bin has no mean score or accuracy.
          d["mean_score"] = b.count ? py::object(py::float_(b.mean_score)) : py::none();
          d["accuracy"] = b.count ? py::object(py::float_(b.accuracy)) : py::none();
          bins.append(d);
        }
        py::dict out;
        out["ece"] = c.ece;
        out["mce"] = c.mce;
        out["num_detections"] = c.num_detections;
        out["bins"] = bins;
        return out;
      },
      py::arg("evaluator"), py::arg("iou"), py::arg("n_bins"),
      "Expected / maximum calibration error and the reliability bins at `iou`.");

  m.def(
      "diagnostics_images",
      [](const Evaluator& e, double iou, double score_thr, int64_t top_n, int num_threads) {
        ImageDiagnostics r;
        {
          py::gil_scoped_release release;
          r = DiagnoseImages(e, iou, score_thr, top_n, num_threads);
        }
        py::list images;
        for (const ImageCounts& c : r.images) {
          py::dict d;
          d["image_id"] = c.image_id;
          d["tp"] = c.tp;
          d["fp"] = c.fp;
          d["fn"] = c.fn;
          d["f1"] = c.f1;
          images.append(d);
        }
        py::list labels;
        for (const LabelError& l : r.label_errors) {
          py::dict d;
          d["image_id"] = l.image_id;
          d["gt_id"] = l.gt_id;
          d["gt_category_id"] = l.gt_category_id;
          d["dt_category_id"] = l.dt_category_id;
          d["score"] = l.score;
          d["iou"] = l.iou;
          labels.append(d);
        }
        return py::make_tuple(images, r.worst, labels);
      },
      py::arg("evaluator"), py::arg("iou"), py::arg("score_thr"), py::arg("top_n"),
      py::arg("num_threads") = 0,
      "(per-image counts, indices of the worst images, label errors), native ids.");
}

}  // namespace cocoeval
