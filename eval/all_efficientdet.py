r"""The main job: EfficientDet D0-D7 of the TF2 Detection Model Zoo on COCO 2017 val.

  bazel run //eval:all_efficientdet                       # all 8 models, all 5,000 images
  bazel run //eval:all_efficientdet -- --models=d0,d1 --max_images=500 --noclearml

For each model in turn (one process, TensorFlow loaded once, each model released before the
next): download the zoo tarball (cached), run it over COCO val2017 (detections cached), evaluate
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

One model's failure (download, model, evaluation or ClearML) is reported with its error and
traceback, the other models still run, and the exit status is 1. Downloads come from
--zoo_base_url and --coco_base_url (http(s) mirrors or file:///local/copies with the same
layout) into --cache_dir.
"""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import time
import traceback
from typing import Any

from absl import app
from absl import flags
from absl import logging

from configs import model_registry
from eval import atomic_io
from eval import model_evaluation
from eval import tracking
from eval import user_paths
from eval.download import cache as cache_lib
from eval.download import http_fetch
from eval.download import sources
from eval.tracking import clearml_report
from eval.tracking import clearml_session
from eval.tracking import html_report

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
_AREA_SOURCE = flags.DEFINE_enum("area_source", "annotation",
                                  list(model_evaluation.AREA_SOURCES),
                                  model_evaluation.AREA_SOURCE_HELP)
_NUM_THREADS = flags.DEFINE_integer("num_threads", 0, "Evaluation threads; 0 uses every core.")
_DOWNLOAD_TIMEOUT = flags.DEFINE_float(
    "download_timeout", 30.0, "Seconds a download may wait for a connection or for any "
    "single read (a stalled server) before the attempt is retried.", lower_bound=0.1)
_DOWNLOAD_RETRIES = flags.DEFINE_integer(
    "download_retries", 4, "Retries of a failed download (with backoff, resuming).",
    lower_bound=0)

SWEEP_VERSION = 1
METRICS = "metrics.json"
CLEARML_RECORD = "clearml.json"
COMPARISON_RECORD = "clearml_comparison.json"
COMPARISON_TASK = "efficientdet_comparison"
# Test-only: "<stage>:<key>" (e.g. "inference_done:d1") makes the process SIGKILL itself at that
# point, to test that an interrupted sweep resumes. Stages: downloaded, model_loaded,
# inference_done, evaluated, written, clearml_logged.
_KILL_ENV = "ALL_EFFICIENTDET_TEST_KILL_AT"


@dataclasses.dataclass
class Outcome:
  entry: model_registry.ZooModel
  status: str = "pending"            # done, reused, FAILED
  error: str | None = None
  result: tracking.ModelResult | None = None
  seconds: float = 0.0
  stages: dict[str, float] = dataclasses.field(default_factory=dict)
  clearml: dict | None = None        # the clearml.json record


def model_info(entry: model_registry.ZooModel) -> tracking.ModelInfo:
  """The registry entry as the reports need it (phi, input size, published mAP and speed)."""
  return tracking.ModelInfo.from_registry(entry)


def _maybe_kill(stage: str, key: str) -> None:
  if os.environ.get(_KILL_ENV) == f"{stage}:{key}":
    logging.warning("%s=%s: killing this process (SIGKILL)", _KILL_ENV, f"{stage}:{key}")
    logging.flush()
    sys.stderr.flush()
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _read_json(path: str) -> Any | None:
  try:
    with open(path) as f:
      return json.load(f)
  except FileNotFoundError:
    return None
  except (OSError, ValueError) as e:
    logging.warning("%s is unreadable (%s): ignored", path, e)
    return None


def _error_text(e: BaseException) -> str:
  message = getattr(e, "message", None)  # tf.errors.OpError keeps the readable part there
  text = message if isinstance(message, str) and message else str(e)
  return f"{type(e).__name__}: {text}" if not isinstance(e, http_fetch.FetchError) else text


def complete_result(model_dir: str, sweep_id: dict) -> tuple[dict | None, str]:
  """(metrics.json data, "") if OUT/<model> holds complete results for `sweep_id`, else
  (None, why not)."""
  path = os.path.join(model_dir, METRICS)
  if not os.path.exists(path):
    return None, "no metrics.json yet"
  data = _read_json(path)
  if not isinstance(data, dict):
    return None, "metrics.json is unreadable"
  stored = data.get("sweep")
  if not isinstance(stored, dict):
    return None, "metrics.json was not written by this sweep"
  differs = sorted(k for k in sweep_id if stored.get(k) != sweep_id[k])
  if differs:
    return None, f"metrics.json was made with other {', '.join(differs)}"
  if len(data.get("stats") or []) != 12 or not isinstance(data.get("metrics"), dict):
    return None, "metrics.json is incomplete"
  missing = [n for n in ("detections.json", "per_category.csv")
             if not os.path.isfile(os.path.join(model_dir, n))]
  if missing:
    return None, f"{', '.join(missing)} missing"
  return data, ""


class Sweep:
  """One run of the sweep over `entries`; see the module docstring."""

  def __init__(self, entries, out_dir: str, cache: cache_lib.DownloadCache, *,
               zoo_base_url: str, coco_base_url: str, max_images: int | None,
               area_source: str, force_inference: bool, clearml: bool, project: str,
               num_threads: int):
    self.entries = list(entries)
    self.out_dir = out_dir
    self.cache = cache
    self.zoo_base_url = zoo_base_url
    self.coco_base_url = coco_base_url
    self.max_images = max_images
    self.area_source = area_source
    self.force_inference = force_inference
    self.clearml = clearml
    self.project = project
    self.num_threads = num_threads
    self.source = self.identity = self.sweep_id = None
    self.closed_sessions: list[tuple[str, Any]] = []   # (task name, CloseResult)
    self.failures: list[str] = []                       # not tied to one model

  # --- data ---------------------------------------------------------------------------------

  def prepare_data(self) -> None:
    """Downloads COCO val2017 (cached) and loads its ground truth once for every model."""
    start = time.perf_counter()
    logging.info("COCO 2017 val: from %s (cache %s)", self.coco_base_url, self.cache.cache_dir)
    coco = sources.download_coco_val2017(self.coco_base_url, self.cache)
    logging.info("COCO 2017 val ready in %.1fs: %s, %s", time.perf_counter() - start,
                 coco.annotations_json, coco.image_dir)
    start = time.perf_counter()
    self.source, self.identity = model_evaluation.coco_json_source(coco.annotations_json,
                                                                 coco.image_dir)
    # What a model's results depend on besides the model: compared when resuming.
    self.sweep_id = {"version": SWEEP_VERSION,
                     "annotations_sha256": http_fetch.sha256_of(coco.annotations_json),
                     "num_images": (self.source.num_images if self.max_images is None
                                    else min(self.max_images, self.source.num_images)),
                     "max_images": self.max_images, "area_source": self.area_source}
    logging.info("ground truth: %d images, %d annotations, %d categories (%.1fs)",
                 self.source.num_images, len(self.source.ground_truth["annotations"]),
                 len(self.source.ground_truth["categories"]), time.perf_counter() - start)

  # --- one model ----------------------------------------------------------------------------

  def run_model(self, index: int, entry: model_registry.ZooModel) -> Outcome:
    outcome = Outcome(entry)
    label = f"model {index}/{len(self.entries)} ({entry.model_name})"
    model_out = os.path.join(self.out_dir, entry.model_name)
    start = time.perf_counter()
    logging.info("=== %s: phi %d, %s", label, entry.efficientdet.phi, entry.title)
    try:
      data, why = complete_result(model_out, {**self.sweep_id, "model": entry.model_name})
      if data is not None and not self.force_inference:
        outcome.status = "reused"
        logging.info("%s: reused: complete results from an earlier run in %s (delete it or "
                     "pass --force_inference to run it again)", label,
                     os.path.join(model_out, METRICS))
      else:
        logging.info("%s: %s", label, "--force_inference" if data is not None else why)
        data = self._evaluate(label, entry, model_out, outcome)
        outcome.status = "done"
      outcome.result = tracking.result_from_dict(data, model_info(entry),
                                                 metrics_path=os.path.join(model_out, METRICS))
      if self.clearml:
        stage_start = time.perf_counter()
        outcome.clearml = self._log_model(label, entry, model_out, data)
        outcome.stages["clearml"] = time.perf_counter() - stage_start
        _maybe_kill("clearml_logged", entry.key)
    except Exception as e:  # pylint: disable=broad-except  (reported; the others still run)
      outcome.status = "FAILED"
      outcome.error = _error_text(e)
      logging.error("%s FAILED: %s\n%s", label, outcome.error, traceback.format_exc())
      print(f"\nall_efficientdet: {label} FAILED:\n  {outcome.error}\n", file=sys.stderr,
            flush=True)
    finally:
      model_evaluation.release_tensorflow_memory()  # also what a failed model's traceback held
    outcome.seconds = time.perf_counter() - start
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in outcome.stages.items())
    logging.info("%s: %s in %.1fs%s", label, outcome.status, outcome.seconds,
                 f" ({stages})" if stages else "")
    return outcome

  def _evaluate(self, label: str, entry, model_out: str, outcome: Outcome) -> dict:
    stale = os.path.join(model_out, METRICS)
    if os.path.exists(stale):  # never leave results that do not match the files beside them
      os.unlink(stale)
    start = time.perf_counter()
    logging.info("%s: download %s", label, entry.url(self.zoo_base_url))
    model_dir = sources.download_model(entry, self.zoo_base_url, self.cache)
    outcome.stages["download"] = time.perf_counter() - start
    logging.info("%s: model ready in %.1fs: %s", label, outcome.stages["download"], model_dir)
    _maybe_kill("downloaded", entry.key)

    names = {"model_loaded": "load", "inference_done": "inference", "evaluated": "evaluation",
             "written": "write"}

    def on_stage(stage: str, seconds: float) -> None:
      outcome.stages[names.get(stage, stage)] = seconds
      logging.info("%s: %s %.1fs", label, names.get(stage, stage), seconds)
      _maybe_kill(stage, entry.key)

    settings = model_registry.EVAL_SETTINGS
    return model_evaluation.evaluate(
        model_dir, self.source, model_out, identity=self.identity,
        metrics_set=list(settings.metrics_set), max_images=self.max_images,
        force_inference=self.force_inference, area_source=self.area_source,
        include_per_category=settings.include_metrics_per_category,
        all_per_category=settings.all_metrics_per_category, num_threads=self.num_threads,
        extra={"sweep": {**self.sweep_id, "model": entry.model_name, "key": entry.key,
                         "model_url": entry.url(self.zoo_base_url),
                         "coco_base_url": self.coco_base_url}},
        on_stage=on_stage)

  # --- ClearML ------------------------------------------------------------------------------

  def _log_model(self, label: str, entry, model_out: str, data: dict) -> dict:
    """Logs the model's task unless clearml.json says these metrics were logged already."""
    record_path = os.path.join(model_out, CLEARML_RECORD)
    metrics_sha = http_fetch.sha256_of(os.path.join(model_out, METRICS))
    record = _read_json(record_path)
    if isinstance(record, dict) and record.get("metrics_sha256") == metrics_sha:
      logging.info("%s: ClearML task already logged (%s, %s): not logged again (delete %s to "
                   "log again)", label, record.get("task_id"),
                   record.get("session_zip") or record.get("web_url") or "online", record_path)
      return record
    config = (data.get("model") or {}).get("pipeline_config")
    if not (config and os.path.isfile(config)):
      try:  # reused results whose extracted tarball has left the cache
        config = os.path.join(sources.download_model(entry, self.zoo_base_url, self.cache),
                              "pipeline.config")
      except (http_fetch.FetchError, OSError, ValueError) as e:
        logging.warning("%s: no pipeline.config to attach to the task: %s", label, e)
        config = None
    session = clearml_session.start_task(
        entry.model_name, self.project, pipeline_config=config, task_type="testing",
        tags=["efficientdet", entry.key, f"phi={entry.efficientdet.phi}"])
    try:
      count = clearml_report.report_model(
          session, tracking.load_model_result(os.path.join(model_out, METRICS),
                                              model_info(entry)))
    finally:
      closed = session.close()
    self.closed_sessions.append((entry.model_name, closed))
    record = {"task_id": closed.task_id, "project": self.project, "task_name": entry.model_name,
              "offline": closed.offline, "session_folder": closed.session_folder,
              "session_zip": closed.session_zip, "upload_command": closed.upload_command,
              "web_url": closed.web_url, "scalars": count, "metrics_sha256": metrics_sha,
              "logged": time.strftime("%Y-%m-%dT%H:%M:%S")}
    atomic_io.write_json(record_path, record)
    logging.info("%s: ClearML task %s logged (%d scalars)", label, closed.task_id, count)
    return record

  def log_comparison(self, results: list[tracking.ModelResult]) -> None:
    """The comparison task, unless the same results were compared in an earlier run."""
    record_path = os.path.join(self.out_dir, html_report.REPORT_DIR, COMPARISON_RECORD)
    compared = {r.info.task_name: http_fetch.sha256_of(r.metrics_path) for r in results}
    record = _read_json(record_path)
    if isinstance(record, dict) and record.get("models") == compared:
      logging.info("ClearML comparison of these %d models already logged (%s): not logged "
                   "again (delete %s to log again)", len(results), record.get("task_id"),
                   record_path)
      return
    session = clearml_session.start_task(COMPARISON_TASK, self.project, task_type="qc",
                                         tags=["efficientdet", "comparison"])
    try:
      clearml_report.report_comparison(session, results)
    finally:
      closed = session.close()
    self.closed_sessions.append((COMPARISON_TASK, closed))
    logging.info("ClearML comparison task %s logged (%d models)", closed.task_id, len(results))
    atomic_io.write_json(record_path, {
        "task_id": closed.task_id, "project": self.project, "task_name": COMPARISON_TASK,
        "offline": closed.offline, "session_folder": closed.session_folder,
        "session_zip": closed.session_zip, "upload_command": closed.upload_command,
        "web_url": closed.web_url, "models": compared,
        "logged": time.strftime("%Y-%m-%dT%H:%M:%S")})

  # --- all ----------------------------------------------------------------------------------

  def finished_results(self) -> list[tracking.ModelResult]:
    """Every EfficientDet in OUT with complete results for this data (earlier runs too)."""
    results = []
    for entry in model_registry.efficientdet_models():
      model_out = os.path.join(self.out_dir, entry.model_name)
      data, _ = complete_result(model_out, {**self.sweep_id, "model": entry.model_name})
      if data is not None:
        results.append(tracking.result_from_dict(
            data, model_info(entry), metrics_path=os.path.join(model_out, METRICS)))
    return results

  def run(self) -> list[Outcome]:
    """Runs every model (prepare_data() first), then the report and the comparison task."""
    sweep_start = time.perf_counter()
    outcomes = [self.run_model(i, entry) for i, entry in enumerate(self.entries, 1)]
    results = self.finished_results()
    if results:
      start = time.perf_counter()
      try:
        index = html_report.write_report(
            self.out_dir, results,
            description=f"{self.sweep_id['num_images']} COCO val2017 images; object areas "
            f"from {self.area_source}.")
        logging.info("report: %s", index)
      except Exception as e:  # pylint: disable=broad-except
        self._fail("the HTML report", e)
      if self.clearml:
        try:
          self.log_comparison(results)
        except Exception as e:  # pylint: disable=broad-except
          self._fail("the ClearML comparison task", e)
      logging.info("comparison and report: %.1fs", time.perf_counter() - start)
    else:
      logging.warning("no model finished: no report, no comparison task")
    logging.info("sweep: %.1fs", time.perf_counter() - sweep_start)
    return outcomes

  def _fail(self, what: str, e: BaseException) -> None:
    text = _error_text(e)
    logging.error("%s FAILED: %s\n%s", what, text, traceback.format_exc())
    print(f"\nall_efficientdet: {what} FAILED:\n  {text}\n", file=sys.stderr, flush=True)
    self.failures.append(f"{what}: {text}")


def _pct(result: tracking.ModelResult | None, stat: str) -> str:
  return tracking.fmt(result.stat(stat), 1, scale=100.0) if result else tracking.MISSING


def summary_table(outcomes: list[Outcome]) -> str:
  header = ["model", "status", "AP", "AP50", "AR100", "time"]
  rows = [[o.entry.model_name, o.status, _pct(o.result, "AP"), _pct(o.result, "AP50"),
           _pct(o.result, "AR100"), f"{o.seconds:.1f}s"] for o in outcomes]
  widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
  lines = []
  for row in [header] + rows:
    lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                           for i, (c, w) in enumerate(zip(row, widths))))
  lines.insert(1, "  ".join("-" * w for w in widths))
  return "\n".join(lines)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  try:
    entries = model_registry.efficientdet_models(_MODELS.value)
  except KeyError as e:
    raise app.UsageError(str(e.args[0])) from None
  if not entries:
    raise app.UsageError("--models names no model; use d0..d7")
  out_dir = user_paths.resolve(_OUTPUT_DIR.value)
  cache_dir = user_paths.resolve(_CACHE_DIR.value) if _CACHE_DIR.value else None
  cache = cache_lib.DownloadCache(cache_dir, timeout=_DOWNLOAD_TIMEOUT.value,
                                  retries=_DOWNLOAD_RETRIES.value)
  os.makedirs(out_dir, exist_ok=True)
  logging.info("all_efficientdet: %s -> %s (max_images %s, ClearML %s)",
               ", ".join(e.key for e in entries), out_dir, _MAX_IMAGES.value or "all",
               f"project {_CLEARML_PROJECT.value!r}" if _CLEARML.value else "off")
  sweep = Sweep(entries, out_dir, cache, zoo_base_url=_ZOO_BASE_URL.value,
                coco_base_url=_COCO_BASE_URL.value, max_images=_MAX_IMAGES.value,
                area_source=_AREA_SOURCE.value, force_inference=_FORCE_INFERENCE.value,
                clearml=_CLEARML.value, project=_CLEARML_PROJECT.value,
                num_threads=_NUM_THREADS.value)
  try:
    sweep.prepare_data()
  except (http_fetch.FetchError, OSError, ValueError) as e:
    # COCO itself could not be fetched or read: no model can run.
    logging.error("COCO 2017 val: %s\n%s", e, traceback.format_exc())
    sys.exit(f"all_efficientdet: COCO 2017 val is not available, no model was evaluated:\n  "
             f"{_error_text(e)}")
  try:
    outcomes = sweep.run()
  except KeyboardInterrupt:
    sys.exit("\nall_efficientdet: interrupted. Finished models are kept; run the same command "
             "again to continue where this run stopped.")

  print("\nall_efficientdet summary (AP, AP50, AR100 in %):")
  print(summary_table(outcomes))
  for o in outcomes:
    if o.error:
      print(f"  {o.entry.model_name}: {o.error}")
  for failure in sweep.failures:
    print(f"  {failure}")
  finished = sweep.finished_results()
  spot = tracking.sweet_spot(finished) if finished else None
  if spot is not None:
    print(f"\nSweet spot over the {len(finished)} finished model(s): {spot.text}")
  offline = [(name, c) for name, c in sweep.closed_sessions if c.offline]
  if offline:
    print("\nClearML offline sessions written by this run (upload each to a server with the "
          "command shown):")
    for name, closed in offline:
      print(f"  {name}: {closed.session_zip}\n    {closed.upload_command}")
  report = os.path.join(out_dir, html_report.REPORT_DIR, "index.html")
  if os.path.exists(report):
    print(f"\nReport: {report}")
  sys.stdout.flush()
  failed = [o for o in outcomes if o.status == "FAILED"]
  if failed or sweep.failures:
    sys.exit(f"all_efficientdet: {len(failed)} of {len(outcomes)} model(s) failed"
             + (f", {len(sweep.failures)} other failure(s)" if sweep.failures else ""))


if __name__ == "__main__":
  app.run(main)
