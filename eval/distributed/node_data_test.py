"""A worker on a node without the driver's files: it downloads the model and COCO val2017
through the download cache (a real HTTP server on 127.0.0.1), checks the driver's sha256 and
gives the driver's detections; a server whose file changed is refused, naming the URL."""
import functools
import http.server
import os
import shutil
import tarfile
import threading
import zipfile

from absl.testing import absltest

from configs import model_registry
from eval.data import image_sources
from eval.distributed import node_data
from eval.distributed import source_spec
from eval.distributed import worker
from eval.distributed.testing import fixtures
from eval.download import cache as cache_lib
from eval.download import http_fetch
from eval.download import sources
from eval.model import detection_model
from eval.model import inference

_NUM_IMAGES = 5
_ENTRY = model_registry.get("d0")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):

  def log_message(self, *args):
    del args


def _write_mirror(root: str, work: str) -> tuple[str, str]:
  """A zoo tree and a COCO tree with the real layouts; returns (zoo dir, coco dir)."""
  annotations, image_dir, _ = fixtures.make_dataset(os.path.join(work, "data"), _NUM_IMAGES)
  export = os.path.join(work, "export", _ENTRY.model_name)
  fixtures.make_model(export, _NUM_IMAGES, seed=4)
  zoo = os.path.join(root, "zoo")
  os.makedirs(os.path.join(zoo, _ENTRY.release))
  with tarfile.open(os.path.join(zoo, _ENTRY.relative_url), "w:gz") as tar:
    tar.add(export, arcname=_ENTRY.model_name)
  coco = os.path.join(root, "coco")
  for relative in (model_registry.COCO_ANNOTATIONS_ZIP, model_registry.COCO_VAL2017_IMAGES_ZIP):
    os.makedirs(os.path.dirname(os.path.join(coco, relative)), exist_ok=True)
  with zipfile.ZipFile(os.path.join(coco, model_registry.COCO_ANNOTATIONS_ZIP), "w") as z:
    z.write(annotations, model_registry.COCO_VAL2017_INSTANCES_MEMBER)
  with zipfile.ZipFile(os.path.join(coco, model_registry.COCO_VAL2017_IMAGES_ZIP), "w") as z:
    for name in sorted(os.listdir(image_dir)):
      z.write(os.path.join(image_dir, name), f"{model_registry.COCO_VAL2017_IMAGE_DIR}/{name}")
  return zoo, coco


class NodeWithoutTheFilesTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    root = absltest.get_default_test_tmpdir()
    cls.mirror = os.path.join(root, "mirror")
    _write_mirror(cls.mirror, os.path.join(root, "work"))
    handler = functools.partial(_QuietHandler, directory=cls.mirror)
    cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=cls.server.serve_forever, daemon=True).start()
    cls.base = f"http://127.0.0.1:{cls.server.server_address[1]}"

  @classmethod
  def tearDownClass(cls):
    cls.server.shutdown()
    cls.server.server_close()
    super().tearDownClass()

  def driver_download(self, cache_dir: str):
    """What the sweep's driver does: download both, then describe them for the workers."""
    cache = cache_lib.DownloadCache(cache_dir)
    model_dir = sources.download_model(_ENTRY, f"{self.base}/zoo", cache)
    coco = sources.download_coco_val2017(f"{self.base}/coco", cache)
    return (model_dir, coco, node_data.ZooModelFetch.of(_ENTRY, f"{self.base}/zoo", cache),
            node_data.CocoVal2017Fetch.of(f"{self.base}/coco", cache))

  def test_worker_downloads_what_its_node_lacks_and_gets_the_same_detections(self):
    cache_dir = self.create_tempdir().full_path
    model_dir, coco, model_fetch, coco_fetch = self.driver_download(cache_dir)
    self.assertIsNotNone(model_fetch.sha256)
    self.assertLen(coco_fetch.sha256s, 2)
    source = image_sources.CocoJsonSource(coco.annotations_json, coco.image_dir)
    ids = image_sources.image_ids(source)
    reference = inference.run(detection_model.DetectionModel(model_dir), source, [1, 3, 7],
                              log_interval=None)
    # The same --cache_dir path on a node that has nothing in it yet.
    shutil.rmtree(cache_dir)
    task = {
        "model_dir": model_dir, "model_fetch": model_fetch, "image_ids": ids,
        "source": source_spec.spec_of(source, coco_fetch), "category_ids": [1, 3, 7],
        "batch_size": 1, "with_masks": True, "box_frame": "image"
    }
    output = worker.ShardRunner().run_shard(task)
    self.assertEqual(output["bbox"], reference.bbox)
    self.assertEqual(output["num_images"], _NUM_IMAGES)
    self.assertTrue(os.path.isfile(os.path.join(model_dir, "saved_model", "saved_model.pb")))
    self.assertTrue(os.path.isfile(coco.annotations_json))

  def test_a_node_fetching_a_changed_file_is_refused(self):
    cache_dir = self.create_tempdir().full_path
    model_dir, _, model_fetch, _ = self.driver_download(cache_dir)
    shutil.rmtree(cache_dir)
    tarball = os.path.join(self.mirror, "zoo", _ENTRY.relative_url)
    saved = tarball + ".orig"
    shutil.copy(tarball, saved)
    try:
      with open(tarball, "ab") as f:  # the mirror's copy changed after the driver's download
        f.write(b"\0" * 1024)
      with self.assertRaisesRegex(http_fetch.ChecksumError, _ENTRY.file_name):
        node_data.local_model_dir(model_dir, model_fetch)
    finally:
      os.replace(saved, tarball)

  def test_a_node_with_the_files_uses_them(self):
    cache_dir = self.create_tempdir().full_path
    model_dir, _, model_fetch, _ = self.driver_download(cache_dir)
    gone = node_data.ZooModelFetch(_ENTRY.key, "http://127.0.0.1:9/none", cache_dir, None)
    self.assertEqual(node_data.local_model_dir(model_dir, gone), model_dir)  # no fetch at all
    self.assertEqual(node_data.local_model_dir(model_dir, None), model_dir)
    del model_fetch


if __name__ == "__main__":
  absltest.main()
