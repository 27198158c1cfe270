"""Sharded evaluation and threading never change results, and bad states fail cleanly.

Evaluating disjoint image shards (`evaluate_images`), pickling the states, merging them in any
order (`merge_states`) and accumulating (`set_state`) must give exactly what one `evaluate()` gives,
and so must every `num_threads`. Merging incompatible states, or decoding malformed state bytes,
must raise ValueError and never crash the process.
"""
import copy
import os
import pickle

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

import cocoeval_cc
from cocoeval_cc import _cocoeval_cc as native

_FIXTURES = os.path.join(os.path.dirname(__file__), "..", "third_party", "coco_fixtures")
_GT = os.path.join(_FIXTURES, "instances_val2014_100.json")
_RESULTS = {
    "bbox": os.path.join(_FIXTURES, "instances_val2014_fakebbox100_results.json"),
    "segm": os.path.join(_FIXTURES, "instances_val2014_fakesegm100_results.json")
}
_SEEDS = range(30)


def _mask_rle(rng, h, w):
  """A random compressed RLE (str counts) of a rectangle with noise, via our own encoder."""
  m = np.zeros((h, w), np.uint8)
  y0, x0 = rng.integers(0, h), rng.integers(0, w)
  m[y0:y0 + rng.integers(1, h + 1), x0:x0 + rng.integers(1, w + 1)] = 1
  m[rng.integers(0, h, 3), rng.integers(0, w, 3)] ^= 1
  rle = native.mask_encode(np.asfortranarray(m))
  return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def random_problem(seed, segm=False):
  """A random (gt dict, results list): ties, crowds, huge ids, empty images and categories."""
  rng = np.random.default_rng(seed)
  base = int(rng.choice([1, 2 ** 33, 2 ** 45]))
  n_img, n_cat = int(rng.integers(3, 13)), int(rng.integers(1, 5))
  images = [{
      "id": base + 3 * i, "width": int(rng.integers(8, 40)), "height": int(rng.integers(8, 40))
  } for i in range(n_img)]
  categories = [{"id": base + 7 * k, "name": f"c{k}"} for k in range(n_cat)]
  anns, results = [], []
  for img in images:
    w, h = img["width"], img["height"]
    boxes = []
    for _ in range(int(rng.integers(0, 6))):
      box = [
          float(rng.integers(-3, w)),
          float(rng.integers(-3, h)),
          float(rng.integers(0, w)),
          float(rng.integers(0, h))
      ]
      crowd = int(rng.random() < 0.15)
      area = float(rng.choice([box[2] * box[3], 1024.0, 9216.0, rng.random() * 3000]))
      ann = {
          "id": base + len(anns) + 1, "image_id": img["id"],
          "category_id": categories[int(rng.integers(n_cat))]
                         ["id"], "bbox": box, "area": area, "iscrowd": crowd
      }
      if segm:
        ann["segmentation"] = (
            [[box[0], box[1], box[0] + box[2], box[1], box[0], box[1] + box[3]
              + 1]] if not crowd else _mask_rle(rng, h, w))
      anns.append(ann)
      boxes.append(box)
    for _ in range(int(rng.integers(0, 15))):
      if boxes and rng.random() < 0.6:
        box = list(boxes[int(rng.integers(len(boxes)))])
        box[0] += float(rng.choice([0, 0, 1, -1]))
      else:
        box = [
            float(rng.integers(0, w)),
            float(rng.integers(0, h)),
            float(rng.integers(1, w)),
            float(rng.integers(1, h))
        ]
      r = {
          "image_id": img["id"], "category_id": categories[int(rng.integers(n_cat))]["id"],
          "score": float(rng.choice([0.1, 0.5, 0.5, 0.9, rng.random()])), "bbox": box
      }
      if segm:
        r["segmentation"] = _mask_rle(rng, h, w)
        if rng.random() < 0.5:
          del r["bbox"]
      results.append(r)
  if not results:
    r = {
        "image_id": images[0]["id"], "category_id": categories[0]["id"], "score": 0.5,
        "bbox": [1.0, 1.0, 4.0, 4.0]
    }
    if segm:
      r["segmentation"] = _mask_rle(rng, images[0]["height"], images[0]["width"])
    results.append(r)
  if segm:
    results[0].pop("bbox", None)  # segm-mode loadRes
  gt = {"images": images, "categories": categories, "annotations": anns}
  return gt, results


def random_params(seed, gt):
  rng = np.random.default_rng(seed + 1000)
  p = {}
  if rng.random() < 0.4:
    p["iouThrs"] = np.sort(
        rng.choice(np.linspace(.5, 0.95, 10), int(rng.integers(1, 11)), replace=False))
  if rng.random() < 0.4:
    p["maxDets"] = [[1, 3], [2, 5, 20], [1]][int(rng.integers(3))]
  if rng.random() < 0.3:
    p["areaRng"], p["areaRngLbl"] = [[0, 1e10], [0, 100], [100, 1e10]], ["all", "s", "l"]
  if rng.random() < 0.3:
    p["useCats"] = 0
  return p


def _evaluator(gt, dt, iou_type, p, num_threads=0):
  e = cocoeval_cc.COCOeval(gt, dt, iou_type, num_threads=num_threads)
  for key, value in p.items():
    setattr(e.params, key, copy.deepcopy(value))
  return e


def _finish(e):
  e.accumulate()
  e.summarize(verbose=False)
  return e


def _single(gt, dt, iou_type, p, num_threads=0):
  e = _evaluator(gt, dt, iou_type, p, num_threads)
  e.evaluate()
  return _finish(e)


def _sharded(gt, dt, iou_type, p, rng, num_shards):
  """Shards the images at random, pickles each state, merges in random order, accumulates."""
  img_ids = list(_evaluator(gt, dt, iou_type, p).params.imgIds)
  assignment = rng.integers(0, num_shards, len(img_ids))
  blobs = []
  for shard in range(num_shards):
    ids = [i for i, a in zip(img_ids, assignment) if a == shard]
    worker = _evaluator(gt, dt, iou_type, p)  # a fresh evaluator, as in another process
    blobs.append(pickle.dumps(worker.evaluate_images(ids)))
  states = [pickle.loads(b) for b in blobs]
  states = [states[i] for i in rng.permutation(len(states))]
  merged = cocoeval_cc.merge_states(states)
  e = _evaluator(gt, dt, iou_type, p)
  e.set_state(pickle.loads(pickle.dumps(merged)))
  return _finish(e)


class ShardingTest(parameterized.TestCase):

  def assert_same(self, a, b):
    for key in ("precision", "recall", "scores"):
      self.assertEqual(a.eval[key].shape, b.eval[key].shape, key)
      np.testing.assert_array_equal(a.eval[key], b.eval[key], err_msg=key)
    np.testing.assert_array_equal(a.stats, b.stats, err_msg="stats")
    np.testing.assert_array_equal(a.category_stats, b.category_stats, err_msg="category_stats")

  @parameterized.parameters("bbox", "segm")
  def test_sharded_and_merged_equals_single_run(self, iou_type):
    """1..4 random shards, pickled and merged in random order, equal one evaluate()."""
    for seed in _SEEDS:
      gt_dict, results = random_problem(seed, segm=iou_type == "segm")
      p = random_params(seed, gt_dict)
      gt = cocoeval_cc.COCO(gt_dict)
      dt = gt.loadRes(results)
      single = _single(gt, dt, iou_type, p)
      rng = np.random.default_rng(seed)
      for num_shards in (1, 2, 3, 4):
        with self.subTest(seed=seed, shards=num_shards):
          self.assert_same(_sharded(gt, dt, iou_type, p, rng, num_shards), single)

  @parameterized.parameters("bbox", "segm")
  def test_thread_count_does_not_matter(self, iou_type):
    """num_threads 1, 2, 3 and 8 give bit-identical arrays and stats."""
    for seed in _SEEDS:
      gt_dict, results = random_problem(seed, segm=iou_type == "segm")
      p = random_params(seed, gt_dict)
      gt = cocoeval_cc.COCO(gt_dict)
      dt = gt.loadRes(results)
      one = _single(gt, dt, iou_type, p, num_threads=1)
      for n in (2, 3, 8):
        with self.subTest(seed=seed, num_threads=n):
          self.assert_same(_single(gt, dt, iou_type, p, num_threads=n), one)

  @parameterized.parameters("bbox", "segm")
  def test_fixture_sharded_and_threaded_equal_single_run(self, iou_type):
    """On the real val2014 fixture: shards (any order) and thread counts change nothing."""
    gt = cocoeval_cc.COCO(_GT)
    dt = gt.loadRes(_RESULTS[iou_type])
    single = _single(gt, dt, iou_type, {}, num_threads=1)
    rng = np.random.default_rng(7)
    for num_shards in (2, 4):
      with self.subTest(shards=num_shards):
        self.assert_same(_sharded(gt, dt, iou_type, {}, rng, num_shards), single)
    for n in (2, 3, 8):
      with self.subTest(num_threads=n):
        self.assert_same(_single(gt, dt, iou_type, {}, num_threads=n), single)
    # Loading with several threads must not change anything either.
    gt8 = cocoeval_cc.COCO(_GT, num_threads=8)
    self.assert_same(_single(gt8, gt8.loadRes(_RESULTS[iou_type]), iou_type, {}, num_threads=8),
                     single)

  def _fixture_state(self, p=None, ids=None, iou_type="bbox"):
    gt = cocoeval_cc.COCO(_GT)
    dt = gt.loadRes(_RESULTS[iou_type])
    e = _evaluator(gt, dt, iou_type, p or {})
    return e.evaluate_images(ids if ids is not None else e.params.imgIds[:40])

  @parameterized.named_parameters(
      ("iou_thrs", {"iouThrs": np.array([0.5, 0.75])}),
      ("area_rng", {"areaRng": [[0, 1e10], [0, 50]], "areaRngLbl": ["all", "tiny"]}),
      ("max_dets", {"maxDets": [1, 10, 50]}),
      ("use_cats", {"useCats": 0}),
      ("cat_ids", {"catIds": [1, 2, 3]}),
  )
  def test_merging_states_with_different_params_raises(self, p):
    """States computed with different parameters cannot be merged or adopted."""
    gt = cocoeval_cc.COCO(_GT)
    ids = sorted(gt.getImgIds())
    base = self._fixture_state(ids=ids[:50])
    other = self._fixture_state(p, ids=ids[50:])
    with self.assertRaisesRegex(ValueError, "different parameters"):
      cocoeval_cc.merge_states([base, other])
    with self.assertRaisesRegex(ValueError, "different parameters"):
      cocoeval_cc.merge_states([other, base])
    e = _evaluator(gt, gt.loadRes(_RESULTS["bbox"]), "bbox", {})
    with self.assertRaisesRegex(ValueError, "different parameters"):
      e.set_state(other)

  def test_merging_states_with_different_iou_type_raises(self):
    gt = cocoeval_cc.COCO(_GT)
    ids = sorted(gt.getImgIds())
    bbox = self._fixture_state(ids=ids[:50])
    segm = self._fixture_state(ids=ids[50:], iou_type="segm")
    with self.assertRaisesRegex(ValueError, "different parameters"):
      cocoeval_cc.merge_states([bbox, segm])

  def test_merging_use_cats_0_states_with_different_cat_ids_raises(self):
    """Without useCats the pooled categories are a parameter too: [1, 2] and [1] must not merge."""
    gt = cocoeval_cc.COCO(_GT)
    ids = sorted(gt.getImgIds())
    a = self._fixture_state({"useCats": 0, "catIds": [1, 2]}, ids=ids[:50])
    b = self._fixture_state({"useCats": 0, "catIds": [1]}, ids=ids[50:])
    with self.subTest("merge_states"):
      with self.assertRaisesRegex(ValueError, "different parameters"):
        cocoeval_cc.merge_states([a, b])
    with self.subTest("set_state"):
      e = _evaluator(gt, gt.loadRes(_RESULTS["bbox"]), "bbox", {"useCats": 0, "catIds": [1, 2]})
      with self.assertRaisesRegex(ValueError, "different parameters"):
        e.set_state(b)

  def test_overlapping_shards_raise(self):
    gt = cocoeval_cc.COCO(_GT)
    ids = sorted(gt.getImgIds())
    a = self._fixture_state(ids=ids[:60])
    b = self._fixture_state(ids=ids[50:])
    with self.assertRaisesRegex(ValueError, "more than one state"):
      cocoeval_cc.merge_states([a, b])
    with self.assertRaisesRegex(ValueError, "no evaluation states"):
      cocoeval_cc.merge_states([])

  def test_state_round_trips_through_bytes(self):
    state = self._fixture_state()
    blob = state.to_bytes()
    again = native.EvalState.from_bytes(blob)
    self.assertEqual(again.to_bytes(), blob)
    self.assertEqual(pickle.loads(pickle.dumps(state)).to_bytes(), blob)
    self.assertEqual(again.num_groups, state.num_groups)
    self.assertGreater(state.num_detections, 0)

  @parameterized.parameters(b"garbage", b"", b"CCEVST01", b"CCEVST02" + b"\0" * 64,
                            b"CCEVST01" + b"\xff" * 64)
  def test_malformed_state_bytes_raise(self, blob):
    with self.assertRaisesRegex(ValueError, "evaluation state"):
      native.EvalState.from_bytes(blob)

  def test_bad_pickle_raises(self):
    """Unpickling a state whose payload was truncated raises ValueError."""
    state = self._fixture_state()
    payload = state.to_bytes()
    blob = pickle.dumps(state, protocol=3)  # unframed: BINBYTES, 4-byte length, data
    opcode = b"B" + len(payload).to_bytes(4, "little") + payload
    self.assertIn(opcode, blob)
    half = payload[:len(payload) // 2]
    bad = blob.replace(opcode, b"B" + len(half).to_bytes(4, "little") + half)
    with self.assertRaisesRegex(ValueError, "evaluation state"):
      pickle.loads(bad)

  def _use_if_valid(self, blob, gt, dt):
    """from_bytes either raises ValueError or gives a state that accumulates without crashing."""
    try:
      state = native.EvalState.from_bytes(blob)
    except ValueError as err:
      self.assertIn("evaluation state", str(err))
      return False
    e = _evaluator(gt, dt, "bbox", {})
    try:
      e.set_state(state)
    except ValueError:
      return True
    _finish(e)
    self.assertEqual(e.eval["precision"].shape[2], len(e.params.catIds))
    return True

  def test_truncated_states_raise(self):
    """Every truncation of a real state raises ValueError."""
    gt = cocoeval_cc.COCO(_GT)
    blob = self._fixture_state(ids=sorted(gt.getImgIds())[:8]).to_bytes()
    for n in range(len(blob)):
      with self.assertRaises(ValueError, msg=f"truncated to {n} of {len(blob)} bytes"):
        native.EvalState.from_bytes(blob[:n])
    with self.assertRaises(ValueError):
      native.EvalState.from_bytes(blob + b"\0")

  def test_bit_flipped_states_never_crash(self):
    """400 random single-bit (and byte) corruptions: ValueError or a usable state, never a crash."""
    gt = cocoeval_cc.COCO(_GT)
    dt = gt.loadRes(_RESULTS["bbox"])
    blob = bytearray(self._fixture_state(ids=sorted(gt.getImgIds())[:30]).to_bytes())
    rng = np.random.default_rng(1234)
    rejected = 0
    for i in range(400):
      corrupt = bytearray(blob)
      pos = int(rng.integers(len(corrupt)))
      if i % 2:
        corrupt[pos] ^= 1 << int(rng.integers(8))
      else:
        corrupt[pos] = int(rng.integers(256))
      rejected += not self._use_if_valid(bytes(corrupt), gt, dt)
    self.assertGreater(rejected, 0)

  def test_header_corruptions_never_crash(self):
    """Corrupting each byte of the header and of the vector lengths raises or stays usable."""
    gt = cocoeval_cc.COCO(_GT)
    dt = gt.loadRes(_RESULTS["bbox"])
    blob = bytearray(self._fixture_state(ids=sorted(gt.getImgIds())[:3]).to_bytes())
    for pos in range(min(len(blob), 400)):
      for value in (0x00, 0x01, 0x7f, 0x80, 0xff):
        corrupt = bytearray(blob)
        if corrupt[pos] == value:
          continue
        corrupt[pos] = value
        self._use_if_valid(bytes(corrupt), gt, dt)

  def test_nan_scores_in_state_never_crash(self):
    """A state with scores corrupted to NaN / inf is rejected or accumulates without crashing."""
    gt = cocoeval_cc.COCO(_GT)
    dt = gt.loadRes(_RESULTS["bbox"])
    state = self._fixture_state(ids=sorted(gt.getImgIds())[:30])
    blob = bytearray(state.to_bytes())
    n = state.num_detections
    # The score vector is preceded by its 8-byte length; find it by the first score's bytes.
    first = None
    for off in range(8, len(blob) - 8 * n):
      if int.from_bytes(blob[off - 8:off], "little") == n:
        values = np.frombuffer(bytes(blob[off:off + 8 * n]), np.float64)
        if np.all((values >= 0) & (values <= 1)):
          first = off
          break
    self.assertIsNotNone(first)
    rng = np.random.default_rng(5)
    for bad in (np.nan, np.inf, -np.inf, -1.0):
      corrupt = bytearray(blob)
      for idx in rng.choice(n, min(n, 40), replace=False):
        corrupt[first + 8 * idx:first + 8 * idx + 8] = np.float64(bad).tobytes()
      self._use_if_valid(bytes(corrupt), gt, dt)


if __name__ == "__main__":
  absltest.main()
