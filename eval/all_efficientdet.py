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
records, the summary); this file holds the flags and the EfficientDet preset.

One model's failure (download, model, evaluation or ClearML) is reported with its error and
traceback, the other models still run, and the exit status is 1. Downloads come from
--zoo_base_url and --coco_base_url (http(s) mirrors or file:///local/copies with the same
layout) into --cache_dir.
"""
from __future__ import annotations

import contextlib
import sys
import traceback
from typing import Sequence

from absl import app
from absl import flags
from absl import logging

from configs import model_registry
from eval import model_evaluation
from eval import output_lock
from eval import user_paths
from eval.download import cache as cache_lib
from eval.distributed import flags as distributed_flags
from eval.download import http_fetch
from eval.sweep import data as data_lib
from eval.sweep import runner
from eval.sweep import summary
from eval.tracking import clearml_session

_ALL_KEYS = [m.key for m in model_registry.efficientdet_models()]

_MODELS = flags.DEFINE_list("models", _ALL_KEYS, "EfficientDet models to run, d0..d7.")
_OUTPUT_DIR = flags.DEFINE_string(
    "output_dir", "~/detector_eval/all_efficientdet",
    "Results: OUT/<model_name>/ per model, OUT/report/index.html. Relative paths resolve "
    "against the directory `bazel run` was started from.")
_CACHE_DIR = flags.DEFINE_string(
    "cache_dir", None, "Downloads (tarballs, COCO zips) and their extracted contents; default "
    f"{cache_lib.default_cache_dir()} ($XDG_CACHE_HOME/detector_eval or "
    "~/.cache/detector_eval).")
_MAX_IMAGES = flags.DEFINE_integer(
    "max_images", None, "Evaluate only the first N val2017 images (default: all 5,000).",
    lower_bound=1)
_ZOO_BASE_URL = flags.DEFINE_string(
    "zoo_base_url", model_registry.ZOO_BASE_URL,
    "The TF2 zoo's tf2/ folder, or a mirror with its layout (<base>/20200711/"
    "efficientdet_d0_coco17_tpu-32.tar.gz); file:///dir works.")
_COCO_BASE_URL = flags.DEFINE_string(
    "coco_base_url", model_registry.COCO_BASE_URL,
    "COCO's download site, or a mirror with its layout (<base>/zips/val2017.zip, "
    "<base>/annotations/annotations_trainval2017.zip); file:///dir works.")
_CLEARML_PROJECT = flags.DEFINE_string("clearml_project", "all_efficientdet",
                                       "ClearML project of the tasks.")
_CLEARML = flags.DEFINE_bool(
    "clearml", True, "Log to ClearML (offline sessions unless a server is configured; see "
    "--clearml_mode). --noclearml skips ClearML entirely.")
_FORCE_INFERENCE = flags.DEFINE_bool(
    "force_inference", False, "Run every selected model again, even if OUT holds its "
    "complete results or its detections.")
_AREA_SOURCE = flags.DEFINE_enum("area_source", "annotation", list(model_evaluation.AREA_SOURCES),
                                 model_evaluation.AREA_SOURCE_HELP)
_NUM_THREADS = flags.DEFINE_integer("num_threads", 0, "Evaluation threads; 0 uses every core.")
_DOWNLOAD_TIMEOUT = flags.DEFINE_float(
    "download_timeout", 30.0, "Seconds a download may wait for a connection or for any "
    "single read (a stalled server) before the attempt is retried.", lower_bound=0.1)
_DOWNLOAD_RETRIES = flags.DEFINE_integer("download_retries", 4,
                                         "Retries of a failed download (with backoff, resuming).",
                                         lower_bound=0)

PROGRAM = "all_efficientdet"
COMPARISON_TASK = "efficientdet_comparison"


def _settings(out_dir: str) -> runner.SweepSettings:
  settings = model_registry.EVAL_SETTINGS
  return runner.SweepSettings(
      out_dir=out_dir, zoo_base_url=_ZOO_BASE_URL.value, coco_base_url=_COCO_BASE_URL.value,
      options=model_evaluation.EvaluationOptions(
          metrics_set=list(settings.metrics_set), max_images=_MAX_IMAGES.value,
          force_inference=_FORCE_INFERENCE.value, area_source=_AREA_SOURCE.value,
          include_per_category=settings.include_metrics_per_category,
          all_per_category=settings.all_metrics_per_category, num_threads=_NUM_THREADS.value),
      project=_CLEARML_PROJECT.value, comparison_task=COMPARISON_TASK, tags=("efficientdet",),
      program=PROGRAM)


def run(argv: Sequence[str], observers: Sequence[runner.StageObserver] = ()) -> None:
  """main() with stage observers (tests inject a kill at a chosen stage here)."""
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  try:
    entries = model_registry.efficientdet_models(_MODELS.value)
  except KeyError as e:
    raise app.UsageError(str(e.args[0])) from None
  if not entries:
    raise app.UsageError("--models names no model; use d0..d7")
  with contextlib.ExitStack() as held:
    try:
      out_dir = user_paths.output_dir(_OUTPUT_DIR.value)
      held.enter_context(output_lock.hold(out_dir, PROGRAM))  # until the sweep ends
    except (ValueError, output_lock.OutputLockedError) as e:
      sys.exit(f"{PROGRAM}: {e}")
    _run_sweep(entries, out_dir, observers)


def _run_sweep(entries, out_dir: str, observers: Sequence[runner.StageObserver]) -> None:
  cache_dir = user_paths.resolve(_CACHE_DIR.value) if _CACHE_DIR.value else None
  cache = cache_lib.DownloadCache(cache_dir, timeout=_DOWNLOAD_TIMEOUT.value,
                                  retries=_DOWNLOAD_RETRIES.value)
  logging.info("%s: %s -> %s (max_images %s, ClearML %s)", PROGRAM,
               ", ".join(e.key for e in entries), out_dir, _MAX_IMAGES.value or "all",
               f"project {_CLEARML_PROJECT.value!r}" if _CLEARML.value else "off")
  try:
    data = data_lib.prepare_coco_val2017(_COCO_BASE_URL.value, cache, max_images=_MAX_IMAGES.value,
                                         area_source=_AREA_SOURCE.value)
  except (http_fetch.FetchError, OSError, ValueError) as e:
    # COCO itself could not be fetched or read: no model can run.
    logging.error("COCO 2017 val: %s\n%s", e, traceback.format_exc())
    sys.exit(f"{PROGRAM}: COCO 2017 val is not available, no model was evaluated:\n  "
             f"{runner.error_text(e)}")
  tracker = clearml_session.ClearMLTracker.from_flags() if _CLEARML.value else None
  sweep = runner.Sweep(entries, _settings(out_dir), data, cache,
                       family=model_registry.efficientdet_models(),
                       executor_options=distributed_flags.options_from_flags(), tracker=tracker,
                       observers=observers)
  try:
    outcomes = sweep.run()
  except KeyboardInterrupt:
    sys.exit(f"\n{PROGRAM}: interrupted. Finished models are kept; run the same command "
             "again to continue where this run stopped.")
  summary.print_summary(PROGRAM, sweep, outcomes)
  failed = [o for o in outcomes if o.status == "FAILED"]
  if failed or sweep.failures:
    sys.exit(f"{PROGRAM}: {len(failed)} of {len(outcomes)} model(s) failed"
             + (f", {len(sweep.failures)} other failure(s)" if sweep.failures else ""))


def main(argv):
  run(argv)


if __name__ == "__main__":
  app.run(main)
