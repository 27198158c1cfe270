r"""The main job: EfficientDet D0-D7 of the TF2 Detection Model Zoo on COCO 2017 val.

  bazel run //eval:all_efficientdet                       # all 8 models, all 5,000 images
  bazel run //eval:all_efficientdet -- --models=d0,d1 --max_images=500 --noclearml

For each model: download the zoo tarball (cached), run it over COCO val2017 (detections cached;
on Ray workers over shards of the images, several models at once when there are the workers,
or with --num_workers=1 in this process), evaluate
(the 12 COCO statistics overall, per category and per object size), and log a ClearML task
named like the model (efficientdet_d0_coco17_tpu-32) with its pipeline.config and metrics. Then
a comparison task (statistics vs the compound scaling factor phi, overall and per category, a
models x statistics table) and a local report, OUT/report/index.html (+ PNG and CSV files).

Output (OUT = --output_dir):
  OUT/<model_name>/  detections.json, metrics.json, per_category.csv, TensorBoard events
                     (//eval:evaluate_model's files) and clearml.json (the task it was logged to)
  OUT/report/        index.html, *.png, *.csv over every finished model, earlier runs included;
                     clearml_comparison.json (the comparison task last logged)

Resuming: a model whose OUT/<model_name>/metrics.json is complete and was made from the same
data (annotations' sha256, --max_images, --area_source) is not run again; its ClearML task is
logged again only if OUT/<model_name>/clearml.json is missing or names other metrics (delete
it to log again). Every file is written atomically and metrics.json last, so an interrupted
run (even killed) picks up where it stopped; detections that were complete are reused too.
--force_inference runs every selected model again.

The machinery is eval/sweep/ (prepared data, the per-model stages, resume and ClearML
records, the summary; main.py: the flags every sweep shares); this file is the EfficientDet
preset. //eval:evaluate_zoo runs any models of the registry the same way.

One model's failure (download, model, evaluation or ClearML) is reported with its error and
traceback, the other models still run, and the exit status is 1. Downloads come from
--zoo_base_url and --coco_base_url (http(s) mirrors or file:///local/copies with the same
layout) into --cache_dir.
"""
from __future__ import annotations

from typing import Sequence

from absl import app
from absl import flags

from configs import model_registry
from eval.sweep import main as sweep_main
from eval.sweep import runner

_ALL_KEYS = [m.key for m in model_registry.efficientdet_models()]

_MODELS = flags.DEFINE_list("models", _ALL_KEYS, "EfficientDet models to run, d0..d7.")
_OUTPUT_DIR = flags.DEFINE_string(
    "output_dir", "~/detector_eval/all_efficientdet",
    "Results: OUT/<model_name>/ per model, OUT/report/index.html. Relative paths resolve "
    "against the directory `bazel run` was started from.")
_CLEARML_PROJECT = flags.DEFINE_string("clearml_project", "all_efficientdet",
                                       "ClearML project of the tasks.")

PROGRAM = "all_efficientdet"
COMPARISON_TASK = "efficientdet_comparison"
PRESET = sweep_main.Preset(program=PROGRAM, comparison_task=COMPARISON_TASK, tags=("efficientdet",),
                           report_title="EfficientDet D0-D7 on COCO: accuracy vs compound scaling",
                           resolve_models=model_registry.efficientdet_models,
                           models_hint="use d0..d7", family=model_registry.efficientdet_models())


def run(argv: Sequence[str], observers: Sequence[runner.StageObserver] = ()) -> None:
  """main() with stage observers (tests inject a kill at a chosen stage here)."""
  sweep_main.main(argv, PRESET, _MODELS.value, _OUTPUT_DIR.value, _CLEARML_PROJECT.value, observers)


def main(argv):
  run(argv)


if __name__ == "__main__":
  app.run(main)
