"""How a worker gets a model or COCO val2017 on a node that lacks them: the download cache.

No shared file system is assumed. The driver sends paths, plus, for what it downloaded, how to
download it again: the URL, the sha256 of the driver's copy and the cache folder. A worker
uses the path when its node has it (one machine, a shared folder); else it fetches the same
URL into its node's download cache (eval/download: resumable, atomic, one download per file
even when several workers of a node ask at once), requires the driver's sha256, and uses its
own copy. So every node evaluates the very files the driver saw, and each node fetches them
once (the images zip once per node, not once per model as shipping bytes would cost).
"""
from __future__ import annotations

import dataclasses
import os
import socket
import typing

from absl import logging

from configs import model_registry
from eval.data import coco_keypoints
from eval.download import cache as cache_lib
from eval.download import sources

DERIVED_DIR = "derived"  # under the cache: files made from downloads (merged ground truth)


class CocoFiles(typing.NamedTuple):
  annotations_json: str  # the ground truth evaluated (instances, or merged with keypoints)
  image_dir: str
  instances_json: str  # instances_val2017.json itself: the box ground truth
  person_keypoints_json: str | None = None


def coco_val2017(coco_base_url: str, cache: cache_lib.DownloadCache, *,
                 sha256s: dict[str, str] | None = None,
                 with_person_keypoints: bool = False) -> CocoFiles:
  """COCO val2017 from the download cache; with_person_keypoints: its annotations are the
  instances merged with person_keypoints_val2017.json (eval/data/coco_keypoints.py), written
  once under the cache. The same on the driver and on every node."""
  coco = sources.download_coco_val2017(coco_base_url, cache, sha256s=sha256s)
  if not with_person_keypoints:
    return CocoFiles(coco.annotations_json, coco.image_dir, coco.annotations_json)
  keypoints = sources.download_coco_person_keypoints(coco_base_url, cache, sha256s=sha256s)
  merged = coco_keypoints.merged_file(coco.annotations_json, keypoints,
                                      os.path.join(cache.cache_dir, DERIVED_DIR))
  return CocoFiles(merged, coco.image_dir, coco.annotations_json, keypoints)


def _sha256_in_cache(cache: cache_lib.DownloadCache, url: str) -> str | None:
  """The sha256 the cache recorded for `url` (None for file:// URLs: the node reads the file
  at that path itself, and the cache checks nothing else)."""
  return (cache.manifest().get(url) or {}).get("sha256")


@dataclasses.dataclass(frozen=True)
class ZooModelFetch:
  """A zoo model the driver downloaded: how a node without it downloads the same tarball."""
  model_key: str  # configs/model_registry.py key
  zoo_base_url: str
  cache_dir: str
  sha256: str | None

  @classmethod
  def of(cls, entry: model_registry.ZooModel, zoo_base_url: str,
         cache: cache_lib.DownloadCache) -> "ZooModelFetch":
    """For a model just downloaded into `cache`."""
    return cls(entry.key, zoo_base_url, cache.cache_dir,
               _sha256_in_cache(cache, entry.url(zoo_base_url)))

  def local_model_dir(self) -> str:
    entry = model_registry.get(self.model_key)
    logging.info("%s: fetching %s into this node's cache %s", socket.gethostname(),
                 entry.url(self.zoo_base_url), self.cache_dir)
    return sources.download_model(entry, self.zoo_base_url, cache_lib.DownloadCache(self.cache_dir),
                                  sha256=self.sha256)


@dataclasses.dataclass(frozen=True)
class CocoVal2017Fetch:
  """COCO val2017 as the driver downloaded it: how a node without it gets the same zips."""
  coco_base_url: str
  cache_dir: str
  sha256s: tuple[tuple[str, str], ...]  # (url, sha256) of the zips; hashable
  with_person_keypoints: bool = False

  @classmethod
  def of(cls, coco_base_url: str, cache: cache_lib.DownloadCache,
         with_person_keypoints: bool = False) -> "CocoVal2017Fetch":
    """For COCO val2017 just downloaded into `cache` (by coco_val2017())."""
    shas = ((url, _sha256_in_cache(cache, url)) for url in sources.coco_val2017_urls(coco_base_url))
    return cls(coco_base_url, cache.cache_dir, tuple((u, s) for u, s in shas if s),
               with_person_keypoints)

  def local_paths(self) -> CocoFiles:
    logging.info("%s: fetching COCO val2017 from %s into this node's cache %s",
                 socket.gethostname(), self.coco_base_url, self.cache_dir)
    return coco_val2017(self.coco_base_url, cache_lib.DownloadCache(self.cache_dir),
                        sha256s=dict(self.sha256s),
                        with_person_keypoints=self.with_person_keypoints)


def local_model_dir(model_dir: str, fetch: ZooModelFetch | None) -> str:
  """`model_dir` if this node has it, else the model fetched into this node's cache."""
  if fetch is None or os.path.isdir(model_dir):
    return model_dir
  return fetch.local_model_dir()
