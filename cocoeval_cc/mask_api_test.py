"""cocoeval_cc.mask against pycocotools.mask 2.0.11: same values, dtypes, shapes, memory order."""
from absl.testing import absltest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import numpy as np
from pycocotools import mask as pc_mask

from cocoeval_cc import mask as cc_mask

_SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


@st.composite
def masks(draw, max_side=12, max_n=3):
  """(h, w, n) uint8 Fortran-order masks, sparse to dense, with runs."""
  h = draw(st.integers(1, max_side))
  w = draw(st.integers(1, max_side))
  n = draw(st.integers(1, max_n))
  density = draw(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]))
  seed = draw(st.integers(0, 2 ** 31))
  m = (np.random.RandomState(seed).rand(h, w, n) < density).astype(np.uint8)
  return np.asfortranarray(m)


def _coordinate(h_or_w):
  return st.floats(-3.0, h_or_w + 3.0, allow_nan=False).map(lambda v: round(v, 2))


@st.composite
def polygons(draw, h, w):
  k = draw(st.integers(3, 8))
  xy = []
  for _ in range(k):
    xy += [draw(_coordinate(w)), draw(_coordinate(h))]
  return xy


@st.composite
def boxes(draw, h, w):
  return [
      draw(_coordinate(w)),
      draw(_coordinate(h)),
      draw(st.floats(0, w, allow_nan=False)),
      draw(st.floats(0, h, allow_nan=False))
  ]


def _same_array(test, ours, theirs):
  test.assertIsInstance(ours, np.ndarray)
  test.assertEqual(ours.dtype, theirs.dtype)
  test.assertEqual(ours.shape, theirs.shape)
  test.assertEqual(ours.flags.f_contiguous, theirs.flags.f_contiguous)
  test.assertEqual(ours.flags.c_contiguous, theirs.flags.c_contiguous)
  np.testing.assert_array_equal(ours, theirs)
  test.assertEqual(ours.tobytes("A"), theirs.tobytes("A"))


class MaskApiTest(absltest.TestCase):

  @_SETTINGS
  @given(masks())
  def test_encode_decode_area_tobbox(self, m):
    ours, theirs = cc_mask.encode(m), pc_mask.encode(m)
    self.assertEqual(ours, theirs)
    self.assertIsInstance(ours[0]["counts"], bytes)
    one, one_ref = cc_mask.encode(np.asfortranarray(m[:, :, 0])), pc_mask.encode(
        np.asfortranarray(m[:, :, 0]))
    self.assertEqual(one, one_ref)
    _same_array(self, cc_mask.decode(theirs), pc_mask.decode(theirs))
    _same_array(self, cc_mask.decode(one_ref), pc_mask.decode(one_ref))
    _same_array(self, cc_mask.area(theirs), pc_mask.area(theirs))
    a, a_ref = cc_mask.area(one_ref), pc_mask.area(one_ref)
    self.assertEqual(type(a), type(a_ref))
    self.assertEqual(a, a_ref)
    _same_array(self, cc_mask.toBbox(theirs), pc_mask.toBbox(theirs))
    _same_array(self, cc_mask.toBbox(one_ref), pc_mask.toBbox(one_ref))
    # str counts (as JSON gives them) read the same.
    as_str = [{"size": r["size"], "counts": r["counts"].decode()} for r in theirs]
    _same_array(self, cc_mask.decode(as_str), pc_mask.decode(as_str))
    self.assertEqual(cc_mask.merge(as_str), pc_mask.merge(as_str))

  @_SETTINGS
  @given(masks(max_n=4), st.booleans())
  def test_merge_and_iou_of_rles(self, m, intersect):
    rles = pc_mask.encode(m)
    self.assertEqual(cc_mask.merge(rles, intersect), pc_mask.merge(rles, intersect))
    self.assertEqual(cc_mask.merge(rles), pc_mask.merge(rles))
    crowd = [i % 2 for i in range(len(rles))]
    _same_array(self, cc_mask.iou(rles, rles[::-1], crowd), pc_mask.iou(rles, rles[::-1], crowd))
    _same_array(self, cc_mask.iou(rles[:1], rles, crowd), pc_mask.iou(rles[:1], rles, crowd))

  @_SETTINGS
  @given(st.data())
  def test_polygons_and_boxes(self, data):
    h, w = data.draw(st.integers(1, 40)), data.draw(st.integers(1, 40))
    polys = data.draw(st.lists(polygons(h, w), min_size=1, max_size=3))
    ours, theirs = cc_mask.frPyObjects(polys, h, w), pc_mask.frPyObjects(polys, h, w)
    self.assertEqual(ours, theirs)
    self.assertEqual(cc_mask.merge(ours), pc_mask.merge(theirs))
    bbs = np.array(data.draw(st.lists(boxes(h, w), min_size=1, max_size=4)), dtype=np.float64)
    self.assertEqual(cc_mask.frPyObjects(bbs, h, w), pc_mask.frPyObjects(bbs, h, w))
    # Lists of boxes: pycocotools 2.0.11 only takes an ndarray; the answer is the ndarray's.
    self.assertEqual(cc_mask.frPyObjects(bbs.tolist(), h, w), pc_mask.frPyObjects(bbs, h, w))
    self.assertEqual(cc_mask.frPyObjects(bbs[0].tolist(), h, w),
                     pc_mask.frPyObjects(bbs[:1], h, w)[0])
    self.assertEqual(cc_mask.frPyObjects(polys[0], h, w), pc_mask.frPyObjects(polys[:1], h, w)[0])
    gt = bbs[::-1].copy()
    crowd = np.arange(len(gt)) % 2
    _same_array(self, cc_mask.iou(bbs, gt, crowd), pc_mask.iou(bbs, gt, crowd))
    _same_array(self, cc_mask.iou(bbs.tolist(), gt.tolist(), crowd.tolist()),
                pc_mask.iou(bbs.tolist(), gt.tolist(), crowd.tolist()))
    rles = pc_mask.frPyObjects(bbs, h, w) + theirs
    crowd = [1] * len(rles)
    _same_array(self, cc_mask.iou(theirs, rles, crowd), pc_mask.iou(theirs, rles, crowd))

  @_SETTINGS
  @given(masks(max_n=2))
  def test_uncompressed_rle(self, m):
    uncompressed = []
    for i in range(m.shape[2]):
      flat = m[:, :, i].ravel(order="F")
      edges = np.flatnonzero(np.diff(flat)) + 1
      counts = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
      if flat[0]:
        counts = [0] + counts
      uncompressed.append({"size": list(m.shape[:2]), "counts": counts})
    h, w = m.shape[:2]
    self.assertEqual(cc_mask.frPyObjects(uncompressed, h, w),
                     pc_mask.frPyObjects(uncompressed, h, w))
    self.assertEqual(cc_mask.frPyObjects(uncompressed[0], h, w),
                     pc_mask.frPyObjects(uncompressed[0], h, w))
    self.assertEqual(cc_mask.frPyObjects(uncompressed, h, w), pc_mask.encode(m))

  def test_shapes_and_empty_inputs(self):
    m = np.asfortranarray(np.eye(4, 5, dtype=np.uint8))
    self.assertEqual(cc_mask.encode(m.astype(bool)), pc_mask.encode(m.astype(bool)))
    self.assertEqual(cc_mask.encode(np.zeros((0, 3), np.uint8, order="F")),
                     pc_mask.encode(np.zeros((0, 3), np.uint8, order="F")))
    self.assertEqual(cc_mask.encode(np.zeros((3, 3, 0), np.uint8, order="F")), [])
    self.assertIsNone(cc_mask.encode(np.zeros(4, np.uint8)))
    _same_array(self, cc_mask.area([]), pc_mask.area([]))
    _same_array(self, cc_mask.toBbox([]), pc_mask.toBbox([]))
    self.assertEqual(cc_mask.iou([], [[1, 1, 2, 2]], [0]), [])
    self.assertEqual(cc_mask.iou([[1, 1, 2, 2]], [], []), [])
    self.assertEqual(cc_mask.merge([]), pc_mask.merge([]))
    a, b = {"size": [2, 2], "counts": b"13"}, {"size": [3, 2], "counts": b"6"}
    self.assertEqual(cc_mask.merge([a, b]), pc_mask.merge([a, b]))
    r = pc_mask.encode(m)
    _same_array(self, cc_mask.iou([r], [{"size": [2, 2], "counts": b"13"}], [0]),
                pc_mask.iou([r], [{"size": [2, 2], "counts": b"13"}], [0]))

  def test_errors_where_pycocotools_raises(self):
    m = np.eye(4, 5, dtype=np.uint8)
    with self.assertRaisesRegex(ValueError, "Fortran"):
      cc_mask.encode(np.ascontiguousarray(m))
    with self.assertRaisesRegex(ValueError, "dtype"):
      cc_mask.encode(np.asfortranarray(m.astype(np.int32)))
    with self.assertRaisesRegex(AssertionError, "same length"):
      cc_mask.iou([[0, 0, 1, 1]], [[0, 0, 1, 1]], [0, 1])
    with self.assertRaisesRegex(Exception, "same data type"):
      cc_mask.iou(np.zeros((1, 4)), [pc_mask.encode(np.asfortranarray(m))], [0])
    with self.assertRaisesRegex(ValueError, "sum"):
      cc_mask.decode({"size": [2, 2], "counts": b"5"})  # past h*w: pycocotools raises too


if __name__ == "__main__":
  absltest.main()
