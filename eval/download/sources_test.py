"""sources: a zoo-like tarball and COCO-like zips served over 127.0.0.1, through the cache."""
import functools
import hashlib
import http.server
import io
import json
import os
import socket
import tarfile
import threading
import zipfile

from absl.testing import absltest

from configs import model_registry
from eval.download import cache as cache_lib
from eval.download import extract
from eval.download import http_fetch
from eval.download import sources

D0 = model_registry.get("d0")


def _write_tar_gz(path, files):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with tarfile.open(path, "w:gz") as tar:
    for name, data in files.items():
      info = tarfile.TarInfo(name)
      info.size = len(data)
      tar.addfile(info, io.BytesIO(data))


def _write_zip(path, files):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with zipfile.ZipFile(path, "w") as z:
    for name, data in files.items():
      z.writestr(name, data)


class _CountingHandler(http.server.SimpleHTTPRequestHandler):

  def log_message(self, *args):
    pass

  def do_GET(self):
    with self.server.lock:
      self.server.hits.append(self.path)
    super().do_GET()


class SourcesTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.served = self.create_tempdir("served").full_path
    name = D0.model_name
    _write_tar_gz(
        os.path.join(self.served, "zoo", D0.relative_url), {
            f"{name}/saved_model/saved_model.pb": b"fake graph",
            f"{name}/saved_model/variables/variables.index": b"index",
            f"{name}/checkpoint/ckpt-0.index": b"ckpt",
            f"{name}/pipeline.config": b"model { ssd { num_classes: 90 } }",
        })
    self.instances = json.dumps({"images": [{"id": 139}], "annotations": [], "categories": []})
    _write_zip(
        os.path.join(self.served, "coco", model_registry.COCO_ANNOTATIONS_ZIP), {
            "annotations/instances_val2017.json": self.instances,
            "annotations/instances_train2017.json": "{}",
        })
    _write_zip(os.path.join(self.served, "coco", model_registry.COCO_VAL2017_IMAGES_ZIP),
               {f"val2017/{i:012d}.jpg": b"\xff\xd8fake jpeg" for i in (139, 285, 632)})

    handler = functools.partial(_CountingHandler, directory=self.served)
    self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    self.server.daemon_threads = True
    self.server.hits, self.server.lock = [], threading.Lock()
    threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
    self.addCleanup(self.server.server_close)
    self.addCleanup(self.server.shutdown)
    base = f"http://127.0.0.1:{self.server.server_address[1]}"
    self.zoo, self.coco = base + "/zoo", base + "/coco/"
    self.cache = cache_lib.DownloadCache(
        self.create_tempdir("cache").full_path, timeout=5, retries=1, backoff=0.01)

  def test_model_is_downloaded_once_and_reused(self):
    model_dir = sources.download_model(D0, self.zoo, self.cache)
    self.assertEqual(os.path.basename(model_dir), D0.model_name)
    self.assertTrue(os.path.isfile(os.path.join(model_dir, "saved_model", "saved_model.pb")))
    self.assertTrue(os.path.isfile(os.path.join(model_dir, "pipeline.config")))
    self.assertEqual(self.server.hits, ["/zoo/20200711/efficientdet_d0_coco17_tpu-32.tar.gz"])

    self.assertEqual(sources.download_model(D0, self.zoo, self.cache), model_dir)
    self.assertLen(self.server.hits, 1)  # no HTTP request the second time

    tarball = os.path.join(self.served, "zoo", D0.relative_url)
    with open(tarball, "rb") as f:
      data = f.read()
    entry = self.cache.manifest()[D0.url(self.zoo)]
    self.assertEqual(entry["size"], len(data))
    self.assertEqual(entry["sha256"], hashlib.sha256(data).hexdigest())
    self.assertEqual(os.path.join(self.cache.cache_dir, entry["file"]),
                     self.cache.file_path(D0.url(self.zoo)))

  def test_corrupted_cache_entry_is_downloaded_again(self):
    sources.download_model(D0, self.zoo, self.cache)
    cached = self.cache.file_path(D0.url(self.zoo))
    with open(cached, "r+b") as f:
      f.write(b"XX")  # same size, different content
    with self.assertLogs(level="WARNING") as logs:
      model_dir = sources.download_model(D0, self.zoo, self.cache)
    self.assertIn("no longer matches its sha256", "\n".join(logs.output))
    self.assertLen(self.server.hits, 2)
    self.assertTrue(os.path.isfile(os.path.join(model_dir, "pipeline.config")))

  def test_coco_val2017_is_downloaded_once_and_reused(self):
    coco = sources.download_coco_val2017(self.coco, self.cache)
    with open(coco.annotations_json) as f:
      self.assertEqual(f.read(), self.instances)
    self.assertEqual(os.path.basename(coco.annotations_json), "instances_val2017.json")
    self.assertEqual(sorted(os.listdir(coco.image_dir)),
                     ["000000000139.jpg", "000000000285.jpg", "000000000632.jpg"])
    self.assertEqual(os.listdir(os.path.dirname(coco.annotations_json)),
                     ["instances_val2017.json"])  # train annotations stay in the zip
    self.assertEqual(sorted(self.server.hits),
                     ["/coco/annotations/annotations_trainval2017.zip", "/coco/zips/val2017.zip"])
    self.assertEqual(sources.download_coco_val2017(self.coco, self.cache), coco)
    self.assertLen(self.server.hits, 2)
    self.assertLen(self.cache.manifest(), 2)

  def test_file_urls_are_used_in_place(self):
    model_dir = sources.download_model(D0, "file://" + os.path.join(self.served, "zoo"), self.cache)
    self.assertTrue(os.path.isfile(os.path.join(model_dir, "pipeline.config")))
    coco = sources.download_coco_val2017("file://" + os.path.join(self.served, "coco"), self.cache)
    self.assertLen(os.listdir(coco.image_dir), 3)
    self.assertEqual(self.server.hits, [])
    self.assertEqual(self.cache.manifest(), {})

  def test_missing_model_and_unreachable_server(self):
    with self.assertRaisesRegex(http_fetch.NotFoundError, "efficientdet_d1.*not found"):
      sources.download_model(model_registry.get("d1"), self.zoo, self.cache)
    with socket.socket() as s:
      s.bind(("127.0.0.1", 0))
      port = s.getsockname()[1]
    with self.assertRaisesRegex(http_fetch.NetworkUnavailableError,
                                "connection refused.*--zoo_base_url=file:///that/dir"):
      sources.download_model(D0, f"http://127.0.0.1:{port}/zoo", self.cache)
    with self.assertRaisesRegex(http_fetch.NetworkUnavailableError, "--coco_base_url"):
      sources.download_coco_val2017(f"http://127.0.0.1:{port}", self.cache)

  def test_export_found_under_another_top_level_name(self):
    root = self.create_tempdir().full_path
    export = os.path.join(root, "some_other_name")
    os.makedirs(os.path.join(export, "saved_model"))
    for name in ("saved_model/saved_model.pb", "pipeline.config"):
      with open(os.path.join(export, name), "w"):
        pass
    self.assertEqual(sources.find_exported_model(root, "extremenet"), export)
    with self.assertRaisesRegex(FileNotFoundError, "no exported model"):
      sources.find_exported_model(os.path.join(export, "saved_model"), "x")


class CorruptArchiveTest(SourcesTest):
  """A truncated tarball or a zip with a bad CRC is evicted, fetched again, and named."""

  def test_truncated_tarball_is_evicted_and_named(self):
    served = os.path.join(self.served, "zoo", D0.relative_url)
    with open(served, "rb") as f:
      good = f.read()
    with open(served, "wb") as f:
      f.write(good[:len(good) // 2])
    url = D0.url(self.zoo)
    with self.assertRaisesRegex(extract.CorruptArchiveError,
                                f"{url}: the download is corrupt twice in a row"):
      sources.download_model(D0, self.zoo, self.cache)
    self.assertLen([h for h in self.server.hits if h.endswith(".tar.gz")], 2)
    self.assertNotIn(url, self.cache.manifest())
    self.assertFalse(os.path.exists(self.cache.file_path(url)))
    # The server's copy repaired: the next run just works.
    with open(served, "wb") as f:
      f.write(good)
    model_dir = sources.download_model(D0, self.zoo, self.cache)
    self.assertTrue(os.path.isfile(os.path.join(model_dir, "pipeline.config")))

  def test_bad_crc_in_a_zip_is_named(self):
    path = os.path.join(self.served, "coco", model_registry.COCO_ANNOTATIONS_ZIP)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
      z.writestr("annotations/instances_val2017.json", self.instances)
    with open(path, "r+b") as f:
      data = f.read()
      at = data.index(b'"images"')
      f.seek(at)
      f.write(b"'")  # one byte of the member changed: its CRC no longer matches
    with self.assertRaisesRegex(extract.CorruptArchiveError, "BadZipFile.*CRC"):
      sources.download_coco_val2017(self.coco, self.cache)

  def test_a_corrupt_local_copy_is_named_and_kept(self):
    local = self.create_tempdir("mirror").full_path
    path = os.path.join(local, "20200711", f"{D0.model_name}.tar.gz")
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as f:
      f.write(b"\x1f\x8b\x08\x00 not really gzip")
    with self.assertRaisesRegex(extract.CorruptArchiveError, "replace this local copy"):
      sources.download_model(D0, f"file://{local}", self.cache)
    self.assertTrue(os.path.exists(path))


if __name__ == "__main__":
  absltest.main()
