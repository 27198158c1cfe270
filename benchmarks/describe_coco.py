"""Prints, as one JSON line, the shape of an evaluation set.

Images, ground truth by size, crowd, detections. A separate process on purpose: parsing the files
costs the benchmark driver hundreds of MB, and a child's peak RSS (ru_maxrss) inherits the driver's
high-water mark at fork, so the driver stays small.
"""
import json
import os

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("gt", None, "Ground-truth annotations JSON.")
flags.DEFINE_string("dt", None, "Detection results JSON.")
flags.mark_flags_as_required(["gt", "dt"])


def describe(gt_path, dt_path):
  with open(gt_path) as f:
    gt = json.load(f)
  anns = gt["annotations"]
  n = max(len(anns), 1)
  areas = [a["area"] for a in anns]
  with open(dt_path) as f:
    num_dets = len(json.load(f))
  return {
      "images": len(gt["images"]), "categories": len(gt["categories"]), "gt": len(anns),
      "small": sum(a < 32 ** 2 for a in areas) / n, "medium": sum(32 ** 2 <= a < 96 ** 2
                                                                  for a in areas) / n,
      "large": sum(a >= 96 ** 2
                   for a in areas) / n, "crowd": sum(a.get("iscrowd", 0) for a in anns) / n,
      "dets": num_dets, "dt_mb": os.path.getsize(dt_path) / 1e6
  }


def resolve(path):
  # `bazel run` changes the working directory; user paths are relative to where it was typed.
  return os.path.join(os.environ.get("BUILD_WORKING_DIRECTORY", ""), os.path.expanduser(path))


def main(argv):
  del argv
  print(json.dumps(describe(resolve(FLAGS.gt), resolve(FLAGS.dt))))


if __name__ == "__main__":
  app.run(main)
