"""//eval:create_coco_tf_record end to end, as a subprocess."""
import os
import subprocess

from absl.testing import absltest

from eval.data import label_map
from eval.data import test_data
from eval.data import tfrecords

_BINARY = os.path.join(os.path.dirname(__file__), "..", "create_coco_tf_record")


def _run(*args, cwd):
  env = dict(os.environ, BUILD_WORKING_DIRECTORY=cwd)
  return subprocess.run([_BINARY, *args], capture_output=True, text=True, env=env)


class CreateCocoTfRecordTest(absltest.TestCase):

  def test_writes_shards_relative_to_the_callers_directory(self):
    work = self.create_tempdir().full_path
    coco = test_data.make_dataset(os.path.join(work, "images"))
    os.rename(os.path.join(work, "images", "instances.json"), os.path.join(work, "ann.json"))
    proc = _run("--annotations=ann.json", "--image_dir=images", "--output_prefix=out/val.record",
                "--num_shards=2", "--include_masks", cwd=work)
    self.assertEqual(proc.returncode, 0, proc.stderr)
    self.assertIn("4/4 images (100%)", proc.stderr)
    self.assertIn("Wrote 4 images, 4 annotations (2 skipped) to 2 shard(s)", proc.stderr)
    self.assertEqual(sorted(os.listdir(os.path.join(work, "out"))),
                     ["val.record-00000-of-00002", "val.record-00001-of-00002"])
    items = [label_map.Item(c["id"], c["name"]) for c in coco["categories"]]
    gt = tfrecords.read_ground_truth(os.path.join(work, "out", "val.record-*"), items)
    self.assertCountEqual([im["id"] for im in gt["images"]], [im["id"] for im in coco["images"]])
    self.assertLen(gt["annotations"], 4)
    self.assertIn("segmentation", gt["annotations"][0])

  def test_missing_image_fails_clearly_and_writes_nothing(self):
    work = self.create_tempdir().full_path
    test_data.make_dataset(work)
    os.remove(os.path.join(work, "gray.jpg"))
    proc = _run("--annotations=instances.json", f"--image_dir={work}", "--output_prefix=out/r",
                cwd=work)
    self.assertEqual(proc.returncode, 1)
    self.assertRegex(proc.stderr, r"error: .*/gray.jpg: cannot read image id 114 .*\n"
                     "No shard was written.")
    self.assertEqual(os.listdir(os.path.join(work, "out")), [])


if __name__ == "__main__":
  absltest.main()
