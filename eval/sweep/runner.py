"""Runs a sweep: every model of a list on the same prepared data, then the comparison.

One model's run is a short sequence of named stages:
  reuse or prepare   complete results in OUT/<model_name>/ for the same data are reused;
                     otherwise the model is downloaded (cached) and becomes an inference job
  detections         the executor (eval/distributed) runs every job's shards, several models
                     at once when it has the workers, and hands each model back when done
  evaluation         model_evaluation.evaluate_detections: every IoU type, outputs
  log to ClearML     once per metrics.json (records.LoggedOnce)
Observers (callables taking (stage, model key)) are told after each stage: STAGES in order.
A failing model is reported and the others still run; then the bootstrap of consecutive models
(eval/model_comparison.py, cached in OUT/comparison/), the HTML report and the ClearML
comparison task cover every finished model in OUT, earlier runs included.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
import traceback
from typing import Callable, Iterator, Sequence

from absl import logging

from configs import model_registry
from eval import model_comparison
from eval import model_evaluation
from eval import results
from eval.distributed import cluster
from eval.distributed import executor
from eval.distributed import node_data
from eval.distributed import options as executor_options_lib
from eval.download import cache as cache_lib
from eval.download import http_fetch
from eval.download import sources
from eval.sweep import data as data_lib
from eval.sweep import records
from eval.tracking import clearml_report
from eval.tracking import html_report
from eval.tracking import model_result
from eval.tracking import why_ap_lost

# The stages observers are told about, in order (those of model_evaluation.STAGES included).
STAGES = ("downloaded", "inference_done", "evaluated", "written", "clearml_logged")
_STAGE_LABELS = {"evaluated": "evaluation", "written": "write"}

StageObserver = Callable[[str, str], None]


@dataclasses.dataclass(frozen=True)
class SweepSettings:
  """Where a sweep's results and models come from and go (the binaries' flags)."""
  out_dir: str
  zoo_base_url: str
  coco_base_url: str
  options: model_evaluation.EvaluationOptions
  project: str  # ClearML project
  comparison_task: str  # ClearML task comparing the models
  tags: tuple[str, ...] = ()  # ClearML tags of every task
  program: str = "sweep"  # how messages name the binary
  report_title: str | None = None  # OUT/report/index.html's title
  # The comparison's paired bootstrap (0: none): resamples, seed, interval confidence.
  n_bootstrap: int = 1000
  bootstrap_seed: int = 0
  confidence: float = 0.95


@dataclasses.dataclass
class Outcome:
  """What became of one model in this run."""
  entry: model_registry.ZooModel
  status: str = "pending"  # done, reused, FAILED
  error: str | None = None
  result: model_result.ModelResult | None = None
  seconds: float = 0.0
  stages: dict[str, float] = dataclasses.field(default_factory=dict)
  clearml: dict | None = None  # the clearml.json record
  started: float = 0.0  # time.perf_counter() when its run began


def error_text(e: BaseException) -> str:
  """An exception as one readable line (FetchError's text already names the URL)."""
  message = getattr(e, "message", None)  # tf.errors.OpError keeps the readable part there
  text = message if isinstance(message, str) and message else str(e)
  return text if isinstance(e, http_fetch.FetchError) else f"{type(e).__name__}: {text}"


def model_info(entry: model_registry.ZooModel) -> model_result.ModelInfo:
  return model_result.ModelInfo.from_registry(entry)


class Sweep:
  """One run of a sweep over `entries` on `data`; `tracker` None = no ClearML.

  family: every model whose finished results in OUT the report compares (default: entries).
  executor_options: how inference runs (eval/distributed); default one worker in this process.
  """

  def __init__(self, entries: Sequence[model_registry.ZooModel], settings: SweepSettings,
               data: data_lib.PreparedData, cache: cache_lib.DownloadCache, *,
               family: Sequence[model_registry.ZooModel] | None = None,
               executor_options: executor_options_lib.ExecutorOptions | None = None, tracker=None,
               observers: Sequence[StageObserver] = ()):
    self.entries = list(entries)
    self.family = list(family if family is not None else entries)
    self.executor_options = (executor_options or executor_options_lib.IN_PROCESS)
    self.settings = settings
    self.data = data
    self.cache = cache
    self.tracker = tracker
    self.observers = tuple(observers)
    self.closed_sessions: list[tuple[str, object]] = []  # (task name, CloseResult)
    self.failures: list[str] = []  # not tied to one model
    self.finished: list[model_result.ModelResult] = []  # every finished model, after run()
    self.why: why_ap_lost.WhyApLost | None = None  # the comparison's analyses, after run()

  def _model_out(self, entry) -> str:
    return os.path.join(self.settings.out_dir, entry.model_name)

  def _notify(self, stage: str, entry) -> None:
    for observer in self.observers:
      observer(stage, entry.key)

  # --- one model: reuse, or download -> detections (executor) -> evaluation; then ClearML -----

  def _label(self, entry) -> str:
    return f"model {self.entries.index(entry) + 1}/{len(self.entries)} ({entry.model_name})"

  @contextlib.contextmanager
  def _reported(self, entry, outcome: Outcome) -> Iterator[None]:
    """A model's failure is reported with its traceback; the other models go on."""
    try:
      yield
    except Exception as e:  # pylint: disable=broad-except  (reported; the others still run)
      outcome.status = "FAILED"
      outcome.error = error_text(e)
      label = self._label(entry)
      logging.error("%s FAILED: %s\n%s", label, outcome.error, traceback.format_exc())
      print(f"\n{self.settings.program}: {label} FAILED:\n  {outcome.error}\n", file=sys.stderr,
            flush=True)
      self._finish(entry, outcome)

  def _finish(self, entry, outcome: Outcome) -> None:
    outcome.seconds = time.perf_counter() - outcome.started
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in outcome.stages.items())
    logging.info("%s: %s in %.1fs%s", self._label(entry), outcome.status, outcome.seconds,
                 f" ({stages})" if stages else "")

  def _reuse_or_prepare(self, entry, outcome: Outcome) -> executor.ModelJob | None:
    """Stage 1: complete results of an earlier run for the same data (then logged and done),
    or the model downloaded and its inference job (None when reused)."""
    label, model_out = self._label(entry), self._model_out(entry)
    logging.info("=== %s: %s%s", label, "".join(f"{t}, " for t in _family_tags(entry)), entry.title)
    run, why = records.complete_result(
        model_out, self.data.model_sweep_id(entry.model_name, _has_keypoints(entry)))
    if run is not None and not self.settings.options.force_inference:
      outcome.status = "reused"
      logging.info(
          "%s: reused: complete results from an earlier run in %s (delete it or "
          "pass --force_inference to run it again)", label,
          os.path.join(model_out, results.METRICS))
      self._add_analysis(label, model_out, run)
      self._done(entry, outcome, run)
      return None
    logging.info("%s: %s", label, "--force_inference" if run is not None else why)
    model_evaluation.prepare_output(self.data.source, model_out)
    start = time.perf_counter()
    logging.info("%s: download %s", label, entry.url(self.settings.zoo_base_url))
    model_dir = sources.download_model(entry, self.settings.zoo_base_url, self.cache)
    outcome.stages["download"] = time.perf_counter() - start
    logging.info("%s: model ready in %.1fs: %s", label, outcome.stages["download"], model_dir)
    self._notify("downloaded", entry)
    return model_evaluation.model_job(
        entry.key, model_dir, self.data.source, model_out, dict(self.data.identity),
        self.settings.options,
        model_fetch=node_data.ZooModelFetch.of(entry, self.settings.zoo_base_url, self.cache),
        source_fetch=self.data.fetch, keypoint_categories=None if _has_keypoints(entry) else [])

  def _add_analysis(self, label: str, model_out: str, run: results.ModelRunResult) -> None:
    """Reused results without OUT/<model>/analysis/ (from before the analysis, or run with
    --noanalysis) gain it from their detections.json (seconds; no inference)."""
    try:
      if model_evaluation.add_missing_analysis(self.data.source, model_out, run,
                                               self.settings.options):
        logging.info("%s: error analysis added to the reused results", label)
    except Exception as e:  # pylint: disable=broad-except  (the reused results stand)
      logging.warning("%s: no error analysis added to the reused results: %s", label, error_text(e))

  def _detected(self, entry, outcome: Outcome, result: executor.ShardedResult) -> None:
    """Stage 2, as each model's detections are complete: evaluation and outputs."""
    label = self._label(entry)
    ran = model_evaluation.inference_output(result)
    outcome.stages["load"] = ran.load_seconds
    outcome.stages["inference"] = ran.detections.seconds
    self._notify("inference_done", entry)

    def on_stage(stage: str, seconds: float) -> None:
      outcome.stages[_STAGE_LABELS.get(stage, stage)] = seconds
      logging.info("%s: %s %.1fs", label, _STAGE_LABELS.get(stage, stage), seconds)
      self._notify(stage, entry)

    sweep = {
        **self.data.model_sweep_id(entry.model_name, _has_keypoints(entry)), "key": entry.key,
        "model_url": entry.url(self.settings.zoo_base_url),
        "coco_base_url": self.settings.coco_base_url
    }
    run = model_evaluation.evaluate_detections(self.data.source, self._model_out(entry),
                                               self.settings.options, ran,
                                               identity=dict(self.data.identity), sweep=sweep,
                                               on_stage=on_stage)
    outcome.status = "done"
    self._done(entry, outcome, run)

  def _done(self, entry, outcome: Outcome, run: results.ModelRunResult) -> None:
    """Stage 3: the model's results kept, and logged to ClearML once."""
    outcome.result = model_result.ModelResult(model_info(entry), run,
                                              os.path.join(self._model_out(entry), results.METRICS))
    if self.tracker is not None:
      stage_start = time.perf_counter()
      outcome.clearml = self._log_model(self._label(entry), entry)
      outcome.stages["clearml"] = time.perf_counter() - stage_start
      self._notify("clearml_logged", entry)
    self._finish(entry, outcome)

  def _log_model(self, label: str, entry) -> dict:
    """Stage 2: the model's ClearML task, unless these very metrics were logged already."""
    model_out = self._model_out(entry)
    metrics_path = os.path.join(model_out, results.METRICS)
    once = records.LoggedOnce(os.path.join(model_out, results.CLEARML_RECORD),
                              {"metrics_sha256": http_fetch.sha256_of(metrics_path)})
    record = once.previous()
    if record is not None:
      logging.info(
          "%s: ClearML task already logged (%s, %s): not logged again (delete %s to "
          "log again)", label, record.get("task_id"),
          record.get("session_zip") or record.get("web_url") or "online", once.record_path)
      return record
    result = model_result.load_model_result(metrics_path, model_info(entry))
    session = self.tracker.start_task(entry.model_name, self.settings.project,
                                      pipeline_config=self._pipeline_config(label, entry, result),
                                      task_type="testing",
                                      tags=[*self.settings.tags, entry.key, *_family_tags(entry)])
    try:
      count = clearml_report.report_model(session, result)
    finally:
      closed = session.close()
    self.closed_sessions.append((entry.model_name, closed))
    logging.info("%s: ClearML task %s logged (%d scalars)", label, closed.task_id, count)
    return once.save(closed, project=self.settings.project, task_name=entry.model_name,
                     scalars=count)

  def _pipeline_config(self, label: str, entry, result: model_result.ModelResult) -> str | None:
    """The model's pipeline.config to attach to its task (downloaded again if evicted)."""
    config = result.run.model.get("pipeline_config")
    if config and os.path.isfile(config):
      return config
    try:  # reused results whose extracted tarball has left the cache
      return os.path.join(sources.download_model(entry, self.settings.zoo_base_url, self.cache),
                          "pipeline.config")
    except (http_fetch.FetchError, OSError, ValueError) as e:
      logging.warning("%s: no pipeline.config to attach to the task: %s", label, e)
      return None

  # --- all models ---------------------------------------------------------------------------

  def finished_results(self) -> list[model_result.ModelResult]:
    """Every model of the family in OUT with complete results for this data."""
    finished = []
    for entry in self.family:
      run, _ = records.complete_result(
          self._model_out(entry), self.data.model_sweep_id(entry.model_name, _has_keypoints(entry)))
      if run is not None:
        finished.append(
            model_result.ModelResult(model_info(entry), run,
                                     os.path.join(self._model_out(entry), results.METRICS)))
    return finished

  def run(self) -> list[Outcome]:
    """Runs every model (inference of several at once when the executor has the workers),
    then the report and the comparison task."""
    sweep_start = time.perf_counter()
    outcomes = {entry.key: Outcome(entry, started=time.perf_counter()) for entry in self.entries}
    jobs = []
    for entry in self.entries:
      with self._reported(entry, outcomes[entry.key]):
        job = self._reuse_or_prepare(entry, outcomes[entry.key])
        if job is not None:
          jobs.append(job)
    if jobs:
      by_key = {e.key: e for e in self.entries}

      def on_job_done(result: executor.ShardedResult) -> None:
        entry = by_key[result.key]
        with self._reported(entry, outcomes[entry.key]):
          self._detected(entry, outcomes[entry.key], result)

      try:
        executor.run_detections(jobs, self.executor_options, on_job_done=on_job_done)
      except (cluster.ClusterError, executor.ExecutorError) as e:  # no worker could run
        for job in jobs:
          outcome = outcomes[job.key]
          if outcome.status == "pending":
            with self._reported(outcome.entry, outcome):
              raise e
      finally:
        model_evaluation.release_tensorflow_memory()
    self._report()
    logging.info("sweep: %.1fs", time.perf_counter() - sweep_start)
    return list(outcomes.values())

  def _report(self) -> None:
    """The HTML report and the ClearML comparison over every finished model in OUT."""
    self.finished = finished = self.finished_results()
    if not finished:
      logging.warning("no model finished: no report, no comparison task")
      return
    start = time.perf_counter()
    self.why = why_ap_lost.load(finished)  # the analyses alone, if the bootstrap fails
    self._guarded("the bootstrap comparison of consecutive models",
                  lambda: setattr(self, "why", self._bootstrap(finished)))
    self._guarded(
        "the HTML report", lambda: logging.info(
            "report: %s",
            html_report.write_report(self.settings.out_dir, finished, title=self.settings.
                                     report_title, description=self.data.description, why=self.why))
    )
    if self.tracker is not None:
      self._guarded("the ClearML comparison task", lambda: self.log_comparison(finished))
    logging.info("comparison and report: %.1fs", time.perf_counter() - start)

  def _bootstrap(self, finished: list[model_result.ModelResult]) -> why_ap_lost.WhyApLost:
    """Each model's category-AP intervals and each consecutive pair's paired bootstrap (along
    the scale axis), cached in OUT/comparison/ for the same detections and ground truth."""
    if self.settings.n_bootstrap < 1:
      return why_ap_lost.load(finished)
    ordered = model_result.by_phi(finished)
    outputs = [model_comparison.read_output(os.path.dirname(r.metrics_path)) for r in ordered]
    start = time.perf_counter()
    intervals, pairs = model_comparison.sweep_comparisons(
        self.settings.out_dir, outputs, self.data.source.ground_truth, iou_type=ordered[0].iou_type,
        n_bootstrap=self.settings.n_bootstrap, seed=self.settings.bootstrap_seed,
        confidence=self.settings.confidence, num_threads=self.settings.options.num_threads,
        log=logging.info)
    logging.info("bootstrap comparison (%d models, %d pairs): %.1fs", len(outputs), len(pairs),
                 time.perf_counter() - start)
    return why_ap_lost.load(finished, intervals=intervals, pairs=pairs)

  def log_comparison(self, finished: list[model_result.ModelResult]) -> None:
    """The comparison task, unless the same results were compared in an earlier run."""
    once = records.LoggedOnce(
        os.path.join(self.settings.out_dir, results.REPORT_DIR, results.COMPARISON_RECORD), {
            "models": {r.info.task_name: http_fetch.sha256_of(r.metrics_path)
                       for r in finished}, "why_ap_lost": self._why_fingerprint()
        })
    record = once.previous()
    if record is not None:
      logging.info(
          "ClearML comparison of these %d models already logged (%s): not logged "
          "again (delete %s to log again)", len(finished), record.get("task_id"), once.record_path)
      return
    task = self.settings.comparison_task
    session = self.tracker.start_task(task, self.settings.project, task_type="qc",
                                      tags=[*self.settings.tags, "comparison"])
    try:
      clearml_report.report_comparison(session, finished, why=self.why)
    finally:
      closed = session.close()
    self.closed_sessions.append((task, closed))
    logging.info("ClearML comparison task %s logged (%d models)", closed.task_id, len(finished))
    once.save(closed, project=self.settings.project, task_name=task)

  def _why_fingerprint(self) -> dict:
    """What the comparison's "why AP is lost" section was made of: a task logged before an
    analysis or the bootstrap existed is logged again once they do."""
    why = self.why or why_ap_lost.WhyApLost({}, {}, [])
    return {
        "analyses": sorted(why.analyses), "intervals": sorted(why.intervals),
        "pairs": [[p["a_key"], p["b_key"], p.get("key")] for p in why.pairs]
    }

  def _guarded(self, what: str, step: Callable[[], None]) -> None:
    """Runs a step after the models; a failure is reported, not raised."""
    try:
      step()
    except Exception as e:  # pylint: disable=broad-except
      text = error_text(e)
      logging.error("%s FAILED: %s\n%s", what, text, traceback.format_exc())
      print(f"\n{self.settings.program}: {what} FAILED:\n  {text}\n", file=sys.stderr, flush=True)
      self.failures.append(f"{what}: {text}")


def _family_tags(entry: model_registry.ZooModel) -> list[str]:
  return [f"phi={entry.efficientdet.phi}"] if entry.efficientdet is not None else []


def _has_keypoints(entry: model_registry.ZooModel) -> bool:
  return "keypoints" in entry.outputs
