"""COCO: a dataset or a result set, as pycocotools.coco.COCO presents it.

The native loader parses the file straight into compact arrays; the Python dictionaries that
pycocotools users read (`dataset`, `anns`, `imgs`, `cats`, ...) are built only when first
touched, so evaluation never pays for one Python object per annotation.
"""
from __future__ import annotations

import collections
import copy
import json
import os
from typing import Any, Iterable, Sequence

import numpy as np

from cocoeval_cc import _cocoeval_cc as _native


def _as_list(x) -> list:
  if x is None:
    return []
  if isinstance(x, (list, tuple, np.ndarray)):
    return list(x)
  return [x]


class COCO:
  """Ground truth (from a path or an in-memory dict) or, from loadRes, detections."""

  def __init__(self, annotation_file: str | os.PathLike | dict | None = None, *,
               num_threads: int = 0):
    self.num_threads = num_threads
    self._path: str | None = None
    self._dataset: dict | None = None
    self._index: dict | None = None
    self._gt_native = None  # GroundTruth: images, categories and annotations
    self._dt_native = None  # Detections, for result sets made by loadRes
    self._gt: COCO | None = None
    if annotation_file is None:
      self._dataset = {"images": [], "annotations": [], "categories": []}
      self._gt_native = _native.load_ground_truth_bytes(json.dumps(self._dataset), "<empty>")
    elif isinstance(annotation_file, dict):
      self._dataset = annotation_file
      self._gt_native = _native.load_ground_truth_bytes(json.dumps(annotation_file), "<dict>")
    else:
      self._path = os.fspath(annotation_file)
      self._gt_native = _native.load_ground_truth(self._path)

  # ------------------------------------------------------------------ results
  def loadRes(self, resFile: str | os.PathLike | Sequence[dict] | np.ndarray) -> "COCO":
    """Loads detections for this ground truth (a path, a list of dicts, or an Nx7 array)."""
    res = COCO.__new__(COCO)
    res.num_threads = self.num_threads
    res._path, res._dataset, res._index = None, None, None
    res._gt_native, res._gt = self._gt_native, self
    res._raw_results = None
    if isinstance(resFile, np.ndarray):
      res._dt_native = _native.load_results_array(self._gt_native, np.asarray(resFile, np.float64))
      res._raw_results = resFile
    elif isinstance(resFile, (list, tuple)):
      res._dt_native = _native.load_results_bytes(self._gt_native, json.dumps(list(resFile)),
                                                  "<results list>", self.num_threads)
      res._raw_results = list(resFile)
    else:
      res._path = os.fspath(resFile)
      res._dt_native = _native.load_results(self._gt_native, res._path, self.num_threads)
    return res

  @property
  def is_results(self) -> bool:
    return self._dt_native is not None

  @property
  def native_ground_truth(self) -> "_native.GroundTruth":
    """The loaded ground truth (a result set's is its ground truth's), for the native API."""
    return self._gt_native

  @property
  def native_detections(self) -> "_native.Detections | None":
    """The loaded detections of a result set from loadRes; None for ground truth."""
    return self._dt_native

  # --------------------------------------------------- fast, array-backed ids
  def getImgIds(self, imgIds: Iterable[int] = (), catIds: Iterable[int] = ()) -> list[int]:
    imgIds, catIds = _as_list(imgIds), _as_list(catIds)
    if not imgIds and not catIds:
      return [int(i) for i in self._gt_native.image_ids]
    ids = set(imgIds) if imgIds else set(int(i) for i in self._gt_native.image_ids)
    index = self._build_index()
    for i, cat in enumerate(catIds):
      found = set(index["catToImgs"].get(cat, []))
      ids = found if (i == 0 and not imgIds) else ids & found
    return list(ids)

  def getCatIds(
      self, catNms: Iterable[str] = (), supNms: Iterable[str] = (), catIds: Iterable[int] = ()
  ) -> list[int]:
    catNms, supNms, catIds = _as_list(catNms), _as_list(supNms), _as_list(catIds)
    g = self._gt_native
    ids = []
    for cid, name, sup in zip(g.category_ids, g.category_names, g.category_supercategories):
      if ((not catNms or name in catNms) and (not supNms or sup in supNms)
          and (not catIds or int(cid) in catIds)):
        ids.append(int(cid))
    return ids

  def category_names(self) -> dict[int, str]:
    g = self._gt_native
    return {int(i): n for i, n in zip(g.category_ids, g.category_names)}

  # ------------------------------------------ pycocotools' dictionaries (lazy)
  @property
  def dataset(self) -> dict:
    if self._dataset is None:
      if self.is_results:
        self._dataset = self._results_dataset()
      else:
        with open(self._path) as f:
          self._dataset = json.load(f)
    return self._dataset

  def _results_dataset(self) -> dict:
    """The dataset loadRes builds: the results with id, area, iscrowd (and bbox) filled in."""
    if self._raw_results is None:
      with open(self._path) as f:
        self._raw_results = json.load(f)
    d = self._dt_native
    if isinstance(self._raw_results, np.ndarray):
      anns = [{
          "image_id": int(r[0]), "bbox": [float(v) for v in r[1:5]], "score": float(r[5]),
          "category_id": int(r[6])
      } for r in self._raw_results]
    else:
      anns = copy.deepcopy(self._raw_results)
    for i, (ann, area, box) in enumerate(zip(anns, d.areas, d.boxes)):
      ann.update(id=i + 1, area=float(area), iscrowd=0)
      ann.setdefault("bbox", [float(v) for v in box])
    gt = self._gt.dataset
    return {
        "images": list(gt.get("images", [])), "categories": copy.deepcopy(gt.get("categories", [])),
        "annotations": anns
    }

  def _build_index(self) -> dict:
    if self._index is None:
      anns, imgs, cats = {}, {}, {}
      img_to_anns, cat_to_imgs = collections.defaultdict(list), collections.defaultdict(list)
      for ann in self.dataset.get("annotations", []):
        img_to_anns[ann["image_id"]].append(ann)
        anns[ann["id"]] = ann
        cat_to_imgs[ann["category_id"]].append(ann["image_id"])
      for img in self.dataset.get("images", []):
        imgs[img["id"]] = img
      for cat in self.dataset.get("categories", []):
        cats[cat["id"]] = cat
      self._index = {
          "anns": anns, "imgs": imgs, "cats": cats, "imgToAnns": img_to_anns,
          "catToImgs": cat_to_imgs
      }
    return self._index

  def createIndex(self) -> None:
    self._index = None
    self._build_index()

  anns = property(lambda self: self._build_index()["anns"])
  imgs = property(lambda self: self._build_index()["imgs"])
  cats = property(lambda self: self._build_index()["cats"])
  imgToAnns = property(lambda self: self._build_index()["imgToAnns"])
  catToImgs = property(lambda self: self._build_index()["catToImgs"])

  def getAnnIds(self, imgIds: Iterable[int] = (), catIds: Iterable[int] = (),
                areaRng: Sequence[float] = (), iscrowd: bool | None = None) -> list[int]:
    imgIds, catIds, areaRng = _as_list(imgIds), _as_list(catIds), _as_list(areaRng)
    index = self._build_index()
    if imgIds:
      anns = [a for i in imgIds if i in index["imgToAnns"] for a in index["imgToAnns"][i]]
    else:
      anns = self.dataset.get("annotations", [])
    if catIds:
      anns = [a for a in anns if a["category_id"] in catIds]
    if areaRng:
      anns = [a for a in anns if areaRng[0] < a["area"] < areaRng[1]]
    if iscrowd is not None:
      return [a["id"] for a in anns if a["iscrowd"] == iscrowd]
    return [a["id"] for a in anns]

  def _load(self, table: str, ids) -> list[dict]:
    index = self._build_index()[table]
    if isinstance(ids, (list, tuple, np.ndarray)):
      return [index[i] for i in ids]
    return [index[ids]]

  def loadAnns(self, ids=()) -> list[dict]:
    return self._load("anns", ids)

  def loadCats(self, ids=()) -> list[dict]:
    return self._load("cats", ids)

  def loadImgs(self, ids=()) -> list[dict]:
    return self._load("imgs", ids)

  def annToRLE(self, ann: dict) -> dict:
    img = self.imgs[ann["image_id"]]
    return _native.segmentation_to_rle(json.dumps(ann["segmentation"]), img["height"], img["width"])

  def annToMask(self, ann: dict) -> np.ndarray:
    return _native.mask_decode(self.annToRLE(ann))

  def info(self) -> None:
    for key, value in self.dataset.get("info", {}).items():
      print(f"{key}: {value}")

  def __repr__(self) -> str:
    what = f"{len(self._dt_native)} results" if self.is_results else repr(self._gt_native)
    return f"<cocoeval_cc.COCO {self._path or '(in memory)'}: {what}>"

  def __getstate__(self) -> Any:
    raise TypeError("COCO objects hold native data and are not picklable; pickle the "
                    "evaluation state (COCOeval.evaluate_images) instead")
