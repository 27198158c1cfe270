"""How the distributed executor runs: where Ray is, how many workers, what each one gets."""
from __future__ import annotations

import dataclasses
import os

DEFAULT_SHARD_SIZE = 50
LOCAL_ADDRESSES = ("127.0.0.1", "localhost", "::1")


@dataclasses.dataclass(frozen=True)
class ExecutorOptions:
  """What --ray_address, --num_workers, ... say; None means "choose" (see resolve())."""
  ray_address: str | None = None  # None: a local Ray started in this process; "auto" or
  # HOST:PORT: join a running cluster
  num_workers: int | None = None  # model instances (Ray actors) at once
  gpus_per_worker: float | None = None  # fractions allowed (several workers per GPU)
  tf_threads_per_worker: int | None = None  # TensorFlow intra/inter-op threads per worker
  shard_size: int = DEFAULT_SHARD_SIZE  # images per work unit (and per resume file)
  max_restarts: int = 3  # Ray restarts of a worker process that died
  max_task_retries: int = 3  # Ray retries of a shard whose worker died running it
  progress_interval: float = 10.0  # seconds between the run's progress lines

  def __post_init__(self):
    if self.num_workers is not None and self.num_workers < 1:
      raise ValueError(f"num_workers {self.num_workers}: at least 1")
    if self.gpus_per_worker is not None and self.gpus_per_worker < 0:
      raise ValueError(f"gpus_per_worker {self.gpus_per_worker}: not negative")
    if self.tf_threads_per_worker is not None and self.tf_threads_per_worker < 1:
      raise ValueError(f"tf_threads_per_worker {self.tf_threads_per_worker}: at least 1")
    if self.shard_size < 1:
      raise ValueError(f"shard_size {self.shard_size}: at least 1")

  @property
  def in_process(self) -> bool:
    """One worker and no cluster: no Ray at all, the model runs in this process (today's path,
    with shard files and the speed section all the same)."""
    return self.ray_address is None and self.num_workers == 1


# One worker, no cluster: the model runs in the caller's process (no Ray at all).
IN_PROCESS = ExecutorOptions(num_workers=1)


def cpu_count() -> int:
  """CPUs this process may use (its affinity mask, not the machine's count)."""
  try:
    return len(os.sched_getaffinity(0))
  except AttributeError:  # not Linux
    return os.cpu_count() or 1


def local_gpu_count() -> int:
  """GPUs TensorFlow sees here (lists devices without creating a context on them)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return len(tf.config.list_physical_devices("GPU"))


def resolve(options: ExecutorOptions, cpus: float, gpus: float) -> ExecutorOptions:
  """Fills the None fields for a machine or cluster with `cpus` CPUs and `gpus` GPUs.

  What is fastest, measured (/work/shared/docs/ray.md and BENCHMARKS.md): with GPUs, one
  worker per GPU (gpus_per_worker 1) with the CPUs shared among the workers; without, one
  one-thread worker per CPU (two one-thread processes give ~1.6x one two-thread process on 2
  cores: the exported detectors run batch 1 and TF does not keep 2 cores busy on one image).
  """
  gpus_per_worker = options.gpus_per_worker
  if gpus_per_worker is None:
    gpus_per_worker = 1.0 if gpus >= 1 else 0.0
  num_workers = options.num_workers
  threads = options.tf_threads_per_worker
  if num_workers is None:
    if gpus_per_worker > 0:
      num_workers = max(1, int(gpus / gpus_per_worker + 1e-9))
    else:
      num_workers = max(1, int(cpus) // (threads or 1))
  if threads is None:  # the CPUs shared among the workers (1 each with the default count)
    threads = max(1, int(cpus) // num_workers)
  return dataclasses.replace(options, num_workers=num_workers, gpus_per_worker=gpus_per_worker,
                             tf_threads_per_worker=threads)
