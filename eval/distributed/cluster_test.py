"""Joining clusters: a real 2-node Ray cluster (two raylets on 127.0.0.1) runs the shards,
and an address where nothing answers fails fast with a message naming it."""
import os
import socket
import time

from absl.testing import absltest

from eval.distributed.testing import fixtures  # first: Ray's environment before Ray loads
from eval.data import image_sources
from eval.distributed import cluster
from eval.distributed import executor
from eval.distributed import options as options_lib
from eval.distributed.ray_env import ray
from eval.model import detection_model
from eval.model import inference
from ray import cluster_utils

_NUM_IMAGES = 8


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
    cls.cluster = cluster_utils.Cluster(
        initialize_head=True, head_node_args={
            "num_cpus": 1, "include_dashboard": False, "object_store_memory": 80 * 1024 * 1024
        })
    cls.cluster.add_node(num_cpus=1, object_store_memory=80 * 1024 * 1024)

  @classmethod
  def tearDownClass(cls):
    ray.shutdown()
    cls.cluster.shutdown()
    fixtures.remove_ray_tmpdir(cls.ray_tmp)
    super().tearDownClass()

  def test_two_nodes_run_the_shards(self):
    out = self.create_tempdir().full_path
    job = executor.ModelJob(key="m", model_dir=self.model_dir, source=self.source,
                            category_ids=[1, 3, 7], out_dir=out, input_identity={"n": 8})
    options = options_lib.ExecutorOptions(ray_address=self.cluster.address, shard_size=2)
    results = executor.run_detections([job], options)
    result = results["m"]
    self.assertTrue(result.ok, result.error_traceback)
    self.assertEqual(result.detections.bbox, self.reference.bbox)
    # Defaults from the cluster's resources: one one-thread worker per CPU, one per node.
    self.assertEqual(result.speed["pool_workers"], 2)
    self.assertEqual(result.speed["tf_threads_per_worker"], 1)
    self.assertEqual(result.speed["nodes"], 2)
    self.assertEqual(len(ray.nodes()), 2)
    self.assertTrue(all(n["NodeManagerAddress"] == "127.0.0.1" for n in ray.nodes()))


if __name__ == "__main__":
  absltest.main()
