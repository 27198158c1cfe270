"""What the sweep downloads: zoo model exports and COCO 2017 val, fetched and extracted once."""
from __future__ import annotations

import os
import typing
import urllib.parse

from absl import logging

from configs import model_registry
from eval.download import cache as cache_lib
from eval.download import extract

ZOO_OFFLINE_HINT = (
    "Without network access, put the tarballs in a directory with the zoo's layout "
    "(<dir>/<release>/<file>, e.g. <dir>/20200711/efficientdet_d0_coco17_tpu-32.tar.gz) and pass "
    "--zoo_base_url=file:///that/dir, or point --zoo_base_url at an http(s) mirror with that "
    "layout (local copies of the zoo's files work the same).")
COCO_OFFLINE_HINT = (
    "Without network access, put local copies in a directory with COCO's layout "
    f"(<dir>/{model_registry.COCO_VAL2017_IMAGES_ZIP}, <dir>/{model_registry.COCO_ANNOTATIONS_ZIP})"
    " and pass --coco_base_url=file:///that/dir, or point --coco_base_url at an http(s) mirror "
    "with that layout.")


class CocoVal2017(typing.NamedTuple):
  annotations_json: str  # instances_val2017.json
  image_dir: str  # holds the val2017 *.jpg files


def download_model(entry: model_registry.ZooModel, zoo_base_url: str = model_registry.ZOO_BASE_URL,
                   cache: cache_lib.DownloadCache | None = None, *,
                   sha256: str | None = None) -> str:
  """Downloads and extracts one zoo tarball; returns the exported model directory (the one
  holding saved_model/ and pipeline.config). sha256: the tarball must be this file."""
  cache = cache or cache_lib.DownloadCache()
  url = entry.url(zoo_base_url)
  root = fetch_and_extract(cache, url, ZOO_OFFLINE_HINT, sha256=sha256)
  return find_exported_model(root, entry.model_name, url)


def fetch_and_extract(cache: cache_lib.DownloadCache, url: str, offline_hint: str,
                      members: list[str] | None = None, sha256: str | None = None,
                      extract_name: str | None = None) -> str:
  """The extraction of the archive at `url` (cached; the file `sha256` if given); a corrupt
  archive is evicted and fetched once more. CorruptArchiveError names the URL if the second
  copy is corrupt too. extract_name: extract `members` into a folder of their own (beside
  the archive's usual one, which keeps its own members)."""
  target = cache.extract_dir(url) + (f".{extract_name}" if extract_name else "")
  for attempt in (1, 2):
    archive = cache.get(url, sha256=sha256, offline_hint=offline_hint)
    try:
      return extract.extract(archive.path, target, fingerprint=archive.sha256, members=members)
    except extract.CorruptArchiveError as e:
      if urllib.parse.urlsplit(url).scheme.lower() == "file":
        raise extract.CorruptArchiveError(f"{e}; replace this local copy of {url}") from e
      cache.evict(url)
      if attempt == 2:
        raise extract.CorruptArchiveError(
            f"{url}: the download is corrupt twice in a row ({e}); removed from the cache. "
            "The server's copy may be damaged: try a mirror (--zoo_base_url/--coco_base_url)"
        ) from e
      logging.warning("%s; removed from the cache, downloading it again", e)
  raise AssertionError("unreachable")


def find_exported_model(root: str, model_name: str, source: str = "") -> str:
  """`root/model_name` if it is an export (the zoo's layout), else the only export under root."""
  preferred = os.path.join(root, model_name)
  if _is_export(preferred):
    return preferred
  found = sorted(d for d, _, _ in os.walk(root) if _is_export(d))
  if len(found) == 1:
    return found[0]
  source = source or root
  if not found:
    raise FileNotFoundError(
        f"{source}: no exported model in the archive (a directory with saved_model/"
        f"saved_model.pb and pipeline.config; extracted to {root}); is it a TF2 zoo tarball?")
  raise ValueError(f"{source}: several exported models in the archive ({', '.join(found)}); "
                   f"none is named {model_name}")


def _is_export(directory: str) -> bool:
  return (os.path.isfile(os.path.join(directory, "saved_model", "saved_model.pb"))
          and os.path.isfile(os.path.join(directory, "pipeline.config")))


def coco_val2017_urls(coco_base_url: str = model_registry.COCO_BASE_URL) -> tuple[str, str]:
  """The URLs of the annotations zip and the images zip."""
  return (model_registry.coco_url(model_registry.COCO_ANNOTATIONS_ZIP, coco_base_url),
          model_registry.coco_url(model_registry.COCO_VAL2017_IMAGES_ZIP, coco_base_url))


def download_coco_val2017(coco_base_url: str = model_registry.COCO_BASE_URL,
                          cache: cache_lib.DownloadCache | None = None, *,
                          sha256s: typing.Mapping[str, str] | None = None) -> CocoVal2017:
  """Downloads both COCO 2017 zips; extracts instances_val2017.json and the val2017 images.
  sha256s: {url: sha256} the zips must match."""
  cache = cache or cache_lib.DownloadCache()
  sha256s = sha256s or {}
  annotations_url, images_url = coco_val2017_urls(coco_base_url)
  annotations = os.path.join(
      fetch_and_extract(cache, annotations_url, COCO_OFFLINE_HINT,
                        members=[model_registry.COCO_VAL2017_INSTANCES_MEMBER],
                        sha256=sha256s.get(annotations_url)),
      model_registry.COCO_VAL2017_INSTANCES_MEMBER)
  images = os.path.join(
      fetch_and_extract(cache, images_url, COCO_OFFLINE_HINT,
                        members=[model_registry.COCO_VAL2017_IMAGE_DIR],
                        sha256=sha256s.get(images_url)), model_registry.COCO_VAL2017_IMAGE_DIR)
  count = sum(1 for name in os.listdir(images) if name.lower().endswith(".jpg"))
  if count != model_registry.COCO_VAL2017_NUM_IMAGES:
    logging.warning("%s holds %d images; COCO val2017 has %d", images, count,
                    model_registry.COCO_VAL2017_NUM_IMAGES)
  return CocoVal2017(annotations, images)


def download_coco_person_keypoints(coco_base_url: str = model_registry.COCO_BASE_URL,
                                   cache: cache_lib.DownloadCache | None = None, *,
                                   sha256s: typing.Mapping[str, str] | None = None) -> str:
  """person_keypoints_val2017.json from the annotations zip (the keypoint ground truth)."""
  cache = cache or cache_lib.DownloadCache()
  url, _ = coco_val2017_urls(coco_base_url)
  member = model_registry.COCO_VAL2017_PERSON_KEYPOINTS_MEMBER
  root = fetch_and_extract(cache, url, COCO_OFFLINE_HINT, members=[member],
                           sha256=(sha256s or {}).get(url), extract_name="person_keypoints")
  return os.path.join(root, member)
