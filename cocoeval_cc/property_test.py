"""Property tests: on random small COCO datasets, cocoeval_cc equals pycocotools 2.0.11 bit for bit.

Hypothesis generates datasets in memory that hit the corners of COCO evaluation: crowd, zero-area
and out-of-image ground truth, `area` fields unlike w*h and exactly on the area-range bounds
(32**2, 96**2), empty images, categories without ground truth or without detections, heavy score
ties, identical boxes (IoU ties), more detections than maxDets, custom parameters and ids above
2**32. pycocotools is the oracle; `stats`, `precision`, `recall`, `scores` and `category_stats` must
be bit-identical.
"""
import contextlib
import copy
import io

from absl.testing import absltest
import hypothesis
from hypothesis import strategies as st
import numpy as np
from pycocotools import coco as pc_coco
from pycocotools import cocoeval as pc_cocoeval
from pycocotools import mask as pc_mask

import cocoeval_cc
from cocoeval_cc import per_image_testing

_SETTINGS = dict(database=None, derandomize=True, deadline=None, print_blob=True,
                 suppress_health_check=list(hypothesis.HealthCheck))
_DEFAULT_IOU = np.linspace(.5, 0.95, 10)

# Values that make ties and boundary cases likely.
_SCORES = [0.05, 0.3, 0.3, 0.5, 0.5, 0.5, 0.9, 1.0]
_SPECIAL_AREAS = [
    0.0, 1.0, 32.0 ** 2, 96.0 ** 2,
    float(np.nextafter(1024.0, 0)),
    float(np.nextafter(1024.0, 2048)),
    float(np.nextafter(9216.0, 0)),
    float(np.nextafter(9216.0, 1e5)), 1e10, 123.456
]
_ID_BASES = {"small": 1, "huge": 2 ** 32 + 5, "huger": 2 ** 40, "mixed": None}


# ------------------------------------------------------------------ strategies
def _ids(draw, n, style, allow_zero):
  """n distinct ids in the given style (small, past 2**32, or a mix)."""
  if style == "mixed":
    pool = st.one_of(st.integers(0 if allow_zero else 1, 50), st.integers(2 ** 32 - 2, 2 ** 32 + 3),
                     st.integers(2 ** 52, 2 ** 52 + 9))
  else:
    base = _ID_BASES[style]
    pool = st.integers(base if base > 1 or not allow_zero else 0, base + 60)
  return draw(st.lists(pool, min_size=n, max_size=n, unique=True))


def _coord(draw, limit):
  """A coordinate on a coarse grid (ties) or an arbitrary float, sometimes off the image."""
  return draw(
      st.one_of(
          st.integers(-6, limit + 6).map(float), st.sampled_from([0.0, 0.5, 1.25,
                                                                  float(limit)]),
          st.floats(-5, limit + 5, allow_nan=False, width=64)))


def _length(draw, limit):
  """A box side: mostly positive (grid or float), sometimes 0 or exactly 32 / 96."""
  kind = draw(st.integers(0, 9))
  if kind == 0:
    return draw(st.sampled_from([0.0, 32.0, 96.0]))
  if kind <= 5:
    return float(draw(st.integers(1, limit)))
  return draw(st.floats(0.25, limit, allow_nan=False))


def _box(draw, w, h):
  return [_coord(draw, w), _coord(draw, h), _length(draw, w + 8), _length(draw, h + 8)]


def _mask_to_uncompressed(mask):
  """pycocotools' uncompressed RLE (column-major run lengths, starting with zeros)."""
  flat = np.asarray(mask, np.uint8).flatten(order="F")
  counts, current, run = [], 0, 0
  for v in flat:
    if v != current:
      counts.append(run)
      current, run = v, 0
    run += 1
  counts.append(run)
  return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


def _compressed(mask):
  rle = pc_mask.encode(np.asfortranarray(np.asarray(mask, np.uint8)))
  return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def _random_mask(draw, w, h, near=None):
  """A rectangle-ish binary mask (optionally near a box) with a few flipped pixels."""
  m = np.zeros((h, w), np.uint8)
  if near is None:
    near = [
        draw(st.integers(0, w - 1)),
        draw(st.integers(0, h - 1)),
        draw(st.integers(1, w)),
        draw(st.integers(1, h))
    ]
  x0 = int(np.clip(np.floor(near[0]), 0, w - 1)) + draw(st.integers(-1, 1))
  y0 = int(np.clip(np.floor(near[1]), 0, h - 1)) + draw(st.integers(-1, 1))
  x1 = x0 + max(1, int(near[2])) + draw(st.integers(-1, 1))
  y1 = y0 + max(1, int(near[3])) + draw(st.integers(-1, 1))
  m[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = 1
  for _ in range(draw(st.integers(0, 3))):
    m[draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))] ^= 1
  return m


def _polygons(draw, box, w, h):
  """1-2 polygons of 3-5 points around a box (may leave the image)."""
  polys = []
  for _ in range(draw(st.integers(1, 2))):
    n = draw(st.integers(3, 5))
    pts = []
    for _ in range(n):
      pts.append(box[0] + draw(st.floats(-2, box[2] + 2, allow_nan=False)))
      pts.append(box[1] + draw(st.floats(-2, box[3] + 2, allow_nan=False)))
    polys.append(pts)
  return polys


def _gt_segmentation(draw, box, iscrowd, w, h):
  # (No 4-number "polygons": pycocotools 2.0.11's frPyObjects raises TypeError on them.)
  kind = draw(
      st.sampled_from(
          ["poly", "poly", "rle", "urle"] if not iscrowd else ["urle", "urle", "rle", "poly"]))
  if kind == "poly":
    return _polygons(draw, box, w, h)
  m = _random_mask(draw, w, h, near=box)
  return _mask_to_uncompressed(m) if kind == "urle" else _compressed(m)


@st.composite
def datasets(draw, segm=False):
  """(ground-truth dict, results list) for a small random COCO problem."""
  id_style = draw(st.sampled_from(["small", "small", "huge", "huger", "mixed"]))
  n_img = draw(st.integers(1, 5))
  n_cat = draw(st.integers(1, 4))
  img_ids = _ids(draw, n_img, id_style, allow_zero=True)
  cat_ids = _ids(draw, n_cat, id_style, allow_zero=True)
  images = []
  for i in img_ids:
    images.append({
        "id": i, "width": draw(st.integers(4, 40) if segm else st.integers(4, 120)),
        "height": draw(st.integers(4, 40) if segm else st.integers(4, 120)), "file_name": f"{i}.jpg"
    })
  categories = [{"id": c, "name": f"c{c}", "supercategory": "s"} for c in cat_ids]
  # Some categories get no ground truth, some no detections.
  gt_cats = draw(st.lists(st.sampled_from(cat_ids), min_size=1, max_size=n_cat, unique=True))
  dt_cats = list(gt_cats)
  if draw(st.booleans()):
    dt_cats = draw(st.lists(st.sampled_from(cat_ids), min_size=1, max_size=n_cat, unique=True))

  anns = []
  for img in images:
    w, h = img["width"], img["height"]
    for _ in range(draw(st.integers(0, 6))):
      box = _box(draw, w, h)
      iscrowd = int(draw(st.integers(0, 5)) == 0)
      area = draw(
          st.one_of(st.just(box[2] * box[3]), st.sampled_from(_SPECIAL_AREAS),
                    st.floats(0, 2e4, allow_nan=False)))
      ann = {
          "image_id": img["id"], "category_id": draw(st.sampled_from(gt_cats)), "bbox": box,
          "area": area, "iscrowd": iscrowd
      }
      if segm:
        ann["segmentation"] = _gt_segmentation(draw, box, iscrowd, w, h)
      if draw(st.integers(0, 6)) == 0:
        ann["ignore"] = draw(st.integers(0, 1))  # evaluate() overwrites it with iscrowd
      anns.append(ann)
  for _ in range(draw(st.integers(0, 1))):
    # Orphans: an unknown image or category id. pycocotools never evaluates them.
    orphan = dict(draw(st.sampled_from(anns))) if anns else None
    if orphan is not None:
      key = draw(st.sampled_from(["image_id", "category_id"]))
      orphan[key] = max(img_ids + cat_ids) + 1
      anns.append(orphan)
  ann_ids = _ids(draw, len(anns), id_style, allow_zero=False)  # pycocotools mishandles id 0
  for ann, i in zip(anns, ann_ids):
    ann["id"] = i
  gt = {
      "info": {"description": "random"}, "images": images, "categories": categories,
      "annotations": draw(st.permutations(anns))
  }

  # Detections: copies of ground-truth boxes (IoU ties), jittered copies and random boxes.
  segm_mode = draw(st.sampled_from(["bbox+segm", "segm", "mixed", "bbox-only"])) if segm else None
  results = []
  by_image = {img["id"]: [a for a in anns if a["image_id"] == img["id"]] for img in images}
  for img in images:
    if draw(st.integers(0, 4)) == 0:
      continue  # an image without detections
    w, h = img["width"], img["height"]
    for cat in dt_cats:
      for _ in range(draw(st.integers(0, 7))):
        own = by_image[img["id"]]
        how = draw(st.sampled_from(["copy", "copy", "jitter", "random"])) if own else "random"
        if how == "random":
          box = _box(draw, w, h)
          src = None
        else:
          src = draw(st.sampled_from(own))
          box = list(src["bbox"])
          if how == "jitter":
            box = [
                box[0] + draw(st.sampled_from([-1.0, 0.0, 1.0, 0.5])),
                box[1] + draw(st.sampled_from([-1.0, 0.0, 2.0])),
                max(0.0, box[2] + draw(st.sampled_from([-2.0, 0.0, 1.0]))), box[3]
            ]
        score = draw(st.one_of(st.sampled_from(_SCORES), st.floats(0, 1, allow_nan=False)))
        r = {"image_id": img["id"], "category_id": cat, "score": score}
        if not segm or segm_mode in ("bbox+segm", "bbox-only"):
          r["bbox"] = box
        if segm and segm_mode != "bbox-only":
          if src is not None and how == "copy" and draw(st.booleans()) and isinstance(
              src["segmentation"], dict) and isinstance(src["segmentation"]["counts"], str):
            r["segmentation"] = dict(src["segmentation"])  # the identical mask
          else:
            m = _random_mask(draw, w, h, near=[max(b, 0.0) for b in box])
            r["segmentation"] = _compressed(m)
          if segm_mode == "bbox+segm" and draw(st.integers(0, 3)) == 0:
            del r["segmentation"]  # bbox-mode results without a mask use their box polygon
          elif segm_mode == "bbox+segm" and draw(st.integers(0, 3)) == 0:
            r["segmentation"] = _polygons(draw, box, w, h)  # polygons are allowed in bbox mode
          if segm_mode == "mixed" and draw(st.booleans()):
            r["bbox"] = box  # segm mode keeps the box but uses the mask area
        results.append(r)
  if not results:  # loadRes needs at least one result
    img = draw(st.sampled_from(images))
    r = {"image_id": img["id"], "category_id": draw(st.sampled_from(cat_ids)), "score": 0.5}
    m = _random_mask(draw, img["width"], img["height"])
    if not segm or segm_mode in ("bbox+segm", "bbox-only"):
      r["bbox"] = [1.0, 1.0, 3.0, 3.0]
    if segm and segm_mode != "bbox-only":
      r["segmentation"] = _compressed(m)
    results.append(r)
  if segm and segm_mode == "mixed" and "bbox" in results[0]:
    del results[0]["bbox"]  # the first result decides loadRes' branch
  return gt, results


@st.composite
def params(draw, gt):
  """Custom Params (None for a field keeps pycocotools' default)."""
  img_ids = [i["id"] for i in gt["images"]]
  cat_ids = [c["id"] for c in gt["categories"]]
  p = {}
  if draw(st.booleans()):
    p["iouThrs"] = draw(
        st.one_of(
            st.lists(st.sampled_from(list(_DEFAULT_IOU)), min_size=1, max_size=10,
                     unique=True).map(lambda t: np.array(sorted(t))),
            st.just(np.array([0.1, 0.5, 0.75])), st.just(np.array([0.0, 1.0]))))
  if draw(st.booleans()):
    p["maxDets"] = draw(
        st.sampled_from([[1, 3], [2, 5, 20], [3, 1], [1], [1, 10, 100], [0, 2], [1, 2, 3, 4]]))
  if draw(st.booleans()):
    p["areaRng"], p["areaRngLbl"] = draw(
        st.sampled_from([
            ([[0, 1e10], [0, 16 ** 2], [16 ** 2, 1e10]], ["all", "s", "l"]),
            ([[0, 1e10], [32 ** 2, 32 ** 2], [96 ** 2, 96 ** 2]], ["all", "eq_small", "eq_large"]),
            ([[1, 100], [0, 1e5 ** 2]], ["few", "all"]),
            ([[0, 1024.0], [1024.0, 9216.0], [9216.0, 1e10]], ["small", "medium", "large"]),
            ([[0, 1e10]], ["all"]),
        ]))
  if draw(st.booleans()):
    p["useCats"] = 0
  if draw(st.integers(0, 2)) == 0:
    p["imgIds"] = draw(st.lists(st.sampled_from(img_ids), min_size=1, unique=True))
  if draw(st.integers(0, 2)) == 0:
    p["catIds"] = draw(st.lists(st.sampled_from(cat_ids), min_size=1, unique=True))
  return p


# ------------------------------------------------------------------ running both
def _pycocotools_gt(d):
  with contextlib.redirect_stdout(io.StringIO()):
    gt = pc_coco.COCO()
    gt.dataset = copy.deepcopy(d)
    gt.createIndex()
  return gt


def _apply(cocoeval, p):
  for key, value in p.items():
    setattr(cocoeval.params, key, copy.deepcopy(value))


def run_pycocotools(gt_dict, results, iou_type, p):
  with contextlib.redirect_stdout(io.StringIO()):
    gt = _pycocotools_gt(gt_dict)
    dt = gt.loadRes(copy.deepcopy(results))
    e = pc_cocoeval.COCOeval(gt, dt, iou_type)
    _apply(e, p)
    e.evaluate()
    e.accumulate()
    if _is_default_layout(e.params):
      e.summarize()
  return e


def run_ours(gt_dict, results, iou_type, p, num_threads=0):
  gt = cocoeval_cc.COCO(copy.deepcopy(gt_dict))
  dt = gt.loadRes(copy.deepcopy(results))
  e = cocoeval_cc.COCOeval(gt, dt, iou_type, num_threads=num_threads)
  _apply(e, p)
  e.evaluate()
  e.accumulate()
  e.summarize(verbose=False)
  return e


def _is_default_layout(params):
  return (len(params.iouThrs) == 10 and np.array_equal(params.iouThrs, _DEFAULT_IOU)
          and list(params.maxDets) == [1, 10, 100]
          and list(params.areaRngLbl) == ["all", "small", "medium", "large"])


def _mean_above_minus_one(s):
  s = s[s > -1]
  return np.mean(s) if len(s) else -1.0


def reference_stats(e, k=None):
  """pycocotools' _summarize, applied to our (generalised) list of statistics, on its arrays."""
  p = e.params
  prec, rec = e.eval["precision"], e.eval["recall"]
  if k is not None:
    prec, rec = prec[:, :, k:k + 1], rec[:, k:k + 1]
  top = sorted(p.maxDets)[-1]
  specs = [(1, None, "all", top), (1, .5, "all", top), (1, .75, "all", top)]
  specs += [(1, None, a, top) for a in p.areaRngLbl if a != "all"]
  specs += [(0, None, "all", m) for m in sorted(p.maxDets)]
  specs += [(0, None, a, top) for a in p.areaRngLbl if a != "all"]
  out = []
  for ap, thr, area, max_det in specs:
    aind = [i for i, lbl in enumerate(p.areaRngLbl) if lbl == area]
    mind = [i for i, m in enumerate(p.maxDets) if m == max_det]
    s = prec if ap else rec
    if thr is not None:
      s = s[np.where(thr == p.iouThrs)[0]]
    s = s[:, :, :, aind, mind] if ap else s[:, :, aind, mind]
    out.append(_mean_above_minus_one(s))
  return np.array(out, dtype=np.float64)


class PropertyTest(absltest.TestCase):

  def assert_identical(self, ours, theirs, check_stats=True):
    for key in ("precision", "recall", "scores"):
      a, b = np.asarray(ours.eval[key]), np.asarray(theirs.eval[key])
      self.assertEqual(a.shape, b.shape, key)
      if not np.array_equal(a, b):
        diff = np.argwhere(a != b)
        self.fail(f"{key} differs at {len(diff)} positions, first {diff[0].tolist()}: "
                  f"ours {a[tuple(diff[0])]!r} vs pycocotools {b[tuple(diff[0])]!r}")
    if check_stats:
      if _is_default_layout(theirs.params):
        np.testing.assert_array_equal(ours.stats, theirs.stats, err_msg="stats")
      np.testing.assert_array_equal(ours.stats, reference_stats(theirs),
                                    err_msg="stats (generalised)")
      if theirs.params.useCats:
        k_count = theirs.eval["precision"].shape[2]
        expected = np.array([reference_stats(theirs, k) for k in range(k_count)
                            ]).reshape(k_count, len(ours.stats)).T  # (S x K), also for K = 0
        np.testing.assert_array_equal(ours.category_stats, expected, err_msg="category_stats")

  def check(self, gt, results, iou_type, p):
    theirs = run_pycocotools(gt, results, iou_type, p)
    ours = run_ours(gt, results, iou_type, p)
    self.assert_identical(ours, theirs)

  @hypothesis.settings(max_examples=150, **_SETTINGS)
  @hypothesis.given(datasets())
  def test_bbox_default_params_equal_pycocotools(self, data):
    """Default parameters, bbox: stats, arrays and per-category stats are bit-identical."""
    gt, results = data
    self.check(gt, results, "bbox", {})

  @hypothesis.settings(max_examples=150, **_SETTINGS)
  @hypothesis.given(st.data())
  def test_bbox_custom_params_equal_pycocotools(self, data):
    """Custom iouThrs / maxDets / area ranges / useCats / id subsets: arrays are bit-identical."""
    gt, results = data.draw(datasets())
    self.check(gt, results, "bbox", data.draw(params(gt)))

  @hypothesis.settings(max_examples=60, **_SETTINGS)
  @hypothesis.given(datasets(segm=True))
  def test_segm_default_params_equal_pycocotools(self, data):
    """segm with polygon / RLE / box-like ground truth and RLE, polygon or box-only results."""
    gt, results = data
    self.check(gt, results, "segm", {})

  @hypothesis.settings(max_examples=50, **_SETTINGS)
  @hypothesis.given(st.data())
  def test_segm_custom_params_equal_pycocotools(self, data):
    """segm with custom parameters: arrays are bit-identical."""
    gt, results = data.draw(datasets(segm=True))
    self.check(gt, results, "segm", data.draw(params(gt)))

  @hypothesis.settings(max_examples=40, **_SETTINGS)
  @hypothesis.given(st.data(), st.sampled_from(["bbox", "segm"]), st.booleans())
  def test_eval_imgs_ious_and_evaluate_img_equal_pycocotools(self, data, iou_type, custom):
    """evalImgs (None positions, keys, values, array dtypes), ious, computeIoU and evaluateImg
    equal pycocotools', default or custom parameters (useCats 0 included)."""
    gt, results = data.draw(datasets(segm=iou_type == "segm"))
    p = data.draw(params(gt)) if custom else {}
    theirs = run_pycocotools(gt, results, iou_type, p)
    ours = run_ours(gt, results, iou_type, p)
    per_image_testing.assert_per_image_equal(self, ours, theirs)

  @hypothesis.settings(max_examples=60, **_SETTINGS)
  @hypothesis.given(st.data())
  def test_annotation_ids_do_not_matter(self, data):
    """Renumbering ground-truth annotations (one id 0, or all shifted by 2**40) changes nothing.

    pycocotools treats a match to ground-truth id 0 as unmatched; cocoeval_cc must not.
    """
    iou_type = data.draw(st.sampled_from(["bbox", "segm"]))
    gt, results = data.draw(datasets(segm=iou_type == "segm"))
    hypothesis.assume(gt["annotations"])
    p = data.draw(params(gt))
    base = run_ours(gt, results, iou_type, p)
    n = len(gt["annotations"])
    shift = data.draw(st.sampled_from([0, 2 ** 40, 2 ** 62 - 1000]))
    new_ids = [shift + i for i in data.draw(st.permutations(range(n)))]  # one of them is `shift`
    zero_at = data.draw(st.integers(0, n - 1))
    if shift:
      new_ids[zero_at] = 0  # id 0 alongside huge ids
    renumbered = copy.deepcopy(gt)
    for ann, i in zip(renumbered["annotations"], new_ids):
      ann["id"] = i
    self.assertIn(0, new_ids)
    other = run_ours(renumbered, results, iou_type, p)
    for key in ("precision", "recall", "scores"):
      np.testing.assert_array_equal(other.eval[key], base.eval[key], err_msg=key)
    np.testing.assert_array_equal(other.stats, base.stats)
    np.testing.assert_array_equal(other.category_stats, base.category_stats)

  def test_annotation_id_zero_is_a_true_positive(self):
    """A match to ground truth id 0 is a true positive: the result equals pycocotools' with id 1."""
    gt = {
        "images": [{"id": 1, "width": 10, "height": 10}], "categories": [{"id": 1, "name": "a"}],
        "annotations": [{
            "id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "area": 25, "iscrowd": 0
        }]
    }
    results = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9}]
    theirs = run_pycocotools(gt, results, "bbox", {})
    gt["annotations"][0]["id"] = 0
    ours = run_ours(gt, results, "bbox", {})
    self.assert_identical(ours, theirs)
    self.assertEqual(ours.stats[8], 1.0)  # AR@100: the detection was matched

  def test_usecats_0_pools_in_given_category_order(self):
    """Without useCats, pycocotools pools detections in params.catIds order (ties keep it)."""
    gt = {
        "images": [{"id": 1, "width": 50, "height": 50}],
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], "annotations": [{
            "id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100,
            "iscrowd": 0
        }]
    }
    results = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.5},
               {"image_id": 1, "category_id": 2, "bbox": [0, 0, 10, 6], "score": 0.5}]
    self.check(gt, results, "bbox", {"useCats": 0, "catIds": [2, 1]})

  @hypothesis.settings(max_examples=30, **_SETTINGS)
  @hypothesis.given(st.permutations(["all", "small", "big"]), st.sampled_from([[1, 3], [1, 10,
                                                                                        100]]))
  def test_stat_names_describe_the_computed_stats(self, labels, max_dets):
    """The Python stat names (tf_metrics keys) describe the area / maxDets of each stat."""
    gt = {
        "images": [{"id": 1, "width": 50, "height": 50}], "categories": [{"id": 1, "name": "a"}],
        "annotations": [{
            "id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100,
            "iscrowd": 0
        }]
    }
    results = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.5}]
    ranges = {"all": [0, 1e10], "small": [0, 200], "big": [5000, 1e10]}
    p = {
        "areaRng": [ranges[label] for label in labels], "areaRngLbl": list(labels),
        "maxDets": max_dets
    }
    ours = run_ours(gt, results, "bbox", p)
    descriptions = ours._evaluator.stat_descriptions
    self.assertLen(ours.stat_specs, len(descriptions))
    for spec, description in zip(ours.stat_specs, descriptions):
      self.assertIn(f"area={spec.area:>6s}", description)
      self.assertIn(f"maxDets={spec.max_dets:3d}", description)

  def test_explicit_empty_img_ids_and_cat_ids_equal_pycocotools(self):
    """params.imgIds = [] (or catIds = []) evaluates nothing in pycocotools, not everything."""
    gt = {
        "images": [{"id": 1, "width": 50, "height": 50}], "categories": [{"id": 1, "name": "a"}],
        "annotations": [{
            "id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100,
            "iscrowd": 0
        }]
    }
    results = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.5}]
    for p in ({"imgIds": []}, {"catIds": []}):
      with self.subTest(p=p):
        self.check(gt, results, "bbox", p)


if __name__ == "__main__":
  absltest.main()
