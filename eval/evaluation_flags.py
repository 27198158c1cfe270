"""The evaluation flags //eval:evaluate_model and the sweep binaries share (defined on import).

  from eval import evaluation_flags
  options = model_evaluation.EvaluationOptions(..., **evaluation_flags.shared_options())

Each binary adds its own inputs and outputs; the executor's flags are eval/distributed/flags.py.
"""
from __future__ import annotations

from absl import flags

from eval import model_evaluation

MAX_IMAGES = flags.DEFINE_integer(
    "max_images", None, "Evaluate only the first N images of the data (default: all of them; "
    "the sweeps: COCO val2017's 5,000).", lower_bound=1)
FORCE_INFERENCE = flags.DEFINE_bool(
    "force_inference", False, "Run the model(s) again, even if OUT holds their detections or "
    "complete results.")
AREA_SOURCE = flags.DEFINE_enum("area_source", "annotation", list(model_evaluation.AREA_SOURCES),
                                model_evaluation.AREA_SOURCE_HELP)
NUM_THREADS = flags.DEFINE_integer("num_threads", 0, "Evaluation threads; 0 uses every core.")
ANALYSIS = flags.DEFINE_bool(
    "analysis", True, "Write each model's error analysis (TIDE errors, F1 thresholds, "
    "confusion, calibration, PR curves, worst images, slices) to its analysis/ folder (OUT/"
    "analysis/, or OUT/<model_name>/analysis/ in a sweep) and, in a sweep, to ClearML.")


def shared_options() -> dict:
  """model_evaluation.EvaluationOptions' fields these flags set (after absl parsed them)."""
  return {
      "max_images": MAX_IMAGES.value, "force_inference": FORCE_INFERENCE.value,
      "area_source": AREA_SOURCE.value, "num_threads": NUM_THREADS.value, "analysis": ANALYSIS.value
  }
