"""install_as_pycocotools(): pycocotools imports resolve to cocoeval_cc (in a fresh interpreter)."""
import os
import subprocess
import sys
import textwrap

from absl.testing import absltest

_FIXTURES = os.path.join(os.path.dirname(__file__), "..", "third_party", "coco_fixtures")

_SCRIPT = textwrap.dedent("""
    import sys
    import cocoeval_cc
    cocoeval_cc.install_as_pycocotools()

    import pycocotools.coco
    import pycocotools.cocoeval
    import pycocotools.mask
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval, Params
    from pycocotools import mask as mask_utils
    import pycocotools.mask as mask2

    assert COCO is cocoeval_cc.COCO, COCO
    assert COCOeval is cocoeval_cc.COCOeval
    assert Params is cocoeval_cc.Params
    assert mask_utils is cocoeval_cc.mask and mask2 is cocoeval_cc.mask
    assert pycocotools.coco.COCO is cocoeval_cc.COCO
    assert pycocotools.cocoeval.COCOeval is cocoeval_cc.COCOeval
    assert pycocotools.mask.encode is cocoeval_cc.mask.encode
    cocoeval_cc.install_as_pycocotools()  # twice: harmless
    from pycocotools.coco import COCO as again
    assert again is cocoeval_cc.COCO

    gt = COCO(sys.argv[1])
    dt = gt.loadRes(sys.argv[2])
    e = COCOeval(gt, dt, "bbox")
    e.evaluate(); e.accumulate(); e.summarize()
    print("AP=%r" % e.stats[0])
""")


class InstallAsPycocotoolsTest(absltest.TestCase):

  def test_imports_resolve_to_cocoeval_cc(self):
    gt = os.path.join(_FIXTURES, "instances_val2014_100.json")
    dt = os.path.join(_FIXTURES, "instances_val2014_fakebbox100_results.json")
    out = subprocess.run([sys.executable, "-c", _SCRIPT, gt, dt], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)), check=False)
    self.assertEqual(out.returncode, 0, out.stderr)
    self.assertIn("AP=", out.stdout)
    self.assertNotIn("loading annotations into memory", out.stdout)  # pycocotools' message


if __name__ == "__main__":
  absltest.main()
