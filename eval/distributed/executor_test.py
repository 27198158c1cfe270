"""The executor with real Ray on 127.0.0.1 and real SavedModels: results identical to the
single-process path, several models at once, shard resume, a worker and the driver SIGKILLed.
"""
import glob
import json
import os
import signal
import subprocess
import threading
import time
from unittest import mock

from absl.testing import absltest

from eval.distributed.testing import fixtures  # first: Ray's environment before Ray loads
from eval.data import image_sources
from eval.distributed import executor
from eval.distributed import options as options_lib
from eval.distributed import shards
from eval.distributed import source_spec
from eval.distributed import worker
from eval.distributed.ray_env import ray
from eval.model import detection_model
from eval.model import inference
from eval.model.testing import fake_models

_NUM_IMAGES = 12
_SHARD_SIZE = 2
_IMAGE_DELAY = 0.1  # seconds per image in the workers: shards last long enough to kill one
_DRIVER = os.path.join(os.path.dirname(__file__), "run_jobs_main")


class ExecutorTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.ray_tmp = fixtures.set_ray_environment()
    os.environ[worker.TEST_IMAGE_DELAY_ENV] = str(_IMAGE_DELAY)
    root = absltest.get_default_test_tmpdir()
    cls.annotations, cls.image_dir, cls.gt = fixtures.make_dataset(os.path.join(root, "data"),
                                                                   _NUM_IMAGES)
    cls.source = image_sources.CocoJsonSource(cls.annotations, cls.image_dir)
    cls.identity = {"annotations": cls.annotations, "test": True}
    cls.models = {
        "boxes": fixtures.make_model(os.path.join(root, "boxes"), _NUM_IMAGES, 1),
        "masks": fixtures.make_model(os.path.join(root, "masks"), _NUM_IMAGES, 2, masks=True)
    }
    cls.categories = [c["id"] for c in fixtures.CATEGORIES]
    # The single-process path, in this process: what every distributed run must reproduce.
    cls.reference = {}
    for key, model_dir in cls.models.items():
      model = detection_model.DetectionModel(model_dir)
      cls.reference[key] = inference.run(model, cls.source, cls.categories, log_interval=None)
      del model
    # 4 logical CPUs on 2 cores: this class's pool (2 workers) and a second driver's pool fit.
    cls.address = fixtures.init_local_ray(num_cpus=4)
    cls.options = options_lib.ExecutorOptions(num_workers=2, tf_threads_per_worker=1,
                                              gpus_per_worker=0, shard_size=_SHARD_SIZE,
                                              progress_interval=1.0)
    cls.pool = executor.WorkerPool(cls.options)

  @classmethod
  def tearDownClass(cls):
    cls.pool.shutdown()
    ray.shutdown()
    fixtures.remove_ray_tmpdir(cls.ray_tmp)
    del os.environ[worker.TEST_IMAGE_DELAY_ENV]
    super().tearDownClass()

  def job(self, key, out, model=None, **kwargs):
    return executor.ModelJob(key=key, model_dir=self.models[model or key], source=self.source,
                             category_ids=self.categories, out_dir=os.path.join(out, key),
                             input_identity=self.identity, **kwargs)

  def check_identical(self, result, key, max_images=None):
    self.assertTrue(result.ok, result.error_traceback)
    want = self.reference[key]
    if max_images is not None:
      ids = {im["id"] for im in self.gt["images"][:max_images]}
      want = inference.Detections([r for r in want.bbox if r["image_id"] in ids],
                                  [r for r in want.segm
                                   if r["image_id"] in ids] if want.segm is not None else None,
                                  max_images, 0.0)
    self.assertEqual(result.detections.bbox, want.bbox)  # same dicts, same order
    self.assertEqual(result.detections.segm, want.segm)
    self.assertEqual(result.detections.num_images, max_images or _NUM_IMAGES)

  def assert_same_file(self, out_dir, key):
    """detections.json is the single-process path's file, byte for byte."""
    with open(os.path.join(out_dir, key, inference.DETECTIONS)) as f:
      self.assertEqual(f.read(), json.dumps(self.reference[key].bbox, separators=(",", ":")) + "\n")

  def test_two_workers_two_models_match_the_single_process_path(self):
    out = self.create_tempdir().full_path
    done = []
    results = executor.run_detections(
        [self.job("boxes", out), self.job("masks", out, max_images=7)], self.options,
        pool=self.pool, on_job_done=lambda r: done.append(r.key))
    self.assertCountEqual(done, ["boxes", "masks"])
    self.check_identical(results["boxes"], "boxes")
    self.check_identical(results["masks"], "masks", max_images=7)
    self.assertTrue(results["masks"].has_masks)
    self.assertFalse(results["boxes"].has_masks)
    self.assertEqual(results["boxes"].model_info["saved_model_dir"],
                     os.path.join(self.models["boxes"], "saved_model"))
    self.assertEqual(results["boxes"].pipeline_config,
                     os.path.join(self.models["boxes"], "pipeline.config"))
    self.assert_same_file(out, "boxes")
    speed = results["boxes"].speed
    self.assertEqual(speed["mode"], "ray")
    self.assertEqual(speed["shards"], {"total": 6, "reused": 0, "run": 6, "size": 2})
    self.assertEqual(speed["latency_ms"]["images"], _NUM_IMAGES)
    self.assertGreater(speed["latency_ms"]["p90"], 0)
    self.assertGreater(speed["images_per_second"], 0)
    self.assertEqual(speed["devices"][0]["kind"], "CPU")
    self.assertEqual(speed["devices"][0]["threads"], 1)
    self.assertFalse(os.path.exists(os.path.join(out, "boxes", shards.SHARDS_DIR)))
    # The two models ran at once (each worker started on its own model) instead of one after
    # the other on both workers.
    self.assertLess(results["boxes"].speed["stage_seconds"]["queue"], 1.0)
    self.assertLess(results["masks"].speed["stage_seconds"]["queue"], 1.0)
    # A second run reuses detections.json, as inference.cached_run would.
    again = executor.run_detections([self.job("boxes", out)], self.options, pool=self.pool)
    self.assertTrue(again["boxes"].detections.cached)
    self.assertEqual(again["boxes"].detections.bbox, self.reference["boxes"].bbox)
    self.assertEqual(again["boxes"].model_info, results["boxes"].model_info)

  def test_single_process_cache_is_shared(self):
    out = self.create_tempdir().full_path
    model = detection_model.DetectionModel(self.models["boxes"])
    inference.cached_run(model, self.source, self.categories, os.path.join(out, "boxes"),
                         self.identity, with_masks=True, box_frame="image")
    del model
    results = executor.run_detections([self.job("boxes", out)], self.options, pool=self.pool)
    self.assertTrue(results["boxes"].detections.cached)
    self.assertFalse(results["boxes"].has_masks)  # asked a worker: no model loaded here

  def test_resume_runs_only_the_missing_shards(self):
    out = self.create_tempdir().full_path
    job = self.job("boxes", out)
    # Shards 0 and 2 finished in an "earlier run"; shard 0's file says image 1000 had one
    # marker detection, so its reuse shows in the output.
    paths = detection_model.find_paths(job.model_dir)
    fingerprint = inference.detections_fingerprint(paths.saved_model_dir, self.identity,
                                                   with_masks=True, box_frame="image")
    ids = [im["id"] for im in self.gt["images"]]
    plan = shards.plan(ids, _SHARD_SIZE)
    store = shards.ShardStore(job.out_dir, fingerprint, plan)
    marker = {"image_id": ids[0], "category_id": 1, "bbox": [1.0, 2.0, 3.0, 4.0], "score": 0.123}
    by_image = lambda s: [r for r in self.reference["boxes"].bbox if r["image_id"] in s]
    common = {
        "segm": None, "latencies": [0.01, 0.01], "load_seconds": 0.0, "has_masks": False,
        "info": {"model_dir": "earlier"}, "device": None, "seconds": 0.1
    }
    store.save(plan[0], {**common, "bbox": [marker] + by_image({ids[1]}), "num_images": 2})
    store.save(plan[2], {**common, "bbox": by_image(set(plan[2].image_ids)), "num_images": 2})
    # A shard of another setup (another shard size) is neither used nor kept.
    stale = shards.ShardStore(job.out_dir, fingerprint, shards.plan(ids, 3))
    stale.save(stale.shards[0], {**common, "bbox": [], "num_images": 3})
    results = executor.run_detections([job], self.options, pool=self.pool)
    speed = results["boxes"].speed
    self.assertEqual(speed["shards"], {"total": 6, "reused": 2, "run": 4, "size": 2})
    self.assertEqual((speed["images_run"], speed["images_reused"]), (8, 4))
    bbox = results["boxes"].detections.bbox
    self.assertEqual(bbox[0], marker)
    self.assertEqual(bbox[1:], [r for r in self.reference["boxes"].bbox if r["image_id"] != ids[0]])

  def test_worker_killed_mid_run_loses_and_duplicates_nothing(self):
    out = self.create_tempdir().full_path
    pids = self.pool.pids()
    shard_dir = os.path.join(out, "boxes", shards.SHARDS_DIR)
    killed = []

    def kill_when_first_shard_is_saved():
      deadline = time.time() + 60
      while time.time() < deadline and not glob.glob(os.path.join(shard_dir, "shard-*.json")):
        time.sleep(0.01)
      os.kill(pids[0], signal.SIGKILL)
      killed.append(pids[0])

    thread = threading.Thread(target=kill_when_first_shard_is_saved)
    thread.start()
    results = executor.run_detections([self.job("boxes", out)], self.options, pool=self.pool)
    thread.join()
    self.assertEqual(killed, [pids[0]])
    self.check_identical(results["boxes"], "boxes")
    self.assertEqual(results["boxes"].speed["shards"]["run"], 6)
    self.assertEqual(len(results["boxes"].detections.latencies), _NUM_IMAGES)
    new_pids = self.pool.pids()  # Ray restarted the worker in a new process
    self.assertNotIn(pids[0], new_pids)
    self.assertLen(new_pids, 2)

  def test_driver_killed_then_rerun_resumes_from_finished_shards(self):
    out = self.create_tempdir().full_path
    jobs_json = os.path.join(out, "jobs.json")
    job = self.job("boxes", out)
    spec = source_spec.spec_of(self.source)
    with open(jobs_json, "w") as f:
      json.dump([{
          "key": job.key, "model_dir": job.model_dir, "source": vars(spec), "category_ids":
              job.category_ids, "out_dir": job.out_dir, "input_identity": job.input_identity
      }], f)
    # A driver of its own, joining this test's Ray with a pool of its own.
    driver = subprocess.Popen([
        _DRIVER, f"--jobs_json={jobs_json}", f"--ray_address={self.address}", "--num_workers=2",
        f"--shard_size={_SHARD_SIZE}"
    ])
    shard_dir = os.path.join(job.out_dir, shards.SHARDS_DIR)
    try:
      deadline = time.time() + 120
      while (time.time() < deadline and driver.poll() is None
             and len(glob.glob(os.path.join(shard_dir, "shard-*.json"))) < 2):
        time.sleep(0.01)
      self.assertIsNone(driver.poll(), "the driver ended before it could be killed")
      driver.send_signal(signal.SIGKILL)
    finally:
      driver.kill()
      driver.wait()
    finished = len(glob.glob(os.path.join(shard_dir, "shard-*.json")))
    self.assertBetween(finished, 2, 5)
    self.assertFalse(os.path.exists(os.path.join(job.out_dir, inference.DETECTIONS)))
    results = executor.run_detections([job], self.options, pool=self.pool)
    self.check_identical(results["boxes"], "boxes")
    self.assertEqual(results["boxes"].speed["shards"]["reused"], finished)
    self.assertEqual(results["boxes"].speed["shards"]["run"], 6 - finished)

  def test_a_failing_model_does_not_stop_the_others(self):
    out = self.create_tempdir().full_path
    bad = fake_models.save_non_detector(os.path.join(out, "not_a_detector"))
    self.models["bad"] = bad
    try:
      results = executor.run_detections(
          [self.job("bad", out), self.job("boxes", out)], self.options, pool=self.pool)
    finally:
      del self.models["bad"]
    self.assertIsInstance(results["bad"].error, detection_model.NotADetectorError)
    self.assertIn("does not look like", str(results["bad"].error))
    with self.assertRaises(detection_model.NotADetectorError):
      results["bad"].raise_if_failed()
    self.check_identical(results["boxes"], "boxes")
    gone = executor.ModelJob(key="gone", model_dir=os.path.join(out, "nope"), source=self.source,
                             category_ids=[1], out_dir=os.path.join(out, "gone"), input_identity={})
    missing = executor.run_detections([gone], self.options, pool=self.pool)
    self.assertIsInstance(missing["gone"].error, FileNotFoundError)

  def test_in_process_path_gives_the_same_results(self):
    out = self.create_tempdir().full_path
    options = options_lib.ExecutorOptions(num_workers=1, shard_size=5)
    self.assertTrue(options.in_process)
    results = executor.run_detections([self.job("masks", out)], options)
    self.check_identical(results["masks"], "masks")
    self.assertEqual(results["masks"].speed["mode"], "in_process")
    self.assertEqual(results["masks"].speed["shards"]["total"], 3)

  def test_input_started_ahead_as_on_a_gpu_gives_the_same_results(self):
    # On a GPU the next shard's input starts on a thread while the model runs the current one;
    # this machine has none, so that choice is forced here (the rest is the real path).
    out = self.create_tempdir().full_path
    options = options_lib.ExecutorOptions(num_workers=1, shard_size=5)
    started = []
    real_start = worker.ShardRunner.start_input

    def counting_start(runner, task):
      result = real_start(runner, task)
      if result is not None:  # None: the model was not loaded yet (the first shard)
        started.append((task["image_ids"][0], threading.current_thread()
                        is threading.main_thread()))
      return result

    with mock.patch.object(executor, "_start_ahead", return_value=True), \
        mock.patch.object(worker.ShardRunner, "start_input", counting_start):
      results = executor.run_detections([self.job("masks", out)], options)
    self.check_identical(results["masks"], "masks")
    # Shard 2 was asked for ahead before the model was loaded, so it started in its own call;
    # shard 3 started ahead, on the helper thread, alongside shard 2.
    self.assertCountEqual(started, [(965, True), (930, False)])


if __name__ == "__main__":
  absltest.main()
