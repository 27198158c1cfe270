"""Runs executor.run_detections on jobs from a JSON file: a driver to SIGKILL in tests.

  run_jobs_main --jobs_json=jobs.json --ray_address=127.0.0.1:PORT --shard_size=2
"""
import json

from absl import app
from absl import flags

from eval.distributed import executor
from eval.distributed import options as options_lib
from eval.distributed import source_spec

_JOBS_JSON = flags.DEFINE_string("jobs_json", None, "ModelJob fields per job; source: "
                                 "SourceSpec fields.", required=True)
_RAY_ADDRESS = flags.DEFINE_string("ray_address", None, "Cluster to join.")
_NUM_WORKERS = flags.DEFINE_integer("num_workers", 2, "Workers.")
_SHARD_SIZE = flags.DEFINE_integer("shard_size", 2, "Images per shard.")


def main(argv):
  del argv
  with open(_JOBS_JSON.value) as f:
    specs = json.load(f)
  jobs = [
      executor.ModelJob(**{**d, "source": source_spec.SourceSpec(**d["source"])}) for d in specs
  ]
  options = options_lib.ExecutorOptions(ray_address=_RAY_ADDRESS.value,
                                        num_workers=_NUM_WORKERS.value, tf_threads_per_worker=1,
                                        shard_size=_SHARD_SIZE.value, progress_interval=1.0)
  results = executor.run_detections(jobs, options)
  for key, result in results.items():
    print(key, "ok" if result.ok else f"FAILED {result.error}")


if __name__ == "__main__":
  app.run(main)
