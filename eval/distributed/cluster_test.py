"""Joining clusters: a real 2-node Ray cluster (two raylets on 127.0.0.1) runs the shards,
survives a node that leaves mid-run, and an address where nothing answers fails fast with a
message naming it."""
import glob
import os
import socket
import threading
import time

from absl.testing import absltest

from eval.distributed.testing import fixtures  # first: Ray's environment before Ray loads
from eval.data import image_sources
from eval.distributed import cluster
from eval.distributed import executor
from eval.distributed import options as options_lib
from eval.distributed import shards
from eval.distributed import worker
from eval.distributed.ray_env import ray
from eval.model import detection_model
from eval.model import inference
from ray import cluster_utils

_NUM_IMAGES = 8
_IMAGE_DELAY = 0.3  # seconds per image in the workers: shards last long enough to lose a node
_NODE_ARGS = {"num_cpus": 1, "object_store_memory": 80 * 1024 * 1024}


def _unused_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


class BadAddressTest(absltest.TestCase):

  def test_nothing_listening_fails_fast_naming_the_address(self):
    address = f"127.0.0.1:{_unused_port()}"
    start = time.perf_counter()
    with self.assertRaisesRegex(cluster.ClusterError,
                                f"--ray_address={address}: no Ray cluster answers"):
      executor.run_detections([], options_lib.ExecutorOptions(ray_address=address))
    with self.assertRaisesRegex(cluster.ClusterError, "no Ray cluster answers"):
      cluster.connect(address)
    self.assertLess(time.perf_counter() - start, 15)
    self.assertFalse(ray.is_initialized())

  def test_other_hosts_need_the_cluster_environment(self):
    # Refused before any connection is tried: this process keeps Ray on loopback.
    with self.assertRaisesRegex(cluster.ClusterError, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1"):
      cluster.connect("10.255.255.1:6379")
    with self.assertRaisesRegex(cluster.ClusterError, "not HOST:PORT"):
      cluster.connect("127.0.0.1:port")


class TwoNodeClusterTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.ray_tmp = fixtures.set_ray_environment()
    root = absltest.get_default_test_tmpdir()
    annotations, image_dir, _ = fixtures.make_dataset(os.path.join(root, "data"), _NUM_IMAGES)
    cls.source = image_sources.CocoJsonSource(annotations, image_dir)
    cls.model_dir = fixtures.make_model(os.path.join(root, "model"), _NUM_IMAGES, 3)
    model = detection_model.DetectionModel(cls.model_dir)
    cls.reference = inference.run(model, cls.source, [1, 3, 7], log_interval=None)
    del model
    # Read by the workers, whose processes the nodes start: set before the nodes start.
    os.environ[worker.TEST_IMAGE_DELAY_ENV] = str(_IMAGE_DELAY)
    cls.cluster = cluster_utils.Cluster(initialize_head=True,
                                        head_node_args={"include_dashboard": False, **_NODE_ARGS})
    cls.second_node = cls.cluster.add_node(**_NODE_ARGS)

  @classmethod
  def tearDownClass(cls):
    ray.shutdown()
    cls.cluster.shutdown()
    fixtures.remove_ray_tmpdir(cls.ray_tmp)
    del os.environ[worker.TEST_IMAGE_DELAY_ENV]
    super().tearDownClass()

  def job(self, out: str) -> executor.ModelJob:
    return executor.ModelJob(key="m", model_dir=self.model_dir, source=self.source,
                             category_ids=[1, 3, 7], out_dir=out, input_identity={"n": 8})

  def test_a_node_leaving_mid_run_loses_and_duplicates_nothing(self):
    out = self.create_tempdir().full_path
    cluster.connect(self.cluster.address)
    options = options_lib.ExecutorOptions(ray_address=self.cluster.address, num_workers=2,
                                          tf_threads_per_worker=1, gpus_per_worker=0, shard_size=1,
                                          progress_interval=1.0)
    pool = executor.WorkerPool(options)
    try:
      self.assertLen(set(pool.node_ids), 2)  # one worker per node (1 CPU each)
      lost = pool.node_ids.index(self.second_node.node_id)
      removed = []

      def remove_node_once_a_shard_is_saved():
        deadline = time.time() + 120
        while time.time() < deadline and not glob.glob(
            os.path.join(out, shards.SHARDS_DIR, "shard-*.json")):
          time.sleep(0.01)
        self.cluster.remove_node(self.second_node)
        removed.append(True)

      thread = threading.Thread(target=remove_node_once_a_shard_is_saved)
      thread.start()
      # Ray alone would restart the lost worker where there is room (none here: the other
      # node's CPU is taken) and the shards queued in it would wait with it, for ever.
      result = executor.run_detections([self.job(out)], options, pool=pool)["m"]
      thread.join()
      self.assertEqual(removed, [True])
      self.assertTrue(result.ok, result.error_traceback)
      self.assertEqual(result.detections.bbox, self.reference.bbox)  # each image exactly once
      self.assertEqual(result.detections.num_images, _NUM_IMAGES)
      self.assertEqual(result.speed["shards"]["run"], _NUM_IMAGES)
      # The lost worker was replaced; the new one waits for room, and starts once a node joins.
      self.assertEqual(list(pool.starting.values()), [lost])
      self.assertFalse(pool.alive[lost])
      self.second_node = self.cluster.add_node(**_NODE_ARGS)
      self.assertEqual(pool.poll_started(timeout=120), [lost])
      self.assertEqual(pool.node_ids[lost], self.second_node.node_id)
      again = executor.run_detections([self.job(self.create_tempdir().full_path)], options,
                                      pool=pool)["m"]
      self.assertEqual(again.detections.bbox, self.reference.bbox)
      self.assertEqual(again.speed["nodes"], 2)
    finally:
      pool.shutdown()

  def test_two_nodes_run_the_shards(self):
    out = self.create_tempdir().full_path
    job = self.job(out)
    options = options_lib.ExecutorOptions(ray_address=self.cluster.address, shard_size=2)
    results = executor.run_detections([job], options)
    result = results["m"]
    self.assertTrue(result.ok, result.error_traceback)
    self.assertEqual(result.detections.bbox, self.reference.bbox)
    # Defaults from the cluster's resources: one one-thread worker per CPU, one per node.
    self.assertEqual(result.speed["pool_workers"], 2)
    self.assertEqual(result.speed["tf_threads_per_worker"], 1)
    self.assertEqual(result.speed["nodes"], 2)
    self.assertLen([n for n in ray.nodes() if n["Alive"]], 2)  # (and a removed one, if any)
    self.assertTrue(all(n["NodeManagerAddress"] == "127.0.0.1" for n in ray.nodes()))


if __name__ == "__main__":
  absltest.main()
