r"""The HTML report on synthetic D0-D7 results (plausible numbers, not measurements).

  bazel run //eval/tracking/testing:html_report_demo -- --out=/tmp/demo

Writes OUT/<task_name>/metrics.json and per_category.csv for every EfficientDet model, then
OUT/report/ as //eval:all_efficientdet does.
"""
from typing import Sequence

from absl import app
from absl import flags

from eval import user_paths
from eval.tracking import html_report
from eval.tracking.testing import synthetic_results

_OUT = flags.DEFINE_string("out", None, "Where to write the synthetic results and the report.",
                           required=True)


def main(argv: Sequence[str]) -> None:
  del argv
  out = user_paths.resolve(_OUT.value)
  results = synthetic_results.write_synthetic_results(out)
  print(html_report.write_report(out, results, description="Synthetic numbers (demo)."))


if __name__ == "__main__":
  app.run(main)
