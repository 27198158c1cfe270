"""cocoeval_cc: exact (pycocotools 2.0.11, bit for bit), fast COCO evaluation.

    from cocoeval_cc import COCO, COCOeval      # drop-in for pycocotools
    from cocoeval_cc import mask                # drop-in for pycocotools.mask
    cocoeval_cc.install_as_pycocotools()        # for code that imports pycocotools itself
    result = cocoeval_cc.evaluate_files(gt_path, dt_path, "bbox")   # fast path
    cocoeval_cc.compare(eval_a, eval_b, n_bootstrap=1000)            # paired bootstrap of b - a
"""
import sys
import types

from cocoeval_cc import mask
from cocoeval_cc.coco import COCO
from cocoeval_cc.cocoeval import COCOeval, Params, merge_states
from cocoeval_cc.comparison import compare
from cocoeval_cc.evaluation import EvaluationResult, evaluate_files


def install_as_pycocotools() -> types.ModuleType:
  """Makes `import pycocotools...` give cocoeval_cc, for code you cannot edit.

  Registers in sys.modules a package `pycocotools` whose submodules `pycocotools.coco`,
  `pycocotools.cocoeval` and `pycocotools.mask` are cocoeval_cc.coco, cocoeval_cc.cocoeval and
  cocoeval_cc.mask: afterwards `from pycocotools.coco import COCO`, `from pycocotools.cocoeval
  import COCOeval` and `from pycocotools import mask` (in any module, in this process) give
  cocoeval_cc's classes and functions. Call it before that code is imported: modules that
  already imported the real pycocotools keep what they bound. Replaces an installed
  pycocotools in sys.modules for this process only (nothing on disk changes); calling it twice
  is harmless. Returns the `pycocotools` module it registered.
  """
  from cocoeval_cc import coco as coco_module
  from cocoeval_cc import cocoeval as cocoeval_module
  package = types.ModuleType(
      "pycocotools", "cocoeval_cc standing in for pycocotools "
      "(cocoeval_cc.install_as_pycocotools)")
  package.__path__ = []  # a package: its submodules come from sys.modules
  package.__package__ = "pycocotools"
  package.coco, package.cocoeval, package.mask = coco_module, cocoeval_module, mask
  sys.modules["pycocotools"] = package
  sys.modules["pycocotools.coco"] = coco_module
  sys.modules["pycocotools.cocoeval"] = cocoeval_module
  sys.modules["pycocotools.mask"] = mask
  return package


__all__ = [
    "COCO", "COCOeval", "Params", "merge_states", "EvaluationResult", "evaluate_files", "mask",
    "install_as_pycocotools", "compare"
]
