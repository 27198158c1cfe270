"""What a sweep finds in its output folder: complete results to reuse, and tasks already logged."""
from __future__ import annotations

import json
import os
import time
from typing import Any, Mapping

from absl import logging

from eval import atomic_io
from eval import results


def read_json(path: str) -> Any | None:
  """The JSON in `path`; None if it is missing or unreadable (which is logged)."""
  try:
    with open(path) as f:
      return json.load(f)
  except FileNotFoundError:
    return None
  except (OSError, ValueError) as e:
    logging.warning("%s is unreadable (%s): ignored", path, e)
    return None


def complete_result(model_dir: str,
                    sweep_id: Mapping[str, Any]) -> tuple[results.ModelRunResult | None, str]:
  """(the results, "") if OUT/<model> holds complete results for `sweep_id`, else
  (None, why not)."""
  path = os.path.join(model_dir, results.METRICS)
  if not os.path.exists(path):
    return None, "no metrics.json yet"
  try:
    run = results.read_model_result(path)
  except (OSError, results.SchemaError) as e:
    logging.warning("%s", e)
    return None, "metrics.json is unreadable"
  stored = run.sweep
  if not isinstance(stored, dict):
    return None, "metrics.json was not written by this sweep"
  differs = sorted(k for k in sweep_id if stored.get(k) != sweep_id[k])
  if differs:
    return None, f"metrics.json was made with other {', '.join(differs)}"
  if len(run.primary.stats) != 12 or not run.metrics:
    return None, "metrics.json is incomplete"
  missing = [
      n for n in (results.DETECTIONS, results.PER_CATEGORY_CSV)
      if not os.path.isfile(os.path.join(model_dir, n))
  ]
  if missing:
    return None, f"{', '.join(missing)} missing"
  return run, ""


class LoggedOnce:
  """Logs a ClearML task only once for the same inputs, across runs.

  The record file holds the task's description plus `fingerprint` (what was logged: a
  metrics.json's sha256, or the compared models'); a later run with the same fingerprint
  finds it and does not log again. Delete the file to log again.
  """

  def __init__(self, record_path: str, fingerprint: Mapping[str, Any]):
    self.record_path = record_path
    self.fingerprint = dict(fingerprint)

  def previous(self) -> dict | None:
    """The record of a task logged with this fingerprint, or None."""
    record = read_json(self.record_path)
    if isinstance(record, dict) and all(record.get(k) == v for k, v in self.fingerprint.items()):
      return record
    return None

  def save(self, closed, **fields) -> dict:
    """Records the closed task (a clearml_session CloseResult) and returns the record."""
    record = {
        "task_id": closed.task_id, **fields, "offline": closed.offline,
        "session_folder": closed.session_folder, "session_zip": closed.session_zip,
        "upload_command": closed.upload_command, "web_url": closed.web_url,
        **self.fingerprint, "logged": time.strftime("%Y-%m-%dT%H:%M:%S")
    }
    atomic_io.write_json(self.record_path, record)
    return record
