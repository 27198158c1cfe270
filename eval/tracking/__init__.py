"""Tracking and reporting of evaluation results (the all_efficientdet sweep), one job per module.

  model_result     one model's results: ModelInfo (the registry's description) and ModelResult
                   (a metrics.json of eval/results.py with it); load_model_result, by_phi,
                   common_categories, supercategories.
  sweet_spot       the sweet spot between accuracy and published speed (SweetSpot, sweet_spot).
  formatting       statistic names and labels, fmt, MISSING, is_missing.
  clearml_session  starts ClearML tasks safely (ClearMLTracker: offline by default, fast close,
                   never a silent hang).
  clearml_report   logs one model's results, or the comparison of several, to a task.
  html_report      writes the same comparison as a self-contained local report.
  testing/         synthetic results for tests and demos (testonly).
"""
