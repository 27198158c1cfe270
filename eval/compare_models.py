r"""Compares two models honestly: a paired bootstrap over the images of their evaluations.

  bazel run //eval:compare_models -- --a=OUT/efficientdet_d0_coco17_tpu-32 \
      --b=OUT/efficientdet_d1_coco17_tpu-32 [--annotations=GT.json] [--iou_type=bbox] \
      [--n_bootstrap=1000 --seed=0 --confidence=0.95] [--output_json=CMP.json]

--a and --b are //eval:evaluate_model output folders (metrics.json + detections.json; a
sweep's OUT/<model_name>/ is one). Both are evaluated again on the ground truth their
metrics.json names (--annotations when it names none, e.g. TFRecord data, or the file moved),
checked to reproduce metrics.json, and compared by cocoeval_cc.compare: every resample draws
the same images for both models; delta = b - a; a difference is significant iff its interval
excludes 0.

Prints every summary statistic and each category's AP (a, b, delta, interval, significant),
categories by |delta|, largest first. CMP.json holds cocoeval_cc.compare's result plus what was
compared ("a", "b": folder, detections; "iou_type", "annotations").
"""
import sys

from absl import app
from absl import flags

from eval import atomic_io
from eval import model_comparison
from eval import user_paths

_A = flags.DEFINE_string("a", None, "The first (baseline) model's evaluate_model output folder.",
                         required=True)
_B = flags.DEFINE_string("b", None, "The second model's evaluate_model output folder.",
                         required=True)
_ANNOTATIONS = flags.DEFINE_string(
    "annotations", None, "COCO ground-truth JSON (default: the file metrics.json names).")
_IOU_TYPE = flags.DEFINE_enum("iou_type", None, ["bbox", "segm", "keypoints"],
                              "What to compare (default: the models' primary IoU type).")
_N_BOOTSTRAP = flags.DEFINE_integer("n_bootstrap", 1000, "Bootstrap resamples.", lower_bound=1)
_SEED = flags.DEFINE_integer("seed", 0, "The resampling's seed.")
_CONFIDENCE = flags.DEFINE_float("confidence", 0.95, "The intervals' confidence, in (0, 1).")
_OUTPUT_JSON = flags.DEFINE_string("output_json", None, "Where to write the comparison (JSON).")
_NUM_THREADS = flags.DEFINE_integer("num_threads", 0, "Threads; 0 uses every core.")
_MAX_CATEGORIES = flags.DEFINE_integer(
    "max_categories", None, "Print only the categories with the largest |delta| (JSON: all).",
    lower_bound=0)

flags.register_validator("confidence", lambda c: 0.0 < c < 1.0,
                         message="--confidence must be in (0, 1), e.g. 0.95")


def _pct(value) -> str:
  return "-" if value is None or value < -0.5 else f"{value * 100:.2f}"


def _delta(value) -> str:
  return f"{value * 100:+.2f}"


def table(data: dict, max_categories: int | None = None) -> str:
  """The statistics, then each category's AP: a, b, delta, interval, significant (in %)."""
  level = f"{data['confidence'] * 100:g}%"
  header = ["", "a", "b", "delta", f"{level} interval", "significant"]

  def rows(entries):
    return [[
        str(e["name"]),
        _pct(e["a"]),
        _pct(e["b"]),
        _delta(e["delta"]), f"[{_delta(e['lo'])}, {_delta(e['hi'])}]",
        "yes" if e["significant"] else "no"
    ] for e in entries]

  stats = rows(data["stats"])
  categories = rows(
      data["per_category"][:max_categories] if max_categories is not None else data["per_category"])
  titles = ["statistic", "category AP (by |delta|)" if categories else ""]
  widths = [max(len(r[i]) for r in [header] + stats + categories) for i in range(len(header))]
  widths[0] = max([widths[0]] + [len(t) for t in titles])

  def line(row):
    return "  ".join(
        c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()

  rule = "  ".join("-" * w for w in widths)
  out = [
      f"a: {data['a']['directory']}", f"b: {data['b']['directory']}",
      f"{data['iou_type']}, {data['num_images']} images, {data['n_bootstrap']} paired bootstrap "
      f"resamples (seed {data['seed']}); values in %, delta = b - a; significant: the interval "
      "excludes 0", "",
      line([titles[0]] + header[1:]), rule
  ] + [line(r) for r in stats]
  if categories:
    out += ["", line([titles[1]] + header[1:]), rule] + [line(r) for r in categories]
  return "\n".join(out)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  try:
    a = model_comparison.read_output(user_paths.resolve(_A.value))
    b = model_comparison.read_output(user_paths.resolve(_B.value))
    data = model_comparison.compare_outputs(
        a, b, annotations=user_paths.resolve(_ANNOTATIONS.value) if _ANNOTATIONS.value else None,
        iou_type=_IOU_TYPE.value, n_bootstrap=_N_BOOTSTRAP.value, seed=_SEED.value,
        confidence=_CONFIDENCE.value, num_threads=_NUM_THREADS.value)
  except (ValueError, OSError) as e:  # ComparisonError names the folders; bad files name theirs
    sys.exit(f"compare_models: {e}")
  print(table(data, _MAX_CATEGORIES.value))
  if _OUTPUT_JSON.value:
    try:
      atomic_io.write_json(user_paths.resolve(_OUTPUT_JSON.value), data)
    except atomic_io.OutputError as e:
      sys.exit(f"compare_models: {e}")


if __name__ == "__main__":
  app.run(main)
