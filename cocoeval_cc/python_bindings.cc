// pybind11 module _cocoeval_cc: loading, evaluation, sharding state and
// mask utilities. Heavy work runs without the GIL; InputError becomes
// ValueError with the loader's message.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cocoeval_cc/accumulate.h"
#include "cocoeval_cc/analysis_bindings.h"
#include "cocoeval_cc/dataset.h"
#include "cocoeval_cc/errors.h"
#include "cocoeval_cc/evaluate.h"
#include "cocoeval_cc/evaluator.h"
#include "cocoeval_cc/mask.h"
#include "cocoeval_cc/params.h"
#include "cocoeval_cc/summarize.h"

namespace py = pybind11;

namespace cocoeval {
namespace {

using GtPtr = std::shared_ptr<GroundTruth>;
using DtPtr = std::shared_ptr<Detections>;

template <typename T>
py::array_t<T> ToArray(const std::vector<T>& v) {
  py::array_t<T> a(v.size());
  if (!v.empty()) std::memcpy(a.mutable_data(), v.data(), v.size() * sizeof(T));
  return a;
}

// A read-only numpy view of evaluator-owned memory; `owner` keeps it alive.
py::array View(const std::vector<double>& v, std::vector<py::ssize_t> shape, py::handle owner) {
  std::vector<py::ssize_t> strides(shape.size());
  py::ssize_t stride = sizeof(double);
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  py::array a(py::dtype::of<double>(), shape, strides, v.data(), owner);
  a.attr("setflags")(py::arg("write") = false);
  return a;
}

// Borrows the bytes of a bytes / str / buffer object without copying; the
// object (and `keep`, for buffers) must outlive the view.
std::string_view BorrowBytes(const py::object& o, std::unique_ptr<py::buffer_info>* keep) {
  if (PyBytes_Check(o.ptr())) {
    char* p = nullptr;
    Py_ssize_t n = 0;
    if (PyBytes_AsStringAndSize(o.ptr(), &p, &n) != 0) throw py::error_already_set();
    return std::string_view(p, static_cast<size_t>(n));
  }
  if (PyUnicode_Check(o.ptr())) {
    Py_ssize_t n = 0;
    const char* p = PyUnicode_AsUTF8AndSize(o.ptr(), &n);
    if (p == nullptr) throw py::error_already_set();
    return std::string_view(p, static_cast<size_t>(n));
  }
  *keep = std::make_unique<py::buffer_info>(py::buffer(o).request());
  return std::string_view(static_cast<const char*>((*keep)->ptr),
                          static_cast<size_t>((*keep)->size * (*keep)->itemsize));
}

std::string BytesOf(const py::object& o) {
  std::unique_ptr<py::buffer_info> keep;
  return std::string(BorrowBytes(o, &keep));
}

// ---- RLE <-> Python dict {'size': [h, w], 'counts': bytes}

py::dict RleToPy(const Rle& r) {
  py::dict d;
  py::list size;
  size.append(r.h);
  size.append(r.w);
  d["size"] = size;
  d["counts"] = py::bytes(ToString(r));
  return d;
}

Rle RleFromPy(const py::handle& o) {
  if (!py::isinstance<py::dict>(o))
    throw InputError("expected an RLE dict with 'size' and 'counts'");
  py::dict d = py::reinterpret_borrow<py::dict>(o);
  if (!d.contains("size") || !d.contains("counts"))
    throw InputError("RLE dict needs 'size' and 'counts'");
  std::vector<int64_t> size = d["size"].cast<std::vector<int64_t>>();
  if (size.size() != 2 || size[0] < 0 || size[1] < 0)
    throw InputError("RLE 'size' must be [height, width]");
  const uint64_t h = static_cast<uint64_t>(size[0]), w = static_cast<uint64_t>(size[1]);
  py::object counts = d["counts"];
  if (py::isinstance<py::bytes>(counts) || py::isinstance<py::str>(counts)) {
    const std::string s = py::isinstance<py::bytes>(counts) ? std::string(counts.cast<py::bytes>())
                                                            : counts.cast<std::string>();
    return FromString(s, h, w);
  }
  Rle r;
  r.h = h;
  r.w = w;
  for (const auto& c : counts) {
    const int64_t v = c.cast<int64_t>();
    if (v < 0 || v > 0xFFFFFFFFll)
      throw InputError("RLE counts must be non-negative 32-bit integers");
    r.counts.push_back(static_cast<uint32_t>(v));
  }
  return r;
}

std::vector<Rle> RlesFromPy(const py::handle& o, bool* single) {
  std::vector<Rle> out;
  *single = py::isinstance<py::dict>(o);
  if (*single) {
    out.push_back(RleFromPy(o));
  } else {
    for (const auto& item : o) out.push_back(RleFromPy(item));
  }
  return out;
}

py::object RlesToPy(const std::vector<Rle>& rles, bool single) {
  if (single) return RleToPy(rles.at(0));
  py::list l;
  for (const Rle& r : rles) l.append(RleToPy(r));
  return l;
}

std::vector<double> BoxesFromPy(const py::handle& o) {
  auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(o);
  if (!a) throw InputError("expected an N x 4 array of boxes");
  if (a.size() == 0) return {};
  if (a.ndim() == 1 && a.shape(0) == 4) return std::vector<double>(a.data(), a.data() + 4);
  if (a.ndim() != 2 || a.shape(1) != 4) throw InputError("expected an N x 4 array of boxes");
  return std::vector<double>(a.data(), a.data() + a.size());
}

bool IsRleList(const py::handle& o) {
  if (py::isinstance<py::dict>(o)) return true;
  if (py::isinstance<py::list>(o) || py::isinstance<py::tuple>(o)) {
    py::sequence s = py::reinterpret_borrow<py::sequence>(o);
    return s.size() > 0 && py::isinstance<py::dict>(s[0]);
  }
  return false;
}

// Params(iouType): setDetParams, or setKpParams for keypoints.
Params MakeParams(const std::string& iou_type) { return DefaultParams(ParseIouType(iou_type)); }

}  // namespace
}  // namespace cocoeval

PYBIND11_MODULE(_cocoeval_cc, m) {
  using namespace cocoeval;
  m.doc() = "Bit-exact, fast COCO bbox/segm/keypoints evaluation (pycocotools 2.0.11 semantics).";
  py::register_exception<InputError>(m, "InputError", PyExc_ValueError);

  // ---------------------------------------------------------------- data
  py::class_<GroundTruth, GtPtr>(m, "GroundTruth")
      .def_readonly("source", &GroundTruth::source)
      .def_property_readonly("image_ids", [](const GroundTruth& g) { return ToArray(g.image_ids); })
      .def_property_readonly("category_ids",
                             [](const GroundTruth& g) { return ToArray(g.category_ids); })
      .def_property_readonly("category_names",
                             [](const GroundTruth& g) { return g.category_names; })
      .def_property_readonly("category_supercategories",
                             [](const GroundTruth& g) { return g.category_supercategories; })
      .def_property_readonly("annotation_ids",
                             [](const GroundTruth& g) { return ToArray(g.ann_ids); })
      .def_property_readonly("num_annotations", &GroundTruth::num_annotations)
      .def("__repr__", [](const GroundTruth& g) {
        return "<GroundTruth " + g.source + ": " + std::to_string(g.image_ids.size()) +
               " images, " + std::to_string(g.category_ids.size()) + " categories, " +
               std::to_string(g.ann_ids.size()) + " annotations>";
      });

  py::class_<Detections, DtPtr>(m, "Detections")
      .def_readonly("source", &Detections::source)
      .def_readonly("bbox_mode", &Detections::bbox_mode)
      .def_readonly("keypoint_mode", &Detections::keypoint_mode)
      .def("__len__", &Detections::size)
      .def_property_readonly("scores", [](const Detections& d) { return ToArray(d.score); })
      .def_property_readonly("areas", [](const Detections& d) { return ToArray(d.area); })
      .def_property_readonly("boxes", [](const Detections& d) {
        py::array_t<double> a({static_cast<py::ssize_t>(d.size()), py::ssize_t{4}});
        if (d.size()) std::memcpy(a.mutable_data(), d.bbox.data(), d.bbox.size() * sizeof(double));
        return a;
      });

  m.def(
      "load_ground_truth",
      [](const std::string& path) {
        py::gil_scoped_release release;
        return GtPtr(LoadGroundTruthFile(path));
      },
      py::arg("path"), "Loads a COCO ground-truth JSON file.");
  m.def(
      "load_ground_truth_bytes",
      [](py::object data, const std::string& source) {
        std::unique_ptr<py::buffer_info> keep;
        const std::string_view buf = BorrowBytes(data, &keep);
        py::gil_scoped_release release;
        return GtPtr(LoadGroundTruthBuffer(buf, source));
      },
      py::arg("data"), py::arg("source") = "<bytes>", "Loads ground truth from JSON bytes/str.");
  m.def(
      "load_results",
      [](GtPtr gt, const std::string& path, int num_threads) {
        py::gil_scoped_release release;
        return DtPtr(LoadDetectionsFile(*gt, path, num_threads));
      },
      py::arg("gt"), py::arg("path"), py::arg("num_threads") = 0,
      "Loads a results JSON file (loadRes semantics).");
  m.def(
      "load_results_bytes",
      [](GtPtr gt, py::object data, const std::string& source, int num_threads) {
        std::unique_ptr<py::buffer_info> keep;
        const std::string_view buf = BorrowBytes(data, &keep);
        py::gil_scoped_release release;
        return DtPtr(LoadDetectionsBuffer(*gt, buf, source, num_threads));
      },
      py::arg("gt"), py::arg("data"), py::arg("source") = "<bytes>", py::arg("num_threads") = 0);
  // pycocotools evaluates a result set without annotations (a COCO assembled
  // by hand) as AP 0 wherever there is ground truth; loadRes of an empty list
  // stays an error (pycocotools fails on it too).
  m.def(
      "empty_detections",
      [](const std::string& source) {
        auto d = std::make_shared<Detections>();
        d->source = source;
        return d;
      },
      py::arg("source") = "<no annotations>", "A result set with no detections.");
  m.def(
      "load_results_array",
      [](GtPtr gt, py::array_t<double, py::array::c_style | py::array::forcecast> a,
         const std::string& source) {
        if (a.ndim() != 2 || a.shape(1) != 7) {
          throw InputError(source +
                           ": results array must have shape (N, 7): "
                           "[image_id, x, y, w, h, score, category_id]");
        }
        const double* data = a.data();
        const size_t n = static_cast<size_t>(a.shape(0));
        py::gil_scoped_release release;
        return DtPtr(LoadDetectionsArray(*gt, data, n, source));
      },
      py::arg("gt"), py::arg("array"), py::arg("source") = "<ndarray>");

  // -------------------------------------------------------------- params
  py::class_<Params>(m, "Params")
      .def(py::init(&MakeParams), py::arg("iou_type") = "bbox")
      .def_property(
          "iou_type", [](const Params& p) { return std::string(IouTypeName(p.iou_type)); },
          [](Params& p, const std::string& s) { p.iou_type = ParseIouType(s); })
      // None: every ground-truth image / category; a list (even empty): exactly those.
      .def_readwrite("img_ids", &Params::img_ids)
      .def_readwrite("cat_ids", &Params::cat_ids)
      .def_readwrite("iou_thrs", &Params::iou_thrs)
      .def_readwrite("rec_thrs", &Params::rec_thrs)
      .def_readwrite("max_dets", &Params::max_dets)
      .def_readwrite("area_rng", &Params::area_rng)
      .def_readwrite("area_rng_lbl", &Params::area_rng_lbl)
      .def_readwrite("use_cats", &Params::use_cats)
      .def_readwrite("kpt_oks_sigmas", &Params::kpt_oks_sigmas);
  // ----------------------------------------------------------- statistics
  // The one definition of the summary statistics (summarize.cc); metrics.py
  // names and presents them.
  py::class_<StatSpec>(m, "StatSpec")
      .def_readonly("ap", &StatSpec::ap)
      .def_property_readonly("iou_thr",
                             [](const StatSpec& s) -> std::optional<double> {
                               if (!s.has_iou_thr)
                                 return std::nullopt;  // None: the mean over all thresholds
                               return s.iou_thr;
                             })
      .def_readonly("area_lbl", &StatSpec::area_lbl)
      .def_readonly("max_det", &StatSpec::max_det);
  m.def(
      "stat_specs",
      [](std::vector<std::string> area_labels, std::vector<int64_t> max_dets,
         const std::string& iou_type) {
        if (max_dets.empty()) throw py::index_error("stat_specs: maxDets is empty");
        Params p;
        p.iou_type = ParseIouType(iou_type);
        p.area_rng_lbl = std::move(area_labels);
        p.max_dets = std::move(max_dets);
        std::sort(p.max_dets.begin(), p.max_dets.end());  // as NormalizeParams does
        return StatSpecs(p);
      },
      py::arg("area_labels"), py::arg("max_dets"), py::arg("iou_type") = "bbox",
      "The summary statistics for these area labels and maxDets, in summarize() order.");
  m.def("linspace", &Linspace, py::arg("start"), py::arg("stop"), py::arg("num"),
        "np.linspace(start, stop, num) bit for bit.");

  // --------------------------------------------------------------- state
  py::class_<EvalState>(m, "EvalState")
      .def_property_readonly("num_groups", &EvalState::num_groups)
      .def_property_readonly("num_detections", [](const EvalState& s) { return s.score.size(); })
      .def_property_readonly("image_ids", [](const EvalState& s) { return ToArray(s.group_image); })
      .def_property_readonly("category_ids", [](const EvalState& s) { return ToArray(s.cat_ids); })
      .def_property_readonly("pooled_category_ids",
                             [](const EvalState& s) { return ToArray(s.pooled_cat_ids); })
      .def("to_bytes", [](const EvalState& s) { return py::bytes(SerializeState(s)); })
      .def_static("from_bytes", [](py::bytes b) { return DeserializeState(std::string(b)); })
      .def(py::pickle(
          [](const EvalState& s) { return py::make_tuple(py::bytes(SerializeState(s))); },
          [](py::tuple t) {
            if (t.size() != 1) throw InputError("evaluation state: bad pickle");
            return DeserializeState(std::string(t[0].cast<py::bytes>()));
          }));
  m.def(
      "merge_states",
      [](const std::vector<const EvalState*>& parts) {
        py::gil_scoped_release release;
        return MergeStates(parts);
      },
      py::arg("states"), "Merges states of disjoint image subsets.");

  // ----------------------------------------------------------- evaluator
  py::class_<Evaluator>(m, "Evaluator")
      .def(py::init([](GtPtr gt, py::object dt, py::object params, const std::string& iou_type,
                       int num_threads) {
             Params p = params.is_none() ? MakeParams(iou_type) : params.cast<Params>();
             DtPtr d = dt.is_none() ? nullptr : dt.cast<DtPtr>();
             return std::make_unique<Evaluator>(gt, d, p, num_threads);
           }),
           py::arg("gt"), py::arg("dt"), py::arg("params") = py::none(),
           py::arg("iou_type") = "bbox", py::arg("num_threads") = 0)
      .def("evaluate",
           [](Evaluator& e) {
             py::gil_scoped_release r;
             e.Evaluate();
           })
      .def(
          "evaluate_images",
          [](const Evaluator& e, std::vector<int64_t> ids) {
            py::gil_scoped_release r;
            return e.EvaluateImages(ids);
          },
          py::arg("img_ids"), "Evaluates a shard; returns an EvalState.")
      .def(
          "set_state", [](Evaluator& e, const EvalState& s) { e.SetState(s); }, py::arg("state"))
      .def_property_readonly("state", [](const Evaluator& e) { return e.state(); })
      .def(
          "evaluate_groups",
          [](const Evaluator& e, std::optional<int64_t> img_id, std::optional<int64_t> cat_id,
             const std::vector<std::array<double, 2>>& area_rng, int64_t max_det) {
            std::vector<GroupDetail> details;
            std::vector<int64_t> image_ids, cat_ids;
            {
              py::gil_scoped_release r;
              details = e.EvaluateGroups(img_id, cat_id, area_rng, max_det, &image_ids, &cat_ids);
            }
            py::list out;
            for (size_t i = 0; i < details.size(); ++i) {
              const GroupDetail& d = details[i];
              out.append(py::make_tuple(image_ids[i], cat_ids[i], ToArray(d.dt_rows),
                                        ToArray(d.gt_rows), ToArray(d.ious), ToArray(d.gt_ignore),
                                        ToArray(d.dt_match)));
            }
            return out;
          },
          py::arg("img_id"), py::arg("cat_id"), py::arg("area_rng"), py::arg("max_det"),
          "evaluateImg of every non-empty image x category (img_id / cat_id None: all) per area "
          "range, in full: [(image id, category id (-1 pooled), detection rows best first, "
          "ground-truth rows, IoUs D x G flat, _ignore A x G flat, matched ground truth A x T x D "
          "flat (index into the ground-truth rows, -1 unmatched))].")
      .def("accumulate",
           [](Evaluator& e) {
             py::gil_scoped_release r;
             e.Accumulate();
           })
      .def(
          "accumulate_with",
          [](const Evaluator& e, const std::vector<double>& rec_thrs,
             const std::vector<int64_t>& max_dets, int num_threads) {
            Accumulated a;
            {
              py::gil_scoped_release r;
              a = Accumulate(e.state(), rec_thrs, max_dets, num_threads);
            }
            auto shaped = [](const std::vector<double>& v, std::vector<py::ssize_t> shape) {
              py::array_t<double> out(shape);
              if (!v.empty()) std::memcpy(out.mutable_data(), v.data(), v.size() * sizeof(double));
              return out;
            };
            const auto T = py::ssize_t(a.T), R = py::ssize_t(a.R), K = py::ssize_t(a.K),
                       A = py::ssize_t(a.A), M = py::ssize_t(a.M);
            return py::make_tuple(shaped(a.precision, {T, R, K, A, M}),
                                  shaped(a.recall, {T, K, A, M}),
                                  shaped(a.scores, {T, R, K, A, M}));
          },
          py::arg("rec_thrs"), py::arg("max_dets"), py::arg("num_threads") = 0,
          "(precision, recall, scores) of the evaluated state with other recall thresholds "
          "and maxDets (sorted, each <= the evaluated maximum); the evaluator is unchanged.")
      .def("summarize", [](Evaluator& e) { return ToArray(e.Summarize()); })
      .def_property_readonly("params", &Evaluator::params)
      .def_property_readonly("stats", [](const Evaluator& e) { return ToArray(e.stats()); })
      .def_property_readonly("stat_descriptions",
                             [](const Evaluator& e) {
                               std::vector<std::string> out;
                               for (const StatSpec& s : e.stat_specs())
                                 out.push_back(s.Describe(e.params()));
                               return out;
                             })
      .def_property_readonly("category_axis",
                             [](const Evaluator& e) { return ToArray(e.category_axis()); })
      .def_property_readonly("precision",
                             [](py::object self) {
                               const Accumulated& a = self.cast<const Evaluator&>().accumulation();
                               return View(a.precision,
                                           {py::ssize_t(a.T), py::ssize_t(a.R), py::ssize_t(a.K),
                                            py::ssize_t(a.A), py::ssize_t(a.M)},
                                           self);
                             })
      .def_property_readonly(
          "recall",
          [](py::object self) {
            const Accumulated& a = self.cast<const Evaluator&>().accumulation();
            return View(a.recall,
                        {py::ssize_t(a.T), py::ssize_t(a.K), py::ssize_t(a.A), py::ssize_t(a.M)},
                        self);
          })
      .def_property_readonly("scores",
                             [](py::object self) {
                               const Accumulated& a = self.cast<const Evaluator&>().accumulation();
                               return View(a.scores,
                                           {py::ssize_t(a.T), py::ssize_t(a.R), py::ssize_t(a.K),
                                            py::ssize_t(a.A), py::ssize_t(a.M)},
                                           self);
                             })
      .def(
          "per_category_stats",
          [](const Evaluator& e) {
            const std::vector<double> v = e.PerCategoryStats();
            // K may be 0 (an explicitly empty catIds): the shape stays (S, 0).
            const size_t k = e.category_axis().size();
            py::array_t<double> a(
                {static_cast<py::ssize_t>(e.stat_specs().size()), static_cast<py::ssize_t>(k)});
            if (!v.empty()) std::memcpy(a.mutable_data(), v.data(), v.size() * sizeof(double));
            return a;
          },
          "(S x K): row i is summary stat i restricted to category k.");

  // ---------------------------------------------------------------- masks
  m.def(
      "mask_encode",
      [](py::array_t<uint8_t, py::array::f_style | py::array::forcecast> a) {
        if (a.ndim() != 2 && a.ndim() != 3)
          throw InputError("mask_encode: expected an (h, w) or (h, w, n) array");
        const uint64_t h = a.shape(0), w = a.shape(1);
        const size_t n = a.ndim() == 3 ? a.shape(2) : 1;
        std::vector<Rle> rles;
        for (size_t i = 0; i < n; ++i) rles.push_back(Encode(a.data() + i * h * w, h, w));
        return RlesToPy(rles, a.ndim() == 2);
      },
      py::arg("mask"), "Like pycocotools.mask.encode (column-major masks).");
  m.def(
      "mask_decode",
      [](py::object rles_obj) {
        bool single;
        const std::vector<Rle> rles = RlesFromPy(rles_obj, &single);
        const size_t n = rles.size();
        const py::ssize_t h = n ? rles[0].h : 0, w = n ? rles[0].w : 0;
        for (const Rle& r : rles) {
          if (static_cast<py::ssize_t>(r.h) != h || static_cast<py::ssize_t>(r.w) != w) {
            throw InputError("mask_decode: masks have different sizes");
          }
        }
        std::vector<py::ssize_t> shape = {h, w};
        if (!single) shape.push_back(static_cast<py::ssize_t>(n));
        py::array_t<uint8_t, py::array::f_style> out(shape);
        uint8_t* dst = out.mutable_data();
        for (size_t i = 0; i < n; ++i) {
          const std::vector<uint8_t> m = Decode(rles[i]);
          std::memcpy(dst + i * h * w, m.data(), m.size());
        }
        return out;
      },
      py::arg("rles"));
  m.def(
      "mask_area",
      [](py::object rles_obj) -> py::object {
        bool single;
        const std::vector<Rle> rles = RlesFromPy(rles_obj, &single);
        std::vector<uint32_t> areas;
        for (const Rle& r : rles) areas.push_back(static_cast<uint32_t>(Area(r)));
        if (single) return py::int_(areas[0]);
        return ToArray(areas);
      },
      py::arg("rles"));
  m.def(
      "mask_to_bbox",
      [](py::object rles_obj) -> py::object {
        bool single;
        const std::vector<Rle> rles = RlesFromPy(rles_obj, &single);
        py::array_t<double> out({static_cast<py::ssize_t>(rles.size()), py::ssize_t{4}});
        for (size_t i = 0; i < rles.size(); ++i) {
          const auto bb = ToBbox(rles[i]);
          std::memcpy(out.mutable_data() + 4 * i, bb.data(), 4 * sizeof(double));
        }
        if (single) return out[py::int_(0)];
        return out;
      },
      py::arg("rles"));
  m.def(
      "mask_merge",
      [](py::object rles_obj, bool intersect) {
        bool single;
        const std::vector<Rle> rles = RlesFromPy(rles_obj, &single);
        std::vector<const Rle*> ptrs;
        for (const Rle& r : rles) ptrs.push_back(&r);
        return RleToPy(Merge(ptrs, intersect));
      },
      py::arg("rles"), py::arg("intersect") = false);
  m.def(
      "mask_fr_bbox",
      [](py::object boxes, uint64_t h, uint64_t w) {
        const std::vector<double> b = BoxesFromPy(boxes);
        std::vector<Rle> rles;
        for (size_t i = 0; i + 4 <= b.size(); i += 4) rles.push_back(FromBbox(&b[i], h, w));
        return RlesToPy(rles, false);
      },
      py::arg("boxes"), py::arg("h"), py::arg("w"));
  m.def(
      "mask_fr_poly",
      [](std::vector<std::vector<double>> polys, uint64_t h, uint64_t w) {
        std::vector<Rle> rles;
        for (const auto& p : polys) rles.push_back(FromPolygon(p.data(), p.size(), h, w));
        return RlesToPy(rles, false);
      },
      py::arg("polygons"), py::arg("h"), py::arg("w"));
  m.def(
      "mask_iou",
      [](py::object dt, py::object gt, std::vector<uint8_t> iscrowd) {
        const bool rle = IsRleList(dt) || IsRleList(gt);
        size_t n = 0, k = 0;
        std::vector<double> out;
        if (rle) {
          bool s1, s2;
          const std::vector<Rle> d = RlesFromPy(dt, &s1), g = RlesFromPy(gt, &s2);
          n = d.size();
          k = g.size();
          if (iscrowd.size() != k)
            throw InputError("mask_iou: iscrowd needs one flag per ground truth");
          out.resize(n * k);
          if (n && k) RleIou(d.data(), n, g.data(), k, iscrowd.data(), out.data());
        } else {
          const std::vector<double> d = BoxesFromPy(dt), g = BoxesFromPy(gt);
          n = d.size() / 4;
          k = g.size() / 4;
          if (iscrowd.size() != k)
            throw InputError("mask_iou: iscrowd needs one flag per ground truth");
          out.resize(n * k);
          if (n && k) BoxIou(d.data(), n, g.data(), k, iscrowd.data(), out.data());
        }
        py::array_t<double> a({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(k)});
        if (!out.empty()) std::memcpy(a.mutable_data(), out.data(), out.size() * sizeof(double));
        return a;
      },
      py::arg("dt"), py::arg("gt"), py::arg("iscrowd"),
      "IoU matrix (detections x ground truth) of boxes or RLE dicts, as pycocotools.mask.iou.");
  m.def(
      "segmentation_to_rle",
      [](py::object json, int64_t h, int64_t w) {
        std::string text = BytesOf(json);
        const size_t n = text.size();
        text.append(256, ' ');  // >= SIMDJSON_PADDING
        return RleToPy(SegmentationToRle(std::string_view(text.data(), n), h, w, "segmentation"));
      },
      py::arg("segmentation_json"), py::arg("h"), py::arg("w"),
      "annToRLE on a JSON segmentation (polygons, uncompressed or compressed RLE).");

  // ------------------------------------------- result sets assembled by hand
  // COCOeval reads a detection's area from its 'area' field: a COCO assembled
  // by hand (not by loadRes) brings its own, which may differ from w * h.
  m.def(
      "set_detection_areas",
      [](Detections& d, std::vector<double> areas) {
        if (areas.size() != d.size()) {
          throw InputError("set_detection_areas: " + std::to_string(areas.size()) + " areas for " +
                           std::to_string(d.size()) + " detections");
        }
        d.area = std::move(areas);
      },
      py::arg("detections"), py::arg("areas"),
      "Replaces the detections' areas (one per detection, in order), before evaluation.");

  // ------------------------------------------------------------- analysis
  BindTide(m);
  BindDiagnostics(m);
  BindComparison(m);
}
