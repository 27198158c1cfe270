"""Shard plans, shard files (atomic, keyed so stale ones are never reused) and option defaults."""
import json
import os

from absl.testing import absltest
from absl.testing import flagsaver

from eval.distributed import flags as distributed_flags
from eval.distributed import options as options_lib
from eval.distributed import shards


class ShardsTest(absltest.TestCase):

  def test_plan_keeps_order_and_covers_every_id_once(self):
    plan = shards.plan([9, 4, 7, 1, 3], 2)
    self.assertEqual([s.image_ids for s in plan], [(9, 4), (7, 1), (3,)])
    self.assertEqual([s.index for s in plan], [0, 1, 2])
    self.assertEqual(shards.plan([], 3), [])

  def test_store_round_trip_and_keys(self):
    out = self.create_tempdir().full_path
    plan = shards.plan([1, 2, 3], 2)
    store = shards.ShardStore(out, {"model": "a", "max_images": None}, plan)
    self.assertIsNone(store.load(plan[0]))
    store.save(plan[0], {"bbox": [{"image_id": 1}], "num_images": 2})
    self.assertEqual(store.load(plan[0]), {"bbox": [{"image_id": 1}], "num_images": 2})
    self.assertEqual([n for n in os.listdir(store.dir) if n.endswith(".tmp")], [])
    # Another fingerprint, another shard size or other images: another key, nothing reused.
    other = shards.ShardStore(out, {"model": "b", "max_images": None}, plan)
    self.assertNotEqual(other.key, store.key)
    self.assertIsNone(other.load(plan[0]))
    resized = shards.ShardStore(out, {"model": "a", "max_images": None}, shards.plan([1, 2, 3], 1))
    self.assertNotEqual(resized.key, store.key)
    # A file whose content does not match its name (edited, copied) is not trusted.
    with open(store.path(plan[1]), "w") as f:
      json.dump({"fingerprint": {"model": "x"}, "image_ids": [3], "output": {}}, f)
    self.assertIsNone(store.load(plan[1]))
    with open(store.path(plan[1]), "w") as f:
      f.write("{truncated")
    self.assertIsNone(store.load(plan[1]))
    self.assertEqual(other.remove_stale(), 2)  # store's two files
    self.assertEqual(os.listdir(other.dir), [])
    store.remove_all()
    self.assertFalse(os.path.exists(store.dir))


class OptionsTest(absltest.TestCase):

  def test_defaults_cpu_machine(self):
    o = options_lib.resolve(options_lib.ExecutorOptions(), cpus=2, gpus=0)
    self.assertEqual((o.num_workers, o.tf_threads_per_worker, o.gpus_per_worker), (2, 1, 0.0))
    o = options_lib.resolve(options_lib.ExecutorOptions(num_workers=1), cpus=8, gpus=0)
    self.assertEqual((o.num_workers, o.tf_threads_per_worker), (1, 8))
    o = options_lib.resolve(options_lib.ExecutorOptions(tf_threads_per_worker=2), cpus=8, gpus=0)
    self.assertEqual((o.num_workers, o.tf_threads_per_worker), (4, 2))

  def test_defaults_gpu_machine(self):
    o = options_lib.resolve(options_lib.ExecutorOptions(), cpus=16, gpus=4)
    self.assertEqual((o.num_workers, o.tf_threads_per_worker, o.gpus_per_worker), (4, 4, 1.0))
    o = options_lib.resolve(options_lib.ExecutorOptions(gpus_per_worker=0.5), cpus=16, gpus=2)
    self.assertEqual((o.num_workers, o.tf_threads_per_worker), (4, 4))

  def test_in_process_and_validation(self):
    self.assertTrue(options_lib.ExecutorOptions(num_workers=1).in_process)
    self.assertFalse(options_lib.ExecutorOptions(num_workers=1, ray_address="auto").in_process)
    self.assertFalse(options_lib.ExecutorOptions().in_process)
    with self.assertRaisesRegex(ValueError, "shard_size"):
      options_lib.ExecutorOptions(shard_size=0)

  def test_options_from_flags(self):
    self.assertEqual(distributed_flags.options_from_flags(), options_lib.ExecutorOptions())
    with flagsaver.flagsaver(ray_address="127.0.0.1:6379", num_workers=3, gpus_per_worker=0.5,
                             tf_threads_per_worker=2, shard_size=7):
      self.assertEqual(
          distributed_flags.options_from_flags(),
          options_lib.ExecutorOptions(ray_address="127.0.0.1:6379", num_workers=3,
                                      gpus_per_worker=0.5, tf_threads_per_worker=2, shard_size=7))


if __name__ == "__main__":
  absltest.main()
