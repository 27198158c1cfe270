r"""Writes a COCO dataset as TF Object Detection API records (like create_coco_tf_record.py).

  bazel run //eval:create_coco_tf_record -- --annotations=instances_val2017.json \
      --image_dir=val2017 --output_prefix=records/coco_val.record --num_shards=8 [--include_masks]

Writes <output_prefix>-00000-of-00008 ... atomically: all shards appear only if all succeed.
Annotations with non-positive width/height or past the image edge are skipped (and counted),
as the original tool does.
"""
import json
import sys
import time

from absl import app
from absl import flags
from absl import logging

from eval import user_paths
from eval.data import tfrecords

_ANNOTATIONS = flags.DEFINE_string("annotations", None, "COCO annotations JSON.", required=True)
_IMAGE_DIR = flags.DEFINE_string("image_dir", None, "Folder the images' file_name is relative to.",
                                 required=True)
_OUTPUT_PREFIX = flags.DEFINE_string("output_prefix", None,
                                     "Shards are <prefix>-00000-of-<num_shards>.", required=True)
_NUM_SHARDS = flags.DEFINE_integer("num_shards", 1, "Number of output shards.", lower_bound=1)
_INCLUDE_MASKS = flags.DEFINE_bool("include_masks", False,
                                   "Also write image/object/mask (PNG instance masks).")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  annotations = user_paths.resolve(_ANNOTATIONS.value)
  try:
    with open(annotations) as f:
      dataset = json.load(f)
  except (OSError, json.JSONDecodeError) as e:
    sys.exit(f"error: {annotations}: cannot read the annotations ({e})")
  if not isinstance(dataset, dict) or not isinstance(dataset.get("images"), list):
    sys.exit(f"error: {annotations}: not a COCO annotations file (no 'images' list)")
  start = time.monotonic()
  last_log = [start]

  def progress(done: int, total: int) -> None:
    now = time.monotonic()
    if done == total or now - last_log[0] >= 10 or done == 1:  # every 10 s, not every image
      last_log[0] = now
      logging.info("%d/%d images (%.0f%%), %.1f s", done, total, 100.0 * done / total, now - start)

  try:
    stats = tfrecords.write_coco(dataset, user_paths.resolve(_IMAGE_DIR.value),
                                 user_paths.resolve(_OUTPUT_PREFIX.value), _NUM_SHARDS.value,
                                 _INCLUDE_MASKS.value, progress)
  except (OSError, ValueError) as e:  # their messages name the file and the record
    sys.exit(f"error: {e}\nNo shard was written.")
  logging.info("Wrote %d images, %d annotations (%d skipped) to %d shard(s): %s ... %s",
               stats.num_images, stats.num_annotations, stats.num_skipped, len(stats.shard_paths),
               stats.shard_paths[0], stats.shard_paths[-1])


if __name__ == "__main__":
  app.run(main)
