"""COCO: a dataset or a result set, as pycocotools.coco.COCO (2.0.11) presents it.

The native loader parses a file straight into compact arrays; the Python dictionaries that
pycocotools users read (`dataset`, `anns`, `imgs`, `cats`, `imgToAnns`, `catToImgs`) are built
only when first touched, so evaluating files never pays for one Python object per annotation.

Everything else is pycocotools': `COCO()`, `COCO(path)`, `COCO(dict)`; `dataset` and the index
attributes are settable and `createIndex()` rebuilds them and the native side from `dataset`
(the TF Object Detection API's `COCOWrapper` pattern: `COCO.__init__(self)`, `self.dataset =
...`, `self.createIndex()`); a COCO assembled by hand (annotations with scores) can be the
detections of a COCOeval; ids may be any hashable pycocotools indexes by (ints, strings, ...):
the native side sees dense integers in pycocotools' sort order; numpy scalars and arrays are
accepted wherever pycocotools takes a number or a list.
"""
from __future__ import annotations

import collections
import copy
import itertools
import json
import os
import re
from typing import Any, Iterable, Sequence

import numpy as np

from cocoeval_cc import _cocoeval_cc as _native
from cocoeval_cc import mask as maskUtils  # pycocotools.coco's name for it

# The native loader's complaint about an id that is not an integer.
_ID_PROBLEM = re.compile(r"'(id|image_id|category_id)' must be an integer")


def _isArrayLike(obj) -> bool:
  """pycocotools.coco._isArrayLike."""
  return hasattr(obj, "__iter__") and hasattr(obj, "__len__")


def _as_ids(x) -> list:
  """pycocotools' `x if _isArrayLike(x) else [x]`, except that one string is one id."""
  if isinstance(x, (str, bytes)) or not _isArrayLike(x):
    return [x]
  return list(x)


# ---------------------------------------------------------------------------- ids
def _int_id(x) -> int | None:
  """The integer the native side uses for an id the native loader takes as is, else None."""
  if isinstance(x, (bool, np.bool_)):
    return None
  if isinstance(x, (int, np.integer)):
    return int(x) if -2 ** 63 <= x < 2 ** 63 else None
  if isinstance(x, (float, np.floating)) and float(x).is_integer() and abs(x) < 9.2e18:
    return int(x)
  return None


def pycocotools_order(ids: Iterable) -> list:
  """Distinct ids in the order COCOeval puts them (np.unique of the sorted list); ids that do
  not sort together (pycocotools cannot evaluate those) keep their first-seen order."""
  unique = list(dict.fromkeys(ids))
  try:
    return sorted(unique)
  except TypeError:
    return unique


def unique_ids(ids: Iterable) -> list:
  """Params.imgIds / catIds as COCOeval.evaluate() normalises them (np.unique)."""
  ids = list(np.asarray(ids).ravel()) if isinstance(ids, np.ndarray) else list(ids)
  as_int = [_int_id(i) for i in ids]
  if all(i is not None for i in as_int):
    return [int(i) for i in np.unique(np.asarray(as_int, dtype=np.int64))]
  return pycocotools_order(ids)


class IdMap:
  """One kind of id (images, categories or annotations) to the native side's int64 ids.

  Integer ids are used as they are; otherwise every id gets its rank in pycocotools' order, so
  the native side's sorted order is pycocotools' order (which decides how score ties between
  images break). Ids the ground truth does not have map to fresh integers it does not have.
  """

  def __init__(self, defined: Sequence, identity: bool):
    self.identity = identity
    if identity:
      known = [_int_id(i) for i in defined]
      self._to, self._from = None, None
      self._fresh = max(known) + 1 if known else 0
    else:
      order = pycocotools_order(defined)
      self._to = {i: n for n, i in enumerate(order)}
      self._from = order
      self._fresh = len(order)

  def lookup(self, x) -> int | None:
    """x's native id, or None for an id this map cannot number (a non-integer id of a set
    with integer ids, an id the ground truth does not have)."""
    if self.identity:
      return _int_id(x)
    try:
      return self._to.get(x)
    except TypeError:  # unhashable
      return None

  def native(self, x) -> int:
    """x's native id; ids lookup() cannot number share one id the ground truth lacks."""
    n = self.lookup(x)
    return self._fresh if n is None else n

  def native_list(self, ids: Iterable) -> list[int]:
    """Each id's native id; distinct unknown ids get distinct ids the ground truth lacks."""
    unknown: dict = {}
    out = []
    for x in ids:
      n = self.lookup(x)
      if n is None:
        n = self._fresh + unknown.setdefault(repr(x), len(unknown))
      out.append(n)
    return out

  def original(self, n: int):
    """The id whose native id is n (n itself for integer ids)."""
    n = int(n)
    if self.identity or not 0 <= n < len(self._from):
      return n
    return self._from[n]


class NativeIds:
  """How a ground truth's images, categories and annotations are numbered natively."""

  def __init__(self, images: IdMap, categories: IdMap, annotations: IdMap):
    self.images, self.categories, self.annotations = images, categories, annotations

  @property
  def identity(self) -> bool:
    return self.images.identity and self.categories.identity and self.annotations.identity

  @classmethod
  def of_dataset(cls, images: list, categories: list, annotations: list) -> "NativeIds":

    def kind(ids):
      ids = list(ids)
      return IdMap(ids, all(_int_id(i) is not None for i in ids))

    return cls(kind(img.get("id") for img in images), kind(c.get("id") for c in categories),
               kind(a.get("id") for a in annotations))

  @classmethod
  def integers(cls) -> "NativeIds":
    return cls(IdMap([], True), IdMap([], True), IdMap([], True))


def _needs_mapping(images: list, categories: list, annotations: list) -> bool:
  """True when some id is not an integer (the native loader takes only integers)."""
  for seq, keys in ((images, ("id",)), (categories, ("id",)), (annotations, ("id", "image_id",
                                                                             "category_id"))):
    for record in seq:
      if isinstance(record, dict):
        for k in keys:
          if k in record and _int_id(record[k]) is None:
            return True
  return False


def _first_ids_need_mapping(images: list, categories: list, annotations: list) -> bool:
  """A cheap look at the first record of each list (string ids are usually all strings)."""
  return _needs_mapping(images[:1], categories[:1], annotations[:1])


# ---------------------------------------------------------------------- JSON out
class _Encoder:
  """json.dumps with numpy scalars and arrays (and bytes RLE counts) as JSON; remembers whether
  it saw floats narrower than float64 (whose products pycocotools rounds to their precision)."""

  def __init__(self):
    self.narrow_floats = False

  def default(self, o):
    if isinstance(o, np.ndarray):
      if o.dtype.kind == "f" and o.dtype != np.float64:
        self.narrow_floats = True
      return o.tolist()
    if isinstance(o, np.generic):
      if isinstance(o, np.floating) and not isinstance(o, np.float64):
        self.narrow_floats = True
      return o.item()
    if isinstance(o, (bytes, bytearray)):
      return o.decode("latin-1")
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")

  def dumps(self, obj) -> str:
    return json.dumps(obj, default=self.default)


def _dumps(obj) -> str:
  return _Encoder().dumps(obj)


# --------------------------------------------------------------------------- COCO
class COCO:
  """Ground truth (a path, a dict, or a dataset set later) or, from loadRes, detections."""

  # Class-level defaults, so that subclasses which never call COCO.__init__ (they set
  # dataset and the index attributes themselves) still work.
  num_threads = 0
  _path: str | None = None
  _dataset: dict | None = None
  _index: dict | None = None
  _gt_native = None  # _native.GroundTruth of this dataset, built on demand
  _ids: NativeIds | None = None  # how _gt_native numbers this dataset's ids
  _dt_native = None  # _native.Detections of a result set from loadRes
  _gt: "COCO | None" = None  # the ground truth a result set was loaded for
  _gt_native_of_dt = None  # the ground truth _dt_native was loaded against
  _raw_results: Any = None
  _result_set = False
  _dt_ann_ids: list | None = None  # ids of the detections passed to the native side

  def __init__(self, annotation_file: str | os.PathLike | dict | None = None, *,
               num_threads: int = 0):
    self.num_threads = num_threads
    self._path, self._dataset, self._index = None, None, None
    self._gt_native, self._ids, self._dt_native = None, None, None
    if annotation_file is None:
      self._dataset = {}
    elif isinstance(annotation_file, dict):
      self._dataset = annotation_file
      self._build_native()  # bad records are named now, as for a file
    else:
      self._path = os.fspath(annotation_file)
      try:
        self._gt_native = _native.load_ground_truth(self._path)
        self._ids = NativeIds.integers()
      except ValueError as error:
        # Ids pycocotools takes but the native loader does not (strings, ...): Python reads
        # the file and the native side gets dense integer ids.
        if not (_ID_PROBLEM.search(str(error)) and os.path.isfile(self._path)):
          raise
        try:
          with open(self._path) as f:
            dataset = json.load(f)
        except (OSError, ValueError, UnicodeDecodeError):
          raise error from None
        if not isinstance(dataset, dict) or not _needs_mapping(*_lists(dataset)):
          raise
        self._dataset = dataset
        self._build_native()
    if type(self).createIndex is not COCO.createIndex:
      self.createIndex()  # a subclass extends the index: build it now, as pycocotools does

  # ------------------------------------------------------------ the dataset
  @property
  def dataset(self) -> dict:
    if self._dataset is None:
      if self._result_set:
        self._dataset = self._results_dataset()
      elif self._path is not None:
        with open(self._path) as f:
          self._dataset = json.load(f)
      else:
        self._dataset = {}
    return self._dataset

  @dataset.setter
  def dataset(self, value: dict) -> None:
    self._dataset = value
    self._path = None
    self._index = None
    self._drop_native()
    self._result_set = False

  def _drop_native(self) -> None:
    self._gt_native, self._ids = None, None
    self._dt_native, self._gt_native_of_dt, self._dt_ann_ids = None, None, None

  def createIndex(self) -> None:
    """Rebuilds the index (anns, imgs, cats, imgToAnns, catToImgs) and the native side from
    `dataset`, as pycocotools' createIndex (which it also is for subclasses)."""
    untouched = self._dataset is None and (self._path is not None or self._result_set)
    self._index = None
    self._build_index()
    if not untouched:
      self._drop_native()  # the dataset may have changed in place: the native side follows it

  def _build_index(self) -> dict:
    if self._index is None:
      ds = self.dataset
      anns, cats, imgs = {}, {}, {}
      img_to_anns, cat_to_imgs = collections.defaultdict(list), collections.defaultdict(list)
      if "annotations" in ds:
        for ann in ds["annotations"]:
          img_to_anns[ann["image_id"]].append(ann)
          anns[ann["id"]] = ann
      if "images" in ds:
        for img in ds["images"]:
          imgs[img["id"]] = img
      if "categories" in ds:
        for cat in ds["categories"]:
          cats[cat["id"]] = cat
      if "annotations" in ds and "categories" in ds:
        for ann in ds["annotations"]:
          cat_to_imgs[ann["category_id"]].append(ann["image_id"])
      self._index = {
          "anns": anns, "imgs": imgs, "cats": cats, "imgToAnns": img_to_anns,
          "catToImgs": cat_to_imgs
      }
    return self._index

  def _table(name):  # noqa: N805 (a property factory, run in the class body)

    def get(self):
      return self._build_index()[name]

    def set_(self, value):
      self._build_index()[name] = value

    return property(get, set_, doc=f"pycocotools' {name} (built from dataset when first read)")

  anns = _table("anns")
  imgs = _table("imgs")
  cats = _table("cats")
  imgToAnns = _table("imgToAnns")
  catToImgs = _table("catToImgs")
  del _table

  # ------------------------------------------------------------ native side
  def _build_native(self) -> None:
    """The native ground truth of `dataset` (ids mapped to integers when they are not)."""
    images, categories, annotations = _lists(self.dataset)
    if not _first_ids_need_mapping(images, categories, annotations):
      payload = {"images": images, "categories": categories, "annotations": annotations}
      try:
        self._gt_native = _native.load_ground_truth_bytes(_dumps(payload), "<dict>")
        self._ids = NativeIds.integers()
        return
      except ValueError:
        if not _needs_mapping(images, categories, annotations):
          raise
    ids = NativeIds.of_dataset(images, categories, annotations)
    payload = {
        "images": [_with(img, id=ids.images.native(img.get("id"))) for img in images],
        "categories": [_with(c, id=ids.categories.native(c.get("id"))) for c in categories],
        "annotations": [
            _with(a, id=ids.annotations.native(a.get("id")),
                  image_id=ids.images.native(a.get("image_id")),
                  category_id=ids.categories.native(a.get("category_id"))) for a in annotations
        ]
    }
    self._gt_native = _native.load_ground_truth_bytes(_dumps(payload), "<dict>")
    self._ids = ids

  @property
  def native_ground_truth(self) -> "_native.GroundTruth":
    """The native ground truth (a result set's is its ground truth's), for the native API."""
    if self._result_set and self._gt is not None:
      return self._gt.native_ground_truth
    if self._gt_native is None:
      if self._path is not None and self._dataset is None:
        self._gt_native = _native.load_ground_truth(self._path)
        self._ids = NativeIds.integers()
      else:
        self._build_native()
    return self._gt_native

  @property
  def native_ids(self) -> NativeIds:
    """How native_ground_truth numbers this dataset's image, category and annotation ids."""
    if self._result_set and self._gt is not None:
      return self._gt.native_ids
    self.native_ground_truth  # noqa: B018 (builds it and the ids)
    return self._ids

  @property
  def is_results(self) -> bool:
    """True for a result set from loadRes (still as loaded)."""
    return self._result_set

  @property
  def native_detections(self) -> "_native.Detections | None":
    """The loaded detections of a result set from loadRes; None for ground truth."""
    if not self._result_set:
      return None
    return self.native_detections_for(self._gt)

  def native_detections_for(self, gt: "COCO") -> "_native.Detections | None":
    """This COCO's annotations as native detections of `gt` (possibly none).

    A result set from gt.loadRes(...) has them already; any other COCO (assembled by hand, a
    result set changed and re-indexed, another ground truth's result set) is read as
    pycocotools' COCOeval reads it: each annotation's image_id, category_id, score, bbox,
    segmentation, keypoints and area as given; annotations of images or categories `gt` does
    not have take no part.
    """
    gt_native = gt.native_ground_truth
    if self._dt_native is not None and self._gt_native_of_dt is gt_native:
      return self._dt_native
    ids = gt.native_ids
    known_images = set(gt_native.image_ids.tolist())
    known_cats = set(gt_native.category_ids.tolist())
    results, kept, areas = [], [], []
    for ann in self.dataset.get("annotations", []):
      image = ids.images.lookup(ann["image_id"])
      category = ids.categories.lookup(ann["category_id"])
      if image not in known_images or category not in known_cats:
        continue
      r = {"image_id": image, "category_id": category, "score": ann["score"]}
      for key in ("bbox", "segmentation", "keypoints"):
        if key in ann:
          r[key] = ann[key]
      results.append(r)
      kept.append(ann.get("id"))
      areas.append(ann.get("area"))
    if results:
      dt = _native.load_results_bytes(gt_native, _dumps(results), "<annotations>", self.num_threads)
      if all(a is not None for a in areas):
        _native.set_detection_areas(dt, [float(a) for a in areas])
    else:  # nothing to match: AP 0 wherever there is ground truth, as in pycocotools
      dt = _native.empty_detections("<annotations>")
    self._dt_native, self._gt_native_of_dt, self._dt_ann_ids = dt, gt_native, kept
    return dt

  # ------------------------------------------------------------------- ids
  def getAnnIds(self, imgIds=[], catIds=[], areaRng=[], iscrowd=None) -> list:  # noqa: B006
    """Ids of the annotations of these images, categories, area range (exclusive) and crowd
    flag; an empty filter is no filter (pycocotools' semantics)."""
    imgIds, catIds = _as_ids(imgIds), _as_ids(catIds)
    if len(imgIds) == len(catIds) == len(areaRng) == 0:
      anns = self.dataset.get("annotations", [])
    else:
      if len(imgIds) != 0:
        img_to_anns = self.imgToAnns
        anns = list(
            itertools.chain.from_iterable(img_to_anns[i] for i in imgIds
                                          if _contains(img_to_anns, i)))
      else:
        anns = self.dataset.get("annotations", [])
      if len(catIds) != 0:
        anns = [ann for ann in anns if ann["category_id"] in catIds]
      if len(areaRng) != 0:
        anns = [ann for ann in anns if areaRng[0] < ann["area"] < areaRng[1]]
    if iscrowd is not None:
      return [ann["id"] for ann in anns if ann["iscrowd"] == iscrowd]
    return [ann["id"] for ann in anns]

  def getCatIds(self, catNms=[], supNms=[], catIds=[]) -> list:  # noqa: B006
    """Ids of the categories with these names, supercategories and ids, in dataset order."""
    catNms, supNms, catIds = _as_ids(catNms), _as_ids(supNms), _as_ids(catIds)
    cats = self.dataset.get("categories", [])
    if catNms:
      cats = [c for c in cats if c["name"] in catNms]
    if supNms:
      cats = [c for c in cats if c["supercategory"] in supNms]
    if catIds:
      cats = [c for c in cats if c["id"] in catIds]
    return [c["id"] for c in cats]

  def getImgIds(self, imgIds=[], catIds=[]) -> list:  # noqa: B006
    """Ids of these images that have every one of these categories (pycocotools' semantics:
    no filter gives every image in dataset order; the filtered answer comes from a set)."""
    imgIds, catIds = _as_ids(imgIds), _as_ids(catIds)
    if len(imgIds) == len(catIds) == 0:
      return list(self.imgs.keys())
    ids = set(imgIds)
    cat_to_imgs = self.catToImgs
    for i, cat in enumerate(catIds):
      if i == 0 and len(ids) == 0:
        ids = set(cat_to_imgs[cat])
      else:
        ids &= set(cat_to_imgs[cat])
    return list(ids)

  def sorted_image_ids(self) -> list:
    """sorted(getImgIds()) without building the index when the native side has the ids."""
    if self._gt_native is not None or (self._path is not None and self._dataset is None):
      ids, native = self.native_ids.images, self.native_ground_truth.image_ids.tolist()
      return native if ids.identity else [ids.original(i) for i in native]
    return pycocotools_order(self.imgs.keys())

  def sorted_category_ids(self) -> list:
    """sorted(getCatIds()) without building the index when the native side has the ids."""
    if self._gt_native is not None or (self._path is not None and self._dataset is None):
      ids, native = self.native_ids.categories, self.native_ground_truth.category_ids.tolist()
      return native if ids.identity else [ids.original(i) for i in native]
    return pycocotools_order(self.getCatIds())

  def category_names(self) -> dict:
    """{category id: name} of the ground truth, from the native side."""
    g, ids = self.native_ground_truth, self.native_ids.categories
    return {ids.original(i): n for i, n in zip(g.category_ids.tolist(), g.category_names)}

  # ------------------------------------------------------------------ loads
  def _load(self, table: dict, ids) -> list:
    if isinstance(ids, (str, bytes)) or not _isArrayLike(ids):
      return [table[ids]]
    return [table[i] for i in ids]

  def loadAnns(self, ids=[]) -> list:  # noqa: B006
    return self._load(self.anns, ids)

  def loadCats(self, ids=[]) -> list:  # noqa: B006
    return self._load(self.cats, ids)

  def loadImgs(self, ids=[]) -> list:  # noqa: B006
    return self._load(self.imgs, ids)

  # --------------------------------------------------------------- results
  def loadRes(self, resFile: str | os.PathLike | Sequence[dict] | np.ndarray) -> "COCO":
    """Detections for this ground truth: a results file, a list of result dicts, or an Nx7
    array [image_id, x, y, w, h, score, category_id]. The result set's `dataset` (built when
    first read) holds what pycocotools' loadRes makes: ids 1..N, area, iscrowd = 0, a box
    polygon as segmentation or a mask's box as bbox; the caller's list is not modified."""
    res = COCO.__new__(COCO)
    res.num_threads = self.num_threads
    res._path, res._dataset, res._index = None, None, None
    res._gt_native, res._ids = None, None
    res._gt, res._result_set = self, True
    res._raw_results = None
    gt_native, ids = self.native_ground_truth, self.native_ids
    source = "<results list>"
    narrow_array = isinstance(resFile, np.ndarray) and resFile.dtype != np.float64
    if ids.identity and isinstance(resFile, np.ndarray) and not narrow_array:
      res._raw_results = resFile
      dt = _native.load_results_array(gt_native, np.asarray(resFile, np.float64))
    elif ids.identity and not isinstance(resFile, (np.ndarray, list, tuple)):
      res._path = os.fspath(resFile)
      dt = _native.load_results(gt_native, res._path, self.num_threads)
    else:  # results Python holds: a list, an array of another dtype, a file of string ids
      if isinstance(resFile, np.ndarray):
        results = self.loadNumpyAnnotations(resFile)
      elif isinstance(resFile, (list, tuple)):
        results = list(resFile)
      else:
        source = res._path = os.fspath(resFile)
        with open(source) as f:
          results = json.load(f)
        if not isinstance(results, list):
          raise ValueError(f"{source}: results must be a list of objects")
      res._raw_results = results
      dt = _load_result_dicts(gt_native,
                              results if ids.identity else _mapped_results(results, ids, source),
                              source, self.num_threads)
    res._dt_native, res._gt_native_of_dt = dt, gt_native
    return res

  def _results_dataset(self) -> dict:
    """The dataset pycocotools' loadRes builds from the results."""
    if self._raw_results is None:
      with open(self._path) as f:
        self._raw_results = json.load(f)
    raw = self._raw_results
    anns = self.loadNumpyAnnotations(raw) if isinstance(raw, np.ndarray) else copy.deepcopy(raw)
    gt = self._gt.dataset
    out = {"info": copy.deepcopy(gt.get("info", {})), "images": list(gt.get("images", []))}
    if anns and "bbox" in anns[0] and anns[0]["bbox"] != []:
      out["categories"] = copy.deepcopy(gt.get("categories", []))
      for i, ann in enumerate(anns):
        bb = ann["bbox"]
        x1, x2, y1, y2 = bb[0], bb[0] + bb[2], bb[1], bb[1] + bb[3]
        if "segmentation" not in ann:
          ann["segmentation"] = [[x1, y1, x1, y2, x2, y2, x2, y1]]
        ann["area"] = bb[2] * bb[3]
        ann["id"] = i + 1
        ann["iscrowd"] = 0
    elif anns and "segmentation" in anns[0]:
      out["categories"] = copy.deepcopy(gt.get("categories", []))
      for i, ann in enumerate(anns):
        ann["area"] = maskUtils.area(ann["segmentation"])
        if "bbox" not in ann:
          ann["bbox"] = maskUtils.toBbox(ann["segmentation"])
        ann["id"] = i + 1
        ann["iscrowd"] = 0
    elif anns and "keypoints" in anns[0]:
      out["categories"] = copy.deepcopy(gt.get("categories", []))
      for i, ann in enumerate(anns):
        s = ann["keypoints"]
        x, y = s[0::3], s[1::3]
        x0, x1, y0, y1 = np.min(x), np.max(x), np.min(y), np.max(y)
        ann["area"] = (x1 - x0) * (y1 - y0)
        ann["id"] = i + 1
        ann["bbox"] = [x0, y0, x1 - x0, y1 - y0]
    out["annotations"] = anns
    return out

  def loadNumpyAnnotations(self, data: np.ndarray) -> list[dict]:
    """Nx7 rows [image_id, x, y, w, h, score, category_id] as result dicts (pycocotools')."""
    assert type(data) == np.ndarray  # noqa: E721
    assert data.shape[1] == 7
    return [{
        "image_id": int(row[0]), "bbox": [row[1], row[2], row[3], row[4]], "score": row[5],
        "category_id": int(row[6])
    } for row in data]

  # ------------------------------------------------------------------ masks
  def annToRLE(self, ann: dict) -> dict:
    """The annotation's segmentation as one compressed RLE (polygons merged)."""
    t = self.imgs[ann["image_id"]]
    h, w = t["height"], t["width"]
    segm = ann["segmentation"]
    if isinstance(segm, list):
      return maskUtils.merge(maskUtils.frPyObjects(segm, h, w))
    if isinstance(segm["counts"], list):
      return maskUtils.frPyObjects(segm, h, w)
    return segm

  def annToMask(self, ann: dict) -> np.ndarray:
    """The annotation's binary mask, (h, w) uint8."""
    return maskUtils.decode(self.annToRLE(ann))

  def showAnns(self, anns: list[dict], draw_bbox: bool = False):
    """Draws annotations on the current matplotlib axes (pycocotools' showAnns)."""
    if len(anns) == 0:
      return 0
    if "segmentation" in anns[0] or "keypoints" in anns[0]:
      dataset_type = "instances"
    elif "caption" in anns[0]:
      dataset_type = "captions"
    else:
      raise Exception("datasetType not supported")
    if dataset_type == "captions":
      for ann in anns:
        print(ann["caption"])
      return None
    import matplotlib.pyplot as plt
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Polygon

    ax = plt.gca()
    ax.set_autoscale_on(False)
    polygons, colors = [], []
    for ann in anns:
      c = (np.random.random((1, 3)) * 0.6 + 0.4).tolist()[0]
      if "segmentation" in ann:
        if isinstance(ann["segmentation"], list):
          for seg in ann["segmentation"]:
            polygons.append(Polygon(np.array(seg).reshape((int(len(seg) / 2), 2))))
            colors.append(c)
        else:
          t = self.imgs[ann["image_id"]]
          if isinstance(ann["segmentation"]["counts"], list):
            rle = maskUtils.frPyObjects([ann["segmentation"]], t["height"], t["width"])
          else:
            rle = [ann["segmentation"]]
          m = maskUtils.decode(rle)
          img = np.ones((m.shape[0], m.shape[1], 3))
          if ann["iscrowd"] == 1:
            color_mask = np.array([2.0, 166.0, 101.0]) / 255
          if ann["iscrowd"] == 0:
            color_mask = np.random.random((1, 3)).tolist()[0]
          for i in range(3):
            img[:, :, i] = color_mask[i]
          ax.imshow(np.dstack((img, m * 0.5)))
      if "keypoints" in ann and isinstance(ann["keypoints"], list):
        sks = np.array(self.loadCats(ann["category_id"])[0]["skeleton"]) - 1
        kp = np.array(ann["keypoints"])
        x, y, v = kp[0::3], kp[1::3], kp[2::3]
        for sk in sks:
          if np.all(v[sk] > 0):
            plt.plot(x[sk], y[sk], linewidth=3, color=c)
        plt.plot(x[v > 0], y[v > 0], "o", markersize=8, markerfacecolor=c, markeredgecolor="k",
                 markeredgewidth=2)
        plt.plot(x[v > 1], y[v > 1], "o", markersize=8, markerfacecolor=c, markeredgecolor=c,
                 markeredgewidth=2)
      if draw_bbox:
        bx, by, bw, bh = ann["bbox"]
        corners = [[bx, by], [bx, by + bh], [bx + bw, by + bh], [bx + bw, by]]
        polygons.append(Polygon(np.array(corners).reshape((4, 2))))
        colors.append(c)
    ax.add_collection(PatchCollection(polygons, facecolor=colors, linewidths=0, alpha=0.4))
    ax.add_collection(PatchCollection(polygons, facecolor="none", edgecolors=colors, linewidths=2))
    return None

  def info(self) -> None:
    """Prints the dataset's info section."""
    for key, value in self.dataset.get("info", {}).items():
      print(f"{key}: {value}")

  def __repr__(self) -> str:
    if self._result_set:
      what = f"{len(self._dt_native)} results" if self._dt_native is not None else "results"
    elif self._gt_native is not None:
      what = repr(self._gt_native)
    else:
      what = f"{len(self.dataset.get('annotations', []))} annotations"
    return f"<cocoeval_cc.COCO {self._path or '(in memory)'}: {what}>"

  # --------------------------------------------------------------- pickling
  def __getstate__(self) -> dict:
    """Picklable like pycocotools' COCO: the dataset (or the file's path) travels, the native
    side is rebuilt on the other side when first needed."""
    state = dict(self.__dict__)
    for key in ("_gt_native", "_ids", "_dt_native", "_gt_native_of_dt"):
      state[key] = None
    if self._result_set:
      state["_dataset"] = self.dataset  # rebuilt detections come from it
      state["_raw_results"] = None
    return state

  def __setstate__(self, state: dict) -> None:
    self.__dict__.update(state)


def _lists(dataset: dict) -> tuple[list, list, list]:
  return (dataset.get("images") or [], dataset.get("categories") or [], dataset.get("annotations")
          or [])


def _with(record, **changes):
  """A shallow copy of a record with some fields replaced (non-dicts go through unchanged)."""
  if not isinstance(record, dict):
    return record
  out = dict(record)
  for k, v in changes.items():
    if k in record:
      out[k] = v
  return out


def _contains(mapping, key) -> bool:
  try:
    return key in mapping
  except TypeError:
    return False


def _load_result_dicts(gt_native, results: list, source: str, num_threads: int):
  """loadRes of result dicts. Boxes of float32 (or other narrow) numbers get what pycocotools
  computes from them in their own precision: the area bb[2] * bb[3] and, for segm evaluation,
  the box polygon (x + w, y + h rounded to float32)."""
  encoder = _Encoder()
  dt = _native.load_results_bytes(gt_native, encoder.dumps(results), source, num_threads)
  if not (encoder.narrow_floats and dt.bbox_mode):
    return dt
  areas, exact = [], []
  for r in results:
    bb = r["bbox"]
    x1, x2, y1, y2 = bb[0], bb[0] + bb[2], bb[1], bb[1] + bb[3]
    if "segmentation" not in r:
      r = dict(r, segmentation=[[x1, y1, x1, y2, x2, y2, x2, y1]])
    exact.append(r)
    areas.append(float(bb[2] * bb[3]))
  dt = _native.load_results_bytes(gt_native, _dumps(exact), source, num_threads)
  _native.set_detection_areas(dt, areas)
  return dt


def _mapped_results(results: list, ids: NativeIds, source: str) -> list:
  """Result dicts with the ground truth's native image and category ids; an id it does not
  have is an error naming it (as pycocotools' loadRes asserts for images)."""
  out = []
  for n, r in enumerate(results):
    if not isinstance(r, dict) or "image_id" not in r or "category_id" not in r:
      out.append(r)  # the native loader names the problem
      continue
    image, category = r["image_id"], r["category_id"]
    if ids.images.lookup(image) is None:
      raise ValueError(f"{source}: results[{n}]: image_id {image!r} is not in the ground truth")
    if ids.categories.lookup(category) is None:
      raise ValueError(
          f"{source}: results[{n}]: category_id {category!r} is not in the ground truth")
    out.append(
        dict(r, image_id=ids.images.native(image), category_id=ids.categories.native(category)))
  return out
