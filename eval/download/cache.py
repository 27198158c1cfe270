"""Downloaded files kept under one directory, with a manifest checked on every reuse.

Layout: `<cache_dir>/files/<url hash>/<file name>` and `<cache_dir>/manifest.json`
({"version": 1, "files": {url: {"file", "size", "sha256"}}}, replaced atomically). A cached file
whose size or sha256 no longer matches its manifest entry is downloaded again, with a warning.
file:// URLs are used in place: copying a local mirror into the cache would only cost disk.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import posixpath
import time
from typing import Iterator
import urllib.parse

from absl import logging

from eval import atomic_io
from eval.download import http_fetch

MANIFEST = "manifest.json"
_VERSION = 1


def default_cache_dir() -> str:
  """$XDG_CACHE_HOME/detector_eval, or ~/.cache/detector_eval."""
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return os.path.join(base, "detector_eval")


@dataclasses.dataclass(frozen=True)
class CachedFile:
  url: str
  path: str
  size: int
  sha256: str


class DownloadCache:
  """Fetches each URL once into `cache_dir` (default: default_cache_dir()).

  `fetch_options` (timeout, retries, backoff) are passed to http_fetch.fetch.
  """

  def __init__(self, cache_dir: str | None = None, **fetch_options):
    self.cache_dir = os.path.abspath(cache_dir or default_cache_dir())
    self._fetch_options = fetch_options

  @property
  def manifest_path(self) -> str:
    return os.path.join(self.cache_dir, MANIFEST)

  def file_path(self, url: str) -> str:
    return os.path.join(self.cache_dir, "files", _url_key(url), _file_name(url))

  def extract_dir(self, url: str) -> str:
    """Where the archive at `url` is extracted (see extract.extract)."""
    name = _file_name(url)
    for suffix in (".tar.gz", ".tgz", ".tar", ".zip"):
      name = name.removesuffix(suffix)
    return os.path.join(self.cache_dir, "extracted", _url_key(url), name)

  def manifest(self) -> dict[str, dict]:
    """url -> {"file": path relative to cache_dir, "size", "sha256"}."""
    try:
      with open(self.manifest_path) as f:
        data = json.load(f)
    except FileNotFoundError:
      return {}
    except (OSError, ValueError) as e:
      logging.warning(
          "cache manifest %s is unreadable (%s); cached files will be downloaded "
          "again", self.manifest_path, e)
      return {}
    return data.get("files", {}) if isinstance(data, dict) else {}

  def get(self, url: str, *, sha256: str | None = None,
          progress: http_fetch.ProgressCallback | None = None,
          offline_hint: str = http_fetch.DEFAULT_OFFLINE_HINT) -> CachedFile:
    """The cached copy of `url`, downloaded first if missing, changed or not `sha256`."""
    if urllib.parse.urlsplit(url).scheme.lower() == "file":
      return self._local(url, sha256)
    path = self.file_path(url)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with _locked(path + ".lock"):  # one download per file, also across processes
      entry = self.manifest().get(url)
      if entry is not None:
        problem = self._check(entry, path, sha256)
        if problem is None:
          return CachedFile(url, path, entry["size"], entry["sha256"])
        logging.warning("cached %s %s; downloading it again", path, problem)
        with contextlib.suppress(FileNotFoundError):
          os.unlink(path)
      result = http_fetch.fetch(url, path, sha256=sha256, offline_hint=offline_hint,
                                progress=progress or http_fetch.log_progress(_file_name(url)),
                                **self._fetch_options)
      self._record(
          url, {
              "file": os.path.relpath(path, self.cache_dir), "size": result.size,
              "sha256": result.sha256, "fetched": time.strftime("%Y-%m-%dT%H:%M:%S")
          })
      return CachedFile(url, path, result.size, result.sha256)

  def _local(self, url: str, sha256: str | None) -> CachedFile:
    path = http_fetch.local_path(url)
    if not os.path.isfile(path):
      raise http_fetch.NotFoundError(
          f"{url}: no such file {path}; a local mirror needs the same layout as the server")
    actual = http_fetch.sha256_of(path)
    if sha256 is not None and actual != sha256.lower():
      raise http_fetch.ChecksumError(f"{path}: sha256 {actual}, expected {sha256}; replace the "
                                     "local copy")
    return CachedFile(url, path, os.path.getsize(path), actual)

  def evict(self, url: str) -> None:
    """Forgets `url`: its file and manifest entry go (a bad download is fetched again)."""
    if urllib.parse.urlsplit(url).scheme.lower() == "file":
      return  # the user's own copy: never deleted
    path = self.file_path(url)
    with _locked(path + ".lock"):
      with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
      self._record(url, None)

  @staticmethod
  def _check(entry: dict, path: str, sha256: str | None) -> str | None:
    """Why the cached file cannot be reused, or None."""
    if sha256 is not None and entry.get("sha256") != sha256.lower():
      return "is not the expected version (sha256 differs)"
    try:
      size = os.path.getsize(path)
    except FileNotFoundError:
      return "is missing"
    if size != entry.get("size"):
      return f"has {size} bytes, the manifest says {entry.get('size')}"
    if http_fetch.sha256_of(path) != entry.get("sha256"):
      return "no longer matches its sha256 in the manifest (corrupted or modified)"
    return None

  def _record(self, url: str, entry: dict | None) -> None:
    """Sets the manifest entry of `url` (None removes it)."""
    with _locked(self.manifest_path + ".lock"):  # read-modify-write by concurrent processes
      files = self.manifest()
      if entry is None and url not in files:
        return
      if entry is None:
        del files[url]
      else:
        files[url] = entry
      atomic_io.write_json(self.manifest_path, {"version": _VERSION, "files": files})


def _url_key(url: str) -> str:
  return hashlib.sha256(url.encode()).hexdigest()[:16]


def _file_name(url: str) -> str:
  name = urllib.parse.unquote(posixpath.basename(urllib.parse.urlsplit(url).path))
  name = name.replace("/", "_").replace("\\", "_")  # an escaped '/' must not make a path
  return name if name.strip(".") else "download"


@contextlib.contextmanager
def _locked(lock_path: str) -> Iterator[None]:
  os.makedirs(os.path.dirname(lock_path), exist_ok=True)
  with open(lock_path, "a") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(f, fcntl.LOCK_UN)
