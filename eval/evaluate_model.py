r"""Evaluates an exported TF2 Object Detection API model (EfficientDet D0-D7, ...) on COCO data.

  bazel run //eval:evaluate_model -- --model_dir=DIR \
      (--annotations=GT.json --image_dir=DIR | --pipeline_config_path=P |
       --tfrecord=GLOB --label_map_path=L) --output_dir=OUT \
      [--max_images=N] [--force_inference] [--skip_missing_images] [--area_source=annotation|box]

Inference runs in this process or on Ray workers over shards of the images (--ray_address,
--num_workers, --gpus_per_worker, --tf_threads_per_worker, --shard_size; eval/distributed).
Writes OUT/detections.json (COCO results; OUT/segmentations.json too for mask models),
OUT/metrics.json (//eval:coco_eval's --output_json schema plus model and run information),
OUT/per_category.csv, a TensorBoard event file with the TF OD API's metric names and
OUT/analysis/ (the error analysis of the boxes: analysis.json, CSVs, PNG plots and a gallery of
the worst images; --noanalysis skips it). All writes are atomic, metrics.json last.
Detections are cached: a re-run with the same model and data only re-evaluates
(--force_inference runs the model again).
"""
import signal
import sys

from absl import app
from absl import flags
import tensorflow as tf

from eval import atomic_io
from eval import evaluation_flags
from eval import model_evaluation
from eval import output_lock
from eval import user_paths
from eval.data import image_sources
from eval.data import pipeline_config
from eval.distributed import cluster
from eval.distributed import executor
from eval.distributed import flags as distributed_flags
from eval.model import postprocess

_MODEL_DIR = flags.DEFINE_string(
    "model_dir", None, "exporter_main_v2.py output (saved_model/, pipeline.config) or a bare "
    "SavedModel directory.", required=True)
_ANNOTATIONS = flags.DEFINE_string("annotations", None, "COCO ground-truth JSON.")
_IMAGE_DIR = flags.DEFINE_string("image_dir", None, "Folder of the images of --annotations.")
_PIPELINE_CONFIG = flags.DEFINE_string(
    "pipeline_config_path", None, "pipeline.config whose eval_input_reader gives the records "
    "and label map and whose eval_config gives metrics_set and the per-category options.")
_TFRECORD = flags.DEFINE_list("tfrecord", None, "TF OD API TFRecords (globs allowed).")
_LABEL_MAP = flags.DEFINE_string("label_map_path", None, "Label map of --tfrecord.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Where the results go.", required=True)
_SKIP_MISSING = flags.DEFINE_bool(
    "skip_missing_images", False, "Leave images missing on disk out (of the ground truth "
    "too) instead of failing.")
_BATCH_SIZE = flags.DEFINE_integer(
    "batch_size", 1, "Images per model call, for exports with a batch dimension (images of "
    "one size are batched together).", lower_bound=1)
_BOX_FRAME = flags.DEFINE_enum(
    "box_frame", "image", list(postprocess.BOX_FRAMES),
    "What normalised boxes are relative to: the original image (every TF OD API export) or "
    "the padded square input (some custom exports).")
_INCLUDE_PER_CATEGORY = flags.DEFINE_bool(
    "include_metrics_per_category", None, "Per-category mAP keys in metrics and TensorBoard "
    "(default: the pipeline config's eval_config, else true).")
_ALL_PER_CATEGORY = flags.DEFINE_bool(
    "all_metrics_per_category", None, "All 12 statistics per category (default: the pipeline "
    "config's eval_config, else true).")
_GLOBAL_STEP = flags.DEFINE_integer("global_step", 0, "TensorBoard step of the scalars.")

# Exactly one input: COCO JSON + images, a pipeline config, or TFRecords + label map.
flags.mark_flags_as_mutual_exclusive(["annotations", "pipeline_config_path", "tfrecord"],
                                     required=True)
flags.register_multi_flags_validator(["annotations", "image_dir"],
                                     lambda f: bool(f["annotations"]) == bool(f["image_dir"]),
                                     message="--annotations and --image_dir go together")
flags.register_multi_flags_validator(["tfrecord", "label_map_path"],
                                     lambda f: not f["tfrecord"] or bool(f["label_map_path"]),
                                     message="--tfrecord needs --label_map_path")


def _source_and_config():
  """The image source chosen by the flags, its identity (for the cache) and the config."""
  if _ANNOTATIONS.value:
    source, identity = model_evaluation.coco_json_source(user_paths.resolve(_ANNOTATIONS.value),
                                                         user_paths.resolve(_IMAGE_DIR.value))
    return source, identity, None
  if _TFRECORD.value:
    source = image_sources.TfRecordSource([user_paths.resolve(p) for p in _TFRECORD.value],
                                          user_paths.resolve(_LABEL_MAP.value))
    config = None
  else:
    config = pipeline_config.load(user_paths.resolve(_PIPELINE_CONFIG.value))
    source = image_sources.from_pipeline_config(config, input_patterns=_TFRECORD.value,
                                                label_map_path=_LABEL_MAP.value)
  return source, model_evaluation.source_identity(source), config


def _options() -> model_evaluation.EvaluationOptions:
  return model_evaluation.EvaluationOptions(skip_missing=_SKIP_MISSING.value,
                                            batch_size=_BATCH_SIZE.value,
                                            box_frame=_BOX_FRAME.value,
                                            include_per_category=_INCLUDE_PER_CATEGORY.value,
                                            all_per_category=_ALL_PER_CATEGORY.value,
                                            global_step=_GLOBAL_STEP.value,
                                            **evaluation_flags.shared_options())


def main(argv):
  del argv
  out_dir = None
  try:
    out_dir = user_paths.output_dir(_OUTPUT_DIR.value)
    with output_lock.hold(out_dir, "evaluate_model"):
      source, identity, config = _source_and_config()
      model_evaluation.evaluate(user_paths.resolve(_MODEL_DIR.value), source, out_dir, _options(),
                                identity=identity, config=config,
                                executor_options=distributed_flags.options_from_flags())
  except (FileNotFoundError, ValueError, atomic_io.OutputError, output_lock.OutputLockedError,
          cluster.ClusterError, executor.ExecutorError) as e:  # names the file and the problem
    sys.exit(f"evaluate_model: {e}")
  except tf.errors.OpError as e:  # e.g. an undecodable image: the message names it
    sys.exit(f"evaluate_model: {e.message}")
  except KeyboardInterrupt:  # Ctrl-C: one line, not a traceback through TensorFlow
    kept = (f"; the finished shards are kept in {out_dir}, and a rerun into it resumes from "
            "them" if out_dir else "")
    print(f"evaluate_model: interrupted{kept}", file=sys.stderr)
    sys.exit(128 + signal.SIGINT)


if __name__ == "__main__":
  app.run(main)
