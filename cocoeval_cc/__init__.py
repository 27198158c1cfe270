"""cocoeval_cc: exact (pycocotools 2.0.11, bit for bit), fast COCO evaluation.

    from cocoeval_cc import COCO, COCOeval      # drop-in for pycocotools
    result = cocoeval_cc.evaluate_files(gt_path, dt_path, "bbox")   # fast path
"""
from cocoeval_cc.coco import COCO
from cocoeval_cc.cocoeval import COCOeval, Params, merge_states
from cocoeval_cc.evaluation import EvaluationResult, evaluate_files

__all__ = ["COCO", "COCOeval", "Params", "merge_states", "EvaluationResult", "evaluate_files"]
