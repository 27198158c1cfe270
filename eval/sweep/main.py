"""What every sweep binary shares: the flags and main() around eval/sweep/runner.py.

A binary (//eval:all_efficientdet, //eval:evaluate_zoo) defines only what differs, its
--models, --output_dir and --clearml_project defaults, as a Preset, and calls run(). The
executor's flags (--ray_address, --num_workers, ...) come from eval/distributed/flags.py.
"""
from __future__ import annotations

import contextlib
import dataclasses
import sys
import traceback
from typing import Callable, Sequence

from absl import app
from absl import flags
from absl import logging

from configs import model_registry
from eval import evaluation_flags
from eval import model_evaluation
from eval import output_lock
from eval import user_paths
from eval.distributed import flags as distributed_flags
from eval.download import cache as cache_lib
from eval.download import http_fetch
from eval.sweep import data as data_lib
from eval.sweep import runner
from eval.sweep import summary
from eval.tracking import clearml_session

_CACHE_DIR = flags.DEFINE_string(
    "cache_dir", None, "Downloads (tarballs, COCO zips) and their extracted contents; default "
    f"{cache_lib.default_cache_dir()} ($XDG_CACHE_HOME/detector_eval or "
    "~/.cache/detector_eval).")
_ZOO_BASE_URL = flags.DEFINE_string(
    "zoo_base_url", model_registry.ZOO_BASE_URL,
    "The TF2 zoo's tf2/ folder, or a mirror with its layout (<base>/20200711/"
    "efficientdet_d0_coco17_tpu-32.tar.gz); file:///dir works.")
_COCO_BASE_URL = flags.DEFINE_string(
    "coco_base_url", model_registry.COCO_BASE_URL,
    "COCO's download site, or a mirror with its layout (<base>/zips/val2017.zip, "
    "<base>/annotations/annotations_trainval2017.zip); file:///dir works.")
_CLEARML = flags.DEFINE_bool(
    "clearml", True, "Log to ClearML (offline sessions unless a server is configured; see "
    "--clearml_mode). --noclearml skips ClearML entirely.")
_N_BOOTSTRAP = flags.DEFINE_integer(
    "n_bootstrap", 1000, "Paired bootstrap resamples of the images for the comparison (each "
    "model's per-category AP intervals, consecutive models' significant gains; cached in "
    "OUT/comparison/); 0 skips it.", lower_bound=0)
_BOOTSTRAP_SEED = flags.DEFINE_integer("bootstrap_seed", 0, "The bootstrap's seed.")
_DOWNLOAD_TIMEOUT = flags.DEFINE_float(
    "download_timeout", 30.0, "Seconds a download may wait for a connection or for any "
    "single read (a stalled server) before the attempt is retried.", lower_bound=0.1)
_DOWNLOAD_RETRIES = flags.DEFINE_integer("download_retries", 4,
                                         "Retries of a failed download (with backoff, resuming).",
                                         lower_bound=0)


@dataclasses.dataclass(frozen=True)
class Preset:
  """What makes a sweep binary: its name, ClearML naming and which models it compares."""
  program: str  # how messages name the binary; the output lock's owner
  comparison_task: str  # the ClearML task comparing the models
  tags: tuple[str, ...]  # ClearML tags of every task
  report_title: str  # OUT/report/index.html's title
  # --models -> registry entries (raises KeyError naming an unknown key)
  resolve_models: Callable[[Sequence[str]], Sequence[model_registry.ZooModel]]
  models_hint: str  # what --models takes, for the usage error of an empty selection
  # Every model whose finished results in OUT the report compares; None: the models run.
  family: tuple[model_registry.ZooModel, ...] | None = None


def main(argv: Sequence[str], preset: Preset, models: Sequence[str], output_dir_flag: str,
         clearml_project: str, observers: Sequence[runner.StageObserver] = ()) -> None:
  """A sweep binary's main(): --models resolved (a usage error if unknown or empty), then
  run()."""
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  try:
    entries = tuple(preset.resolve_models(models))
  except KeyError as e:
    raise app.UsageError(str(e.args[0])) from None
  if not entries:
    raise app.UsageError(f"--models names no model; {preset.models_hint}")
  run(preset, entries, output_dir_flag, clearml_project, observers)


def run(preset: Preset, entries: Sequence[model_registry.ZooModel], output_dir_flag: str,
        clearml_project: str, observers: Sequence[runner.StageObserver] = ()) -> None:
  """Runs the sweep of `entries` into --output_dir (held with a lock until it ends)."""
  with contextlib.ExitStack() as held:
    try:
      out_dir = user_paths.output_dir(output_dir_flag)
      held.enter_context(output_lock.hold(out_dir, preset.program))  # until the sweep ends
    except (ValueError, output_lock.OutputLockedError) as e:
      sys.exit(f"{preset.program}: {e}")
    _run_sweep(preset, entries, out_dir, clearml_project, observers)


def _settings(preset: Preset, out_dir: str, clearml_project: str) -> runner.SweepSettings:
  settings = model_registry.EVAL_SETTINGS
  return runner.SweepSettings(
      out_dir=out_dir, zoo_base_url=_ZOO_BASE_URL.value, coco_base_url=_COCO_BASE_URL.value,
      options=model_evaluation.EvaluationOptions(
          metrics_set=list(settings.metrics_set),
          include_per_category=settings.include_metrics_per_category,
          all_per_category=settings.all_metrics_per_category, **evaluation_flags.shared_options()),
      project=clearml_project, comparison_task=preset.comparison_task, tags=preset.tags,
      program=preset.program, report_title=preset.report_title, n_bootstrap=_N_BOOTSTRAP.value,
      bootstrap_seed=_BOOTSTRAP_SEED.value)


def _run_sweep(preset: Preset, entries, out_dir: str, clearml_project: str,
               observers: Sequence[runner.StageObserver]) -> None:
  program = preset.program
  cache_dir = user_paths.resolve(_CACHE_DIR.value) if _CACHE_DIR.value else None
  cache = cache_lib.DownloadCache(cache_dir, timeout=_DOWNLOAD_TIMEOUT.value,
                                  retries=_DOWNLOAD_RETRIES.value)
  logging.info("%s: %s -> %s (max_images %s, ClearML %s)", program,
               ", ".join(e.key for e in entries), out_dir, evaluation_flags.MAX_IMAGES.value
               or "all", f"project {clearml_project!r}" if _CLEARML.value else "off")
  try:
    data = data_lib.prepare_coco_val2017(
        _COCO_BASE_URL.value, cache, max_images=evaluation_flags.MAX_IMAGES.value,
        area_source=evaluation_flags.AREA_SOURCE.value,
        with_person_keypoints=any("keypoints" in e.outputs for e in entries))
  except (http_fetch.FetchError, OSError, ValueError) as e:
    # COCO itself could not be fetched or read: no model can run.
    logging.error("COCO 2017 val: %s\n%s", e, traceback.format_exc())
    sys.exit(f"{program}: COCO 2017 val is not available, no model was evaluated:\n  "
             f"{runner.error_text(e)}")
  tracker = clearml_session.ClearMLTracker.from_flags() if _CLEARML.value else None
  sweep = runner.Sweep(entries, _settings(preset, out_dir,
                                          clearml_project), data, cache, family=preset.family,
                       executor_options=distributed_flags.options_from_flags(), tracker=tracker,
                       observers=observers)
  try:
    outcomes = sweep.run()
  except KeyboardInterrupt:
    sys.exit(f"\n{program}: interrupted. Finished models are kept; run the same command "
             "again to continue where this run stopped.")
  summary.print_summary(program, sweep, outcomes)
  failed = [o for o in outcomes if o.status == "FAILED"]
  if failed or sweep.failures:
    sys.exit(f"{program}: {len(failed)} of {len(outcomes)} model(s) failed"
             + (f", {len(sweep.failures)} other failure(s)" if sweep.failures else ""))
