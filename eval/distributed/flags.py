"""The executor's absl flags, shared by //eval:evaluate_model and //eval:all_efficientdet.

  from eval.distributed import flags as distributed_flags   # defines the flags on import
  options = distributed_flags.options_from_flags()          # after absl parsed them
"""
from __future__ import annotations

from absl import flags

from eval.distributed import options as options_lib

RAY_ADDRESS = flags.DEFINE_string(
    "ray_address", None,
    "Ray cluster to run inference on: unset starts a local Ray in this process (on 127.0.0.1); "
    "'auto' joins the cluster `ray start` runs on this machine; HOST:PORT joins that cluster's "
    "head (GCS address). Unset with --num_workers=1 runs in this process without Ray.")
NUM_WORKERS = flags.DEFINE_integer(
    "num_workers", None,
    "Model instances (Ray actors) running at once. Default: what measured fastest: one per GPU "
    "(see --gpus_per_worker), or on a CPU machine one one-thread worker per core.", lower_bound=1)
GPUS_PER_WORKER = flags.DEFINE_float(
    "gpus_per_worker", None,
    "GPUs each worker reserves; fractions put several workers on one GPU (e.g. 0.5). Default "
    "1 when there are GPUs, else 0.", lower_bound=0.0)
TF_THREADS_PER_WORKER = flags.DEFINE_integer(
    "tf_threads_per_worker", None,
    "TensorFlow intra-/inter-op threads (and Ray CPUs) per worker. Default 1 on CPU machines, "
    "the CPUs divided among the workers with GPUs.", lower_bound=1)
SHARD_SIZE = flags.DEFINE_integer(
    "shard_size", options_lib.DEFAULT_SHARD_SIZE,
    "Images per work unit; each finished shard is saved, so a rerun after an interruption "
    "redoes at most the shards that were running.", lower_bound=1)


def options_from_flags() -> options_lib.ExecutorOptions:
  return options_lib.ExecutorOptions(ray_address=RAY_ADDRESS.value or None,
                                     num_workers=NUM_WORKERS.value,
                                     gpus_per_worker=GPUS_PER_WORKER.value,
                                     tf_threads_per_worker=TF_THREADS_PER_WORKER.value,
                                     shard_size=SHARD_SIZE.value)
