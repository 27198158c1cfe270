"""Third-party evaluation code run with only the import switched: pycocotools 2.0.11 and
cocoeval_cc give equal stats and eval arrays (bit for bit) and equal API answers.

Each pattern is written once against modules passed in (`coco`, `cocoeval`, `mask`), the way
the original code imports them, and run with pycocotools' and with cocoeval_cc's.
"""
import contextlib
import copy
import io
import json
import os
import pickle

from absl.testing import absltest
from absl.testing import parameterized
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from pycocotools import coco as pc_coco  # noqa: E402
from pycocotools import cocoeval as pc_cocoeval  # noqa: E402
from pycocotools import mask as pc_mask  # noqa: E402

from cocoeval_cc import coco as cc_coco  # noqa: E402
from cocoeval_cc import cocoeval as cc_cocoeval  # noqa: E402
from cocoeval_cc import mask as cc_mask  # noqa: E402
from cocoeval_cc import per_image_testing  # noqa: E402

_FIXTURES = os.path.join(os.path.dirname(__file__), "..", "third_party", "coco_fixtures")
_GT = os.path.join(_FIXTURES, "instances_val2014_100.json")
_BBOX = os.path.join(_FIXTURES, "instances_val2014_fakebbox100_results.json")
_SEGM = os.path.join(_FIXTURES, "instances_val2014_fakesegm100_results.json")

PYCOCOTOOLS = (pc_coco, pc_cocoeval, pc_mask)
COCOEVAL_CC = (cc_coco, cc_cocoeval, cc_mask)


def _load(path):
  with open(path) as f:
    return json.load(f)


def _quiet(fn, *args, **kwargs):
  with contextlib.redirect_stdout(io.StringIO()):
    return fn(*args, **kwargs)


# ----------------------------------------------------- the TF OD API's pattern
def tf_od_api(modules, groundtruth_dict, detections_list, detection_type, agnostic_mode=False):
  """object_detection/metrics/coco_tools.py's COCOWrapper / COCOEvalWrapper, as used by its
  coco_evaluation.py: COCO.__init__(self), dataset assigned, createIndex(), results built by
  hand in LoadAnnotations (mask.area / mask.toBbox for segmentation)."""
  coco, cocoeval, mask = modules

  class COCOWrapper(coco.COCO):

    def __init__(self, dataset, detection_type="bbox"):
      self._detection_type = detection_type
      coco.COCO.__init__(self)
      self.dataset = dataset
      self.createIndex()

    def LoadAnnotations(self, annotations):  # noqa: N802
      results = coco.COCO()
      results.dataset["images"] = [img for img in self.dataset["images"]]
      if not isinstance(annotations, list):
        raise ValueError("annotations is not a list of objects")
      annotation_img_ids = [ann["image_id"] for ann in annotations]
      if set(annotation_img_ids) != (set(annotation_img_ids) & set(self.getImgIds())):
        raise ValueError("Results do not correspond to current coco set")
      results.dataset["categories"] = copy.deepcopy(self.dataset["categories"])
      if self._detection_type == "bbox":
        for idx, ann in enumerate(annotations):
          bb = ann["bbox"]
          ann["area"] = bb[2] * bb[3]
          ann["id"] = idx + 1
          ann["iscrowd"] = 0
      elif self._detection_type == "segmentation":
        for idx, ann in enumerate(annotations):
          ann["area"] = mask.area(ann["segmentation"])
          ann["bbox"] = mask.toBbox(ann["segmentation"])
          ann["id"] = idx + 1
          ann["iscrowd"] = 0
      results.dataset["annotations"] = annotations
      results.createIndex()
      return results

  class COCOEvalWrapper(cocoeval.COCOeval):

    def __init__(self, groundtruth=None, detections=None, agnostic_mode=False, iou_type="bbox"):
      cocoeval.COCOeval.__init__(self, groundtruth, detections, iouType=iou_type)
      if agnostic_mode:
        self.params.useCats = 0

    def ComputeMetrics(self):  # noqa: N802
      self.evaluate()
      self.accumulate()
      self.summarize()
      return self

  groundtruth = COCOWrapper(groundtruth_dict, detection_type)
  detections = groundtruth.LoadAnnotations(detections_list)
  iou_type = "segm" if detection_type == "segmentation" else "bbox"
  return COCOEvalWrapper(groundtruth, detections, agnostic_mode, iou_type).ComputeMetrics()


def tf_groundtruth(gt: dict, image_id, with_masks: bool) -> dict:
  """The ground truth as coco_tools.ExportGroundtruthToCOCO builds it: images with only an id
  (here a string, as the TF OD API's own tests use), float32 boxes from numpy, RLE masks."""
  images = {img["id"]: img for img in gt["images"]}
  out = {
      "annotations": [], "images": [{"id": image_id(i["id"])} for i in gt["images"]],
      "categories": gt["categories"]
  }
  if with_masks:
    for img in out["images"]:
      source = images[_original_id(img["id"])]
      img["height"], img["width"] = source["height"], source["width"]
  tmp = pc_coco.COCO()
  tmp.dataset = copy.deepcopy(gt)
  _quiet(tmp.createIndex)
  for ann in gt["annotations"]:
    box = np.asarray(ann["bbox"], dtype=np.float32)
    a = {
        "id": np.int64(ann["id"]), "image_id": image_id(ann["image_id"]),
        "category_id": np.int64(ann["category_id"]), "bbox": list(box),
        "area": np.float32(ann["area"]), "iscrowd": np.int64(ann["iscrowd"])
    }
    if with_masks:
      a["segmentation"] = pc_mask.encode(np.asfortranarray(tmp.annToMask(ann)))
    out["annotations"].append(a)
  return out


def _original_id(image_id):
  return int(image_id[len("image"):]) if isinstance(image_id, str) else image_id


def tf_detections(results: list, image_id) -> list:
  out = []
  for r in results:
    d = {"image_id": image_id(r["image_id"]), "category_id": int(r["category_id"])}
    d["score"] = np.float32(float(r["score"]))
    if "bbox" in r:
      d["bbox"] = [float(v) for v in r["bbox"]]
    if "segmentation" in r:
      d["segmentation"] = {
          "size": r["segmentation"]["size"], "counts": r["segmentation"]["counts"].encode()
      }
    out.append(d)
  return out


# ---------------------------------------------------------- detectron2's pattern
def detectron2(modules, gt_path: str, results: list, iou_type: str, img_ids=None):
  """detectron2's COCOEvaluator: _evaluate_predictions_on_coco, then _derive_coco_results'
  per-category AP from eval['precision'] (area all, the last maxDets)."""
  coco, cocoeval, _ = modules
  coco_gt = coco.COCO(gt_path)
  results = copy.deepcopy(results)
  if iou_type == "segm":
    for c in results:
      c.pop("bbox", None)
  coco_dt = coco_gt.loadRes(results)
  coco_eval = cocoeval.COCOeval(coco_gt, coco_dt, iou_type)
  coco_eval.params.maxDets = [1, 10, 100]
  if img_ids is not None:
    coco_eval.params.imgIds = img_ids
  coco_eval.evaluate()
  coco_eval.accumulate()
  coco_eval.summarize()
  class_names = [c["name"] for c in coco_gt.loadCats(coco_gt.getCatIds())]
  precisions = coco_eval.eval["precision"]
  assert len(class_names) == precisions.shape[2]
  per_category = {}
  for idx, name in enumerate(class_names):
    precision = precisions[:, :, idx, 0, -1]
    precision = precision[precision > -1]
    per_category["AP-" + name] = float(np.mean(precision) * 100) if precision.size else float("nan")
  return coco_eval, per_category


# --------------------------------------------------------------- the plain API
def plain(modules, gt, results, iou_type, params=None):
  coco, cocoeval, _ = modules
  g = coco.COCO()
  g.dataset = copy.deepcopy(gt)
  g.createIndex()
  d = g.loadRes(copy.deepcopy(results))
  e = cocoeval.COCOeval(g, d, iou_type)
  for k, v in (params or {}).items():
    setattr(e.params, k, v)
  e.evaluate()
  e.accumulate()
  e.summarize()
  return e


def hand_assembled(modules, gt, detections, iou_type):
  """A results COCO built by hand (no loadRes): its own ids, areas and field types."""
  coco, cocoeval, _ = modules
  g = coco.COCO()
  g.dataset = copy.deepcopy(gt)
  g.createIndex()
  d = coco.COCO()
  d.dataset = {
      "images": copy.deepcopy(gt["images"]), "categories": copy.deepcopy(gt["categories"]),
      "annotations": copy.deepcopy(detections)
  }
  d.createIndex()
  e = cocoeval.COCOeval(g, d, iou_type)
  e.evaluate()
  e.accumulate()
  e.summarize()
  return e


class DropInTest(parameterized.TestCase):

  def assert_same_evaluation(self, theirs, ours):
    np.testing.assert_array_equal(ours.stats, theirs.stats)
    self.assertEqual(ours.stats.tobytes(), np.asarray(theirs.stats).tobytes())
    for key in ("precision", "recall", "scores"):
      self.assertEqual(ours.eval[key].shape, theirs.eval[key].shape, key)
      self.assertEqual(ours.eval[key].tobytes(), theirs.eval[key].tobytes(), key)
    self.assertEqual(ours.eval["counts"], theirs.eval["counts"])
    self.assertEqual(list(ours.params.imgIds), list(theirs.params.imgIds))
    if theirs.params.useCats:  # pooled: pycocotools' accumulate() sets catIds to [-1]
      self.assertEqual(list(ours.params.catIds), list(theirs.params.catIds))

  def run_both(self, fn, *args, **kwargs):
    theirs = _quiet(fn, PYCOCOTOOLS, *copy.deepcopy(args), **kwargs)
    ours = _quiet(fn, COCOEVAL_CC, *copy.deepcopy(args), **kwargs)
    return theirs, ours

  # ------------------------------------------------------------ third-party code
  @parameterized.parameters((False,), (True,))
  def test_tf_od_api_wrapper_bbox(self, agnostic_mode):
    string_id = lambda i: f"image{i}"  # noqa: E731
    gt = tf_groundtruth(_load(_GT), string_id, with_masks=False)
    dets = tf_detections(_load(_BBOX), string_id)
    theirs, ours = self.run_both(tf_od_api, gt, dets, "bbox", agnostic_mode)
    self.assert_same_evaluation(theirs, ours)

  def test_tf_od_api_wrapper_segmentation(self):
    gt = tf_groundtruth(_load(_GT), lambda i: i, with_masks=True)
    segm = _load(_SEGM)
    for r in segm:
      r["image_id"], r["category_id"], r["score"] = int(r["image_id"]), int(
          r["category_id"]), float(r["score"])
    dets = tf_detections(segm, lambda i: i)
    theirs, ours = self.run_both(tf_od_api, gt, dets, "segmentation")
    self.assert_same_evaluation(theirs, ours)

  @parameterized.parameters("bbox", "segm")
  def test_detectron2_per_category_ap(self, iou_type):
    results = _load(_BBOX if iou_type == "bbox" else _SEGM)
    for r in results:
      r["image_id"], r["category_id"], r["score"] = int(r["image_id"]), int(
          r["category_id"]), float(r["score"])
    (theirs, their_ap), (ours, our_ap) = self.run_both(detectron2, _GT, results, iou_type)
    self.assert_same_evaluation(theirs, ours)
    self.assertEqual(json.dumps(our_ap), json.dumps(their_ap))
    img_ids = sorted({r["image_id"] for r in results})[:40]
    (theirs, their_ap), (ours, our_ap) = self.run_both(detectron2, _GT, results, iou_type,
                                                       img_ids=img_ids)
    self.assert_same_evaluation(theirs, ours)
    self.assertEqual(json.dumps(our_ap), json.dumps(their_ap))

  # -------------------------------------------------------- ids and numbers
  def test_string_image_and_category_ids(self):
    gt, results = _load(_GT), _load(_BBOX)
    # Names whose sorted order is not the numeric one, so the order of images (which breaks
    # score ties in accumulate) and categories must be pycocotools'.
    name = lambda i: f"i{i % 7}-{i}"  # noqa: E731
    cat = lambda c: f"c{c % 10}/{c}"  # noqa: E731
    for img in gt["images"]:
      img["id"] = name(img["id"])
    for c in gt["categories"]:
      c["id"] = cat(c["id"])
    for a in gt["annotations"]:
      a["image_id"], a["category_id"] = name(a["image_id"]), cat(a["category_id"])
    for r in results:
      r["image_id"], r["category_id"] = name(r["image_id"]), cat(r["category_id"])
      r["score"] = round(r["score"], 1)  # many ties across images
    for iou_type in ("bbox", "segm"):
      theirs, ours = self.run_both(plain, gt, results, iou_type)
      self.assert_same_evaluation(theirs, ours)
    theirs, ours = self.run_both(plain, gt, results, "bbox", {"useCats": 0})
    self.assert_same_evaluation(theirs, ours)
    # From a file too: the native loader takes integers, Python reads string ids.
    path = self.create_tempfile("gt.json", json.dumps(gt)).full_path
    ours = _quiet(cc_coco.COCO, path)
    self.assertEqual(ours.getImgIds(), _quiet(pc_coco.COCO, path).getImgIds())
    e = cc_cocoeval.COCOeval(ours, ours.loadRes(copy.deepcopy(results)), "bbox")
    _quiet(lambda: (e.evaluate(), e.accumulate(), e.summarize()))
    ref = self.run_both(plain, gt, results, "bbox")[0]
    self.assert_same_evaluation(ref, e)
    self.assertEqual(e.category_ids, sorted(c["id"] for c in gt["categories"]))

  def test_numpy_scalars(self):
    gt, results = _load(_GT), _load(_BBOX)
    for img in gt["images"]:
      img["id"], img["height"], img["width"] = np.int64(img["id"]), np.int32(
          img["height"]), np.int64(img["width"])
    for a in gt["annotations"]:
      a["id"], a["image_id"] = np.int64(a["id"]), np.int64(a["image_id"])
      a["category_id"], a["iscrowd"] = np.int32(a["category_id"]), np.int64(a["iscrowd"])
      a["area"], a["bbox"] = np.float32(a["area"]), np.asarray(a["bbox"], np.float32)
    for r in results:
      r["image_id"], r["category_id"] = np.int64(r["image_id"]), np.uint8(r["category_id"])
      r["score"], r["bbox"] = np.float32(r["score"]), [np.float32(v) for v in r["bbox"]]
    for iou_type in ("bbox", "segm"):
      theirs, ours = self.run_both(plain, gt, results, iou_type)
      self.assert_same_evaluation(theirs, ours)
    rows = np.array([[r["image_id"], *r["bbox"], r["score"], r["category_id"]] for r in results],
                    dtype=np.float32)
    theirs, ours = self.run_both(plain, _load(_GT), rows, "bbox")
    self.assert_same_evaluation(theirs, ours)

  def test_hand_assembled_results(self):
    gt = _load(_GT)
    rng = np.random.RandomState(3)
    dets = []
    for n, r in enumerate(_load(_BBOX)):
      x, y, w, h = r["bbox"]
      dets.append({
          # ids out of order; an area of its own (not w * h), numpy types.
          "id": 10_000 - n,
          "image_id": r["image_id"],
          "category_id": r["category_id"],
          "bbox": np.array([x, y, w, h]),
          "score": np.float32(r["score"]),
          "area": float(w * h * rng.uniform(0.2, 1.5)),
          "iscrowd": 0
      })
    theirs, ours = self.run_both(hand_assembled, gt, dets, "bbox")
    self.assert_same_evaluation(theirs, ours)
    segm = _load(_SEGM)
    for n, r in enumerate(segm):
      r.update(id=n + 1, image_id=int(r["image_id"]), category_id=int(r["category_id"]),
               score=float(r["score"]))
      r["area"] = int(pc_mask.area(r["segmentation"]))
    theirs, ours = self.run_both(hand_assembled, gt, segm, "segm")
    self.assert_same_evaluation(theirs, ours)

  @parameterized.parameters(("bbox",), ("segm",))
  def test_result_set_without_annotations(self, iou_type):
    """A COCO assembled by hand with no annotations: AP 0 wherever there is ground truth, the
    same arrays and per-image results as pycocotools (loadRes([]) fails in both)."""
    theirs, ours = self.run_both(hand_assembled, _load(_GT), [], iou_type)
    self.assert_same_evaluation(theirs, ours)
    self.assertEqual(list(ours.stats), [0.0] * 12)
    per_image_testing.assert_per_image_equal(self, ours, theirs)

  @parameterized.named_parameters(
      ("params_changed_after_evaluate", "self", {"recThrs": np.linspace(0, 1, 11)}),
      ("other_recall_thresholds", "copy", {"recThrs": np.linspace(0, 1, 21)}),
      ("unsorted_recall_thresholds", "copy", {"recThrs": np.array([.5, .1, .9, 0, 1])}),
      ("max_dets_reordered", "copy", {"maxDets": [100, 10, 1]}),
      ("max_dets_not_evaluated", "copy", {"maxDets": [1, 10, 100, 50]}),
  )
  def test_accumulate_with_other_params(self, which, changes):
    """accumulate(p) / params changed after evaluate(): pycocotools' arrays, stats and text."""

    def run(modules):
      coco, cocoeval, _ = modules
      g = coco.COCO(_GT)
      e = cocoeval.COCOeval(g, g.loadRes(_BBOX), "bbox")
      e.evaluate()
      p = e.params if which == "self" else copy.deepcopy(e.params)
      for name, value in changes.items():
        setattr(p, name, value)
      e.accumulate(None if which == "self" else p)
      out = io.StringIO()
      with contextlib.redirect_stdout(out):
        e.summarize()
      return e, [line for line in out.getvalue().splitlines() if "Average" in line]

    (theirs, their_text), (ours, our_text) = self.run_both(run)
    self.assert_same_evaluation(theirs, ours)
    self.assertEqual(our_text, their_text)

  def test_accumulate_refuses_params_read_by_position(self):
    g = cc_coco.COCO(_GT)
    e = cc_cocoeval.COCOeval(g, g.loadRes(_BBOX), "bbox")
    _quiet(e.evaluate)
    p = copy.deepcopy(e.params)
    p.iouThrs = np.array([0.5, 0.75])
    with self.assertRaisesRegex(ValueError, r"p\.iouThrs differs"):
      e.accumulate(p)
    p = copy.deepcopy(e.params)
    p.imgIds = p.imgIds[:10]
    with self.assertRaisesRegex(ValueError, r"p\.imgIds differs.*slice_by"):
      e.accumulate(p)

  def test_keypoint_results_reindexed_and_by_hand(self):
    """Keypoint results: from loadRes, then as a result set changed and re-indexed, then as a
    COCO assembled by hand (loadRes' bbox and area from the keypoints' extent)."""
    rng = np.random.RandomState(0)
    gt = {"images": [], "categories": [{"id": 1, "name": "person"}], "annotations": []}
    dets = []
    for i in range(1, 7):
      gt["images"].append({"id": f"img{i}", "height": 200, "width": 200})
      for _ in range(3):
        kp = []
        for _ in range(17):
          kp += [float(rng.randint(0, 200)), float(rng.randint(0, 200)), int(rng.randint(0, 3))]
        gt["annotations"].append({
            "id": len(gt["annotations"]) + 1, "image_id": f"img{i}", "category_id": 1,
            "keypoints": kp, "num_keypoints": sum(v > 0 for v in kp[2::3]),
            "area": float(rng.randint(500, 20000)), "bbox": [10, 10, 100, 100], "iscrowd": 0
        })
        noisy = [v + rng.randn() * 3 if n % 3 != 2 else 1 for n, v in enumerate(kp)]
        dets.append({
            "image_id": f"img{i}", "category_id": 1, "keypoints": noisy,
            "score": np.float32(rng.rand())
        })

    def keypoints(modules, gt, dets, how):
      coco, cocoeval, _ = modules
      g = coco.COCO()
      g.dataset = gt
      g.createIndex()
      d = g.loadRes(dets)
      if how == "reindexed":
        d.dataset["annotations"] = d.dataset["annotations"][::-1]
        d.createIndex()
      elif how.startswith("by_hand"):
        d2 = coco.COCO()
        anns = d.dataset["annotations"] if how == "by_hand" else []
        d2.dataset = {"images": gt["images"], "annotations": anns}
        d2.createIndex()
        d = d2
      e = cocoeval.COCOeval(g, d, "keypoints")
      e.evaluate()
      e.accumulate()
      e.summarize()
      return e

    for how in ("loadRes", "reindexed", "by_hand", "by_hand_empty"):
      theirs, ours = self.run_both(keypoints, gt, dets, how)
      self.assert_same_evaluation(theirs, ours)

  # ------------------------------------------------------------- the COCO API
  def test_queries_match_pycocotools(self):
    theirs, ours = _quiet(pc_coco.COCO, _GT), cc_coco.COCO(_GT)
    cat_ids = theirs.getCatIds()
    img_ids = theirs.getImgIds()
    self.assertEqual(ours.getImgIds(), img_ids)
    self.assertEqual(ours.getCatIds(), cat_ids)
    queries = [
        dict(),
        dict(imgIds=img_ids[:5]),
        dict(imgIds=img_ids[3]),
        dict(catIds=cat_ids[:3]),
        dict(catIds=1),
        dict(areaRng=[0, 1024]),
        dict(areaRng=[1024, 1e10], iscrowd=None),
        dict(iscrowd=0),
        dict(iscrowd=1),
        dict(iscrowd=False),
        dict(imgIds=img_ids[:20], catIds=cat_ids[:10], areaRng=[100, 5000], iscrowd=0),
    ]
    for q in queries:
      self.assertEqual(ours.getAnnIds(**q), theirs.getAnnIds(**q), q)
    for q in (dict(catNms=["person", "dog"]), dict(supNms="animal"), dict(catIds=[1, 2, 3, 99]),
              dict(catNms="person", supNms=["person"])):
      self.assertEqual(ours.getCatIds(**q), theirs.getCatIds(**q), q)
    for q in (dict(catIds=1), dict(catIds=[1, 3]), dict(imgIds=img_ids[:10],
                                                        catIds=[1]), dict(imgIds=img_ids[:7])):
      self.assertEqual(sorted(ours.getImgIds(**q)), sorted(theirs.getImgIds(**q)), q)
    ann_ids = theirs.getAnnIds(imgIds=img_ids[:3])
    self.assertEqual(ours.loadAnns(ann_ids), theirs.loadAnns(ann_ids))
    self.assertEqual(ours.loadAnns(ann_ids[0]), theirs.loadAnns(ann_ids[0]))
    self.assertEqual(ours.loadImgs(img_ids[:4]), theirs.loadImgs(img_ids[:4]))
    self.assertEqual(ours.loadCats(cat_ids[2]), theirs.loadCats(cat_ids[2]))
    self.assertEqual(ours.imgToAnns, theirs.imgToAnns)
    self.assertEqual(ours.catToImgs, theirs.catToImgs)
    for ann in theirs.loadAnns(theirs.getAnnIds()):
      ref = theirs.annToRLE(ann)
      self.assertEqual(ours.annToRLE(ann), ref)
      m, m_ref = ours.annToMask(ann), theirs.annToMask(ann)
      self.assertEqual((m.dtype, m.shape, m.flags.f_contiguous),
                       (m_ref.dtype, m_ref.shape, m_ref.flags.f_contiguous))
      np.testing.assert_array_equal(m, m_ref)
    out_ours, out_theirs = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out_ours):
      ours.info()
    with contextlib.redirect_stdout(out_theirs):
      theirs.info()
    self.assertEqual(out_ours.getvalue(), out_theirs.getvalue())

  @parameterized.parameters("bbox", "segm", "array")
  def test_load_res_dataset_matches_pycocotools(self, kind):
    if kind == "array":
      rows = np.array([[r["image_id"], *r["bbox"], r["score"], r["category_id"]]
                       for r in _load(_BBOX)])
      res = rows
    else:
      res = _load(_BBOX if kind == "bbox" else _SEGM)
      if kind == "segm":
        for r in res:
          r["image_id"], r["category_id"], r["score"] = int(r["image_id"]), int(
              r["category_id"]), float(r["score"])
    theirs = _quiet(_quiet(pc_coco.COCO, _GT).loadRes, copy.deepcopy(res))
    ours = cc_coco.COCO(_GT).loadRes(copy.deepcopy(res))
    self.assertEqual(ours.dataset.keys(), theirs.dataset.keys())
    for key in ("images", "categories", "info"):
      self.assertEqual(ours.dataset[key], theirs.dataset[key])
    self.assertEqual(len(ours.anns), len(theirs.anns))
    for i, ref in theirs.anns.items():
      got = ours.anns[i]
      self.assertEqual(got.keys(), ref.keys())
      for k in ref:
        self.assertEqual(repr(got[k]), repr(ref[k]), k)
    self.assertEqual(ours.getImgIds(), theirs.getImgIds())
    self.assertEqual(
        ours.loadNumpyAnnotations(np.ones((2, 7)))[1].keys(),
        theirs.loadNumpyAnnotations(np.ones((2, 7)))[1].keys())

  def test_dataset_reassigned_and_reindexed(self):
    """createIndex() rebuilds the native side from the dataset, also after changes in place."""
    gt, results = _load(_GT), _load(_BBOX)
    ours = cc_coco.COCO(_GT)
    first = ours.native_ground_truth
    ours.dataset["annotations"] = ours.dataset["annotations"][:400]
    ours.createIndex()
    self.assertIsNot(ours.native_ground_truth, first)
    self.assertEqual(ours.native_ground_truth.num_annotations, 400)
    gt["annotations"] = gt["annotations"][:400]
    e = cc_cocoeval.COCOeval(ours, ours.loadRes(copy.deepcopy(results)), "bbox")
    _quiet(lambda: (e.evaluate(), e.accumulate(), e.summarize()))
    self.assert_same_evaluation(self.run_both(plain, gt, results, "bbox")[0], e)

  def test_fast_path_builds_no_python_objects(self):
    """COCO(path) -> loadRes(path) -> COCOeval never builds pycocotools' dictionaries."""
    gt = cc_coco.COCO(_GT)
    dt = gt.loadRes(_BBOX)
    for iou_type in ("bbox", "segm"):
      e = cc_cocoeval.COCOeval(gt, dt, iou_type)
      _quiet(lambda e=e: (e.evaluate(), e.accumulate(), e.summarize()))
    for coco in (gt, dt):
      self.assertIsNone(coco._index)
      self.assertIsNone(coco._dataset)
    self.assertEqual(e.params.imgIds, sorted(_quiet(pc_coco.COCO, _GT).getImgIds()))

  def test_pickle_and_show_anns(self):
    gt = cc_coco.COCO(_GT)
    dt = gt.loadRes(_load(_BBOX))
    gt2, dt2 = pickle.loads(pickle.dumps(gt)), pickle.loads(pickle.dumps(dt))
    e1 = cc_cocoeval.COCOeval(gt, dt, "bbox")
    e2 = cc_cocoeval.COCOeval(gt2, dt2, "bbox")
    for e in (e1, e2):
      _quiet(lambda e=e: (e.evaluate(), e.accumulate(), e.summarize()))
    self.assertEqual(e1.stats.tobytes(), e2.stats.tobytes())
    plt.figure()
    anns = gt.loadAnns(gt.getAnnIds(imgIds=gt.getImgIds()[:3]))
    crowd = gt.loadAnns(gt.getAnnIds(iscrowd=1))[:1]
    gt.showAnns(anns + crowd, draw_bbox=True)
    self.assertGreater(len(plt.gca().collections), 0)
    plt.close("all")


if __name__ == "__main__":
  absltest.main()
