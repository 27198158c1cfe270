"""Safe extraction of .tar(.gz) and .zip archives into a directory that is complete or absent.

Every member is checked before anything is written: absolute names, `..` components, links
that resolve outside the target, members reached through a link, and device files or FIFOs
are refused. Extraction goes to a hidden directory beside the target, which is renamed into
place with a marker file last, so an interrupted extraction never looks complete and a
completed one is reused.
"""
from __future__ import annotations

import gzip
import json
import lzma
import os
import posixpath
import re
import shutil
import stat
import tarfile
import tempfile
from typing import Iterable
import zipfile
import zlib

from absl import logging

MARKER = ".extracted.json"


class UnsafeArchiveError(ValueError):
  """The archive has a member that would land outside the target or is not a plain file."""


class CorruptArchiveError(ValueError):
  """The archive cannot be read to its end (truncated download, bad CRC, not an archive)."""


# What reading a damaged .tar.gz / .zip raises: truncated streams, bad CRCs, bad headers.
_CORRUPT = (EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError, tarfile.TarError,
            zipfile.BadZipFile)


def extract(archive_path: str, target_dir: str, *, fingerprint: str | None = None,
            members: Iterable[str] | None = None) -> str:
  """Extracts `archive_path` into `target_dir` (created) and returns `target_dir`.

  `fingerprint` identifies the archive's content (e.g. its sha256; default: size and mtime): a
  target extracted from the same archive is reused, one from another is replaced. `members`
  limits extraction to these names (files, or directories with everything under them).
  """
  archive_path, target_dir = os.path.abspath(archive_path), os.path.abspath(target_dir)
  if fingerprint is None:
    st = os.stat(archive_path)
    fingerprint = f"size={st.st_size},mtime_ns={st.st_mtime_ns}"
  identity = {
      "archive": os.path.basename(archive_path), "fingerprint": fingerprint,
      "members": sorted(_normalise(m) for m in members) if members else None
  }
  if _read_marker(target_dir) == identity:
    return target_dir
  if os.path.lexists(target_dir):
    if not os.path.exists(os.path.join(target_dir, MARKER)):
      raise FileExistsError(f"{target_dir} exists but holds no extraction made by this tool (no "
                            f"{MARKER}); remove it or extract elsewhere")
    logging.warning("%s was extracted from another archive or version; re-extracting %s",
                    target_dir, archive_path)
    shutil.rmtree(target_dir)

  parent, name = os.path.split(target_dir)
  os.makedirs(parent, exist_ok=True)
  _remove_abandoned(parent, name)
  tmp = tempfile.mkdtemp(dir=parent, prefix=f".{name}.partial-{os.getpid()}-")
  try:
    try:
      count = _extract_all(archive_path, tmp, identity["members"])
    except _CORRUPT as e:
      raise CorruptArchiveError(f"{archive_path} is corrupt or truncated ({type(e).__name__}: "
                                f"{e})") from e
    with open(os.path.join(tmp, MARKER), "w") as f:
      json.dump(dict(identity, files=count), f, indent=1)
    try:
      os.rename(tmp, target_dir)
    except OSError:
      if _read_marker(target_dir) != identity:  # else another process just finished the same
        raise
      shutil.rmtree(tmp)
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise
  return target_dir


def is_extracted(target_dir: str) -> bool:
  """Whether `target_dir` holds a completed extraction (of any archive)."""
  return _read_marker(target_dir) is not None


def _read_marker(target_dir: str) -> dict | None:
  try:
    with open(os.path.join(target_dir, MARKER)) as f:
      marker = json.load(f)
  except (OSError, ValueError):
    return None
  marker.pop("files", None)
  return marker


def _remove_abandoned(parent: str, name: str) -> None:
  """Deletes temporary directories of extractions whose process died (killed, power loss)."""
  pattern = re.compile(re.escape(f".{name}.partial-") + r"(\d+)-")
  for entry in os.listdir(parent):
    match = pattern.match(entry)
    if match and not _alive(int(match.group(1))):
      logging.info("removing abandoned partial extraction %s", os.path.join(parent, entry))
      shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    pass
  return True


def _extract_all(archive_path: str, dest: str, members: list[str] | None) -> int:
  if zipfile.is_zipfile(archive_path):
    with zipfile.ZipFile(archive_path) as archive:
      infos = archive.infolist()
      _check_zip(archive_path, infos)
      chosen = _select(archive_path, infos, lambda i: i.filename, members)
      for info in chosen:
        archive.extract(info, dest)
      return len(chosen)
  try:
    archive = tarfile.open(archive_path, "r:*")
  except tarfile.TarError:
    raise CorruptArchiveError(f"{archive_path} is neither a zip nor a (compressed) tar "
                              "archive; the download may be corrupt: delete it to fetch it "
                              "again") from None
  with archive:
    infos = archive.getmembers()  # reads the whole archive: a truncated one fails here
    _check_tar(archive_path, infos)
    chosen = _select(archive_path, infos, lambda i: i.name, members)
    # The "data" filter (Python >= 3.11.4) re-checks the same rules on the real file system.
    extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    archive.extractall(dest, members=chosen, **extra)
    return len(chosen)


def _normalise(name: str) -> str:
  return posixpath.normpath(name.replace("\\", "/")).strip("/")


def _select(archive_path, infos, name_of, members):
  if members is None:
    return infos
  found = set()
  chosen = []
  for info in infos:
    name = _normalise(name_of(info))
    for wanted in members:
      if name == wanted or name.startswith(wanted + "/"):
        found.add(wanted)
        chosen.append(info)
        break
  missing = sorted(set(members) - found)
  if missing:
    raise FileNotFoundError(f"{archive_path} has no member {', '.join(missing)}; is it the right "
                            "archive?")
  return chosen


def _check_name(archive_path: str, name: str) -> str:
  unix = name.replace("\\", "/")
  if not unix or unix.startswith("/") or re.match(r"[A-Za-z]:", unix):
    raise UnsafeArchiveError(f"{archive_path}: member {name!r} has an absolute path; refusing to "
                             "extract (the archive is malformed or malicious)")
  if ".." in unix.split("/"):
    raise UnsafeArchiveError(f"{archive_path}: member {name!r} has a '..' component; refusing to "
                             "extract (the archive is malformed or malicious)")
  return posixpath.normpath(unix)


def _inside(path: str) -> bool:
  return not (path == ".." or path.startswith("../") or path.startswith("/"))


def _check_tar(archive_path: str, infos: list[tarfile.TarInfo]) -> None:
  links = set()
  for info in infos:
    name = _check_name(archive_path, info.name)
    if info.issym() or info.islnk():
      if info.issym():  # relative to the link's directory
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), info.linkname))
      else:  # hard links name another member, relative to the archive's root
        resolved = posixpath.normpath(info.linkname)
      if info.linkname.startswith("/") or not _inside(resolved):
        raise UnsafeArchiveError(f"{archive_path}: link {info.name!r} -> {info.linkname!r} points "
                                 "outside the extraction directory; refusing to extract")
      if info.issym():
        links.add(name)
    elif not (info.isreg() or info.isdir()):
      raise UnsafeArchiveError(f"{archive_path}: member {info.name!r} is a device file or FIFO; "
                               "refusing to extract")
  for info in infos:  # a member written through a symlinked directory could land anywhere
    parts = _normalise(info.name).split("/")
    for i in range(1, len(parts)):
      if "/".join(parts[:i]) in links:
        raise UnsafeArchiveError(f"{archive_path}: member {info.name!r} lies under the symlink "
                                 f"{'/'.join(parts[:i])!r}; refusing to extract")


def _check_zip(archive_path: str, infos: list[zipfile.ZipInfo]) -> None:
  for info in infos:
    _check_name(archive_path, info.filename)
    mode = info.external_attr >> 16  # Unix mode, when the writer recorded one
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
      kind = "a symlink" if stat.S_ISLNK(mode) else "a device file or FIFO"
      raise UnsafeArchiveError(f"{archive_path}: member {info.filename!r} is {kind}; refusing to "
                               "extract (zip archives here must hold plain files)")
