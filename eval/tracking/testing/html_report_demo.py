r"""The HTML report on synthetic D0-D7 results (plausible numbers, not measurements).

  bazel run //eval/tracking/testing:html_report_demo -- --out=/tmp/demo

Writes OUT/<task_name>/metrics.json, per_category.csv and analysis/analysis.json (TIDE, F1
thresholds) for every EfficientDet model, then OUT/report/ as //eval:all_efficientdet does, with
made-up bootstrap intervals in its "why AP is lost" section.
"""
from typing import Sequence

from absl import app
from absl import flags

from eval import user_paths
from eval.tracking import html_report
from eval.tracking import why_ap_lost
from eval.tracking.testing import synthetic_results

_OUT = flags.DEFINE_string("out", None, "Where to write the synthetic results and the report.",
                           required=True)


def main(argv: Sequence[str]) -> None:
  del argv
  out = user_paths.resolve(_OUT.value)
  results = synthetic_results.write_synthetic_results(out)
  for result in results:
    synthetic_results.write_synthetic_analysis(result)
  intervals, pairs = synthetic_results.synthetic_bootstrap(results)
  why = why_ap_lost.load(results, intervals=intervals, pairs=pairs)
  print(html_report.write_report(out, results, description="Synthetic numbers (demo).", why=why))


if __name__ == "__main__":
  app.run(main)
