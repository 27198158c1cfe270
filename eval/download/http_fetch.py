"""Robust download of one URL (http, https or file) to one file.

A download goes to `<dest>.partial` and is renamed to `<dest>` only once its length (and
sha256, if given) checked out, so a file at `dest` is always complete. Interrupted transfers
resume from the partial file with an HTTP Range request guarded by If-Range (the ETag or
Last-Modified of the answer that started it, kept in `<dest>.partial.validator`), so a file
that changed on the server in between is fetched again from the start, never spliced; stalls,
dropped connections and 5xx answers are retried with exponential backoff; 404 fails at once;
a full or read-only disk fails at once, naming the file; a transfer slower than MIN_RATE
(after DEADLINE_BASE_S) ends with an error instead of an endless ETA.
"""
from __future__ import annotations

import errno
import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import time
import typing
from typing import Callable, Optional
import urllib.error
import urllib.parse
import urllib.request

from absl import logging

# progress(bytes_done, total_bytes or None, bytes_per_second)
ProgressCallback = Callable[[int, Optional[int], float], None]

CHUNK = 1 << 20
MAX_BACKOFF_S = 60.0
PROGRESS_INTERVAL_S = 1.0
# An attempt that extends the download by this much earns a fresh budget of retries, so a long
# download survives many dropped connections while a server that trickles and stalls does not.
FRESH_RETRIES_AFTER = 1 << 20
DEFAULT_OFFLINE_HINT = (
    "If this machine has no network access, download the file elsewhere and point the tool at "
    "a mirror or local copies with the same layout (--zoo_base_url / --coco_base_url accept "
    "http(s):// URLs and file:///path/to/dir).")
# The overall deadline of a download of N bytes: DEADLINE_BASE_S + N / MIN_RATE seconds.
MIN_RATE = 16 << 10  # bytes/s: 1 GB in 18 h, COCO's 241 MB annotations in 4 h
DEADLINE_BASE_S = 120.0
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
_RETRYABLE_HTTP = {408, 425, 429, 500, 502, 503, 504}
_NOT_FOUND_HTTP = {404, 410}


class FetchError(Exception):
  """A download failed; the message names the URL, the problem and what to do."""


class NotFoundError(FetchError):
  """The server (or directory) has no such file: retrying would not help."""


class ChecksumError(FetchError):
  """The downloaded bytes do not have the expected sha256."""


class NetworkUnavailableError(FetchError):
  """Connection refused, DNS failure or no route, on every attempt."""


class DiskError(FetchError):
  """The download cannot be written (disk full, read-only, no permission): not retried."""


class TooSlowError(FetchError):
  """The transfer would not finish within its deadline (a trickling server)."""


class FetchResult(typing.NamedTuple):
  path: str
  size: int
  sha256: str


class _Retryable(Exception):
  """One attempt failed in a way that another attempt may fix."""

  def __init__(self, reason: str, unreachable: bool = False):
    super().__init__(reason)
    self.unreachable = unreachable


def sha256_of(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(CHUNK), b""):
      digest.update(block)
  return digest.hexdigest()


def fetch(url: str, dest_path: str, *, sha256: str | None = None, timeout: float = 30,
          retries: int = 4, backoff: float = 1.0, progress: ProgressCallback | None = None,
          offline_hint: str = DEFAULT_OFFLINE_HINT, min_rate: float = MIN_RATE,
          deadline_base: float = DEADLINE_BASE_S) -> FetchResult:
  """Downloads `url` to `dest_path` (replacing it) and returns its path, size and sha256.

  `timeout` bounds the connection and every single read (a stalled server), not the whole
  transfer. `retries` more attempts follow a failed one, after backoff * 2**n seconds; an
  attempt that got FRESH_RETRIES_AFTER bytes further than any before it resets that count.
  The whole download (all attempts) must finish within deadline_base + size / min_rate s.
  """
  dest_path = os.path.abspath(dest_path)
  os.makedirs(os.path.dirname(dest_path), exist_ok=True)
  partial = dest_path + ".partial"
  scheme = urllib.parse.urlsplit(url).scheme.lower()
  if scheme == "file":
    _copy_file(url, partial, progress)
  elif scheme in ("http", "https"):
    deadline = _Deadline(url, time.monotonic(), min_rate, deadline_base)
    _download(url, partial, timeout, retries, backoff, progress, offline_hint, deadline)
  else:
    raise ValueError(f"{url}: unsupported URL scheme {scheme!r}; use http(s):// or file://")

  actual = sha256_of(partial)
  if sha256 is not None and actual != sha256.lower():
    os.unlink(partial)
    raise ChecksumError(
        f"{url}: sha256 mismatch (expected {sha256}, got {actual}); the partial download was "
        "deleted. The file on the server (or mirror) differs from the one expected: check the "
        "URL, or update the expected checksum if the file was legitimately replaced.")
  with open(partial, "rb+") as f:
    os.fsync(f.fileno())  # the rename must not become visible before the data
  os.replace(partial, dest_path)
  _forget_validator(partial)
  return FetchResult(dest_path, os.path.getsize(dest_path), actual)


def local_path(url: str) -> str:
  """The filesystem path of a file:// URL."""
  parts = urllib.parse.urlsplit(url)
  if parts.netloc not in ("", "localhost"):
    raise ValueError(f"{url}: file:// URLs must name a local path (file:///dir/file)")
  return urllib.request.url2pathname(parts.path)


def _copy_file(url: str, partial: str, progress: ProgressCallback | None) -> None:
  source = local_path(url)
  if not os.path.isfile(source):
    raise NotFoundError(f"{url}: no such file {source}; check the local copy's layout "
                        "(the same relative paths as on the original server)")
  total = os.path.getsize(source)
  meter = _Meter(progress, total, 0)
  with open(source, "rb") as src, open(partial, "wb") as dst:
    for block in iter(lambda: src.read(CHUNK), b""):
      dst.write(block)
      meter.add(len(block))
  meter.done()


def _download(url: str, partial: str, timeout: float, retries: int, backoff: float,
              progress: ProgressCallback | None, offline_hint: str, deadline: "_Deadline") -> None:
  failures = 0
  best = _size(partial)  # furthest point any attempt reached
  while True:
    try:
      _attempt(url, partial, timeout, progress, deadline)
      return
    except _Retryable as e:
      reached = _size(partial)
      if reached >= best + FRESH_RETRIES_AFTER:
        failures = 0
      best = max(best, reached)
      failures += 1
      if failures > retries:
        attempts = f"{failures} attempt{'s' if failures > 1 else ''} in a row"
        if e.unreachable:
          raise NetworkUnavailableError(
              f"Could not download {url}: {e} ({attempts}). {offline_hint}") from None
        raise FetchError(
            f"Could not download {url}: {e} ({attempts}; {reached} bytes kept in {partial} "
            f"for resuming). Retry later (it resumes), or use a mirror. {offline_hint}") from None
      delay = min(backoff * 2 ** (failures - 1), MAX_BACKOFF_S)
      logging.warning("%s: %s; retrying in %.1f s (retry %d of %d)", url, e, delay, failures,
                      retries)
      time.sleep(delay)


def _size(path: str) -> int:
  try:
    return os.path.getsize(path)
  except FileNotFoundError:
    return 0


class _Deadline:
  """The whole download's deadline, known once the size is: base + size / min_rate."""

  def __init__(self, url: str, start: float, min_rate: float, base: float):
    self.url, self.start, self.min_rate, self.base = url, start, min_rate, base
    self.at: float | None = None

  def size_known(self, total: int | None) -> None:
    if total is not None and self.at is None:
      self.at = self.start + self.base + total / self.min_rate

  def check(self, received: int, total: int | None) -> None:
    now = time.monotonic()
    if self.at is not None and now > self.at:
      raise TooSlowError(
          f"Could not download {self.url}: too slow, {received} of {total} bytes in "
          f"{now - self.start:.0f} s (the deadline for this size is {self.at - self.start:.0f} "
          f"s, i.e. at least {self.min_rate / 1024:.0f} KiB/s); {received} bytes kept for "
          "resuming. Retry later, or use a mirror (--zoo_base_url / --coco_base_url).")


def _validator_path(partial: str) -> str:
  return partial + ".validator"


def _read_validator(partial: str) -> dict:
  try:
    with open(_validator_path(partial)) as f:
      data = json.load(f)
    return data if isinstance(data, dict) else {}
  except (OSError, ValueError):
    return {}


def _forget_validator(partial: str) -> None:
  try:
    os.unlink(_validator_path(partial))
  except FileNotFoundError:
    pass


def _validator_of(headers) -> dict:
  """What identifies the server's version of the file: its strong ETag, else Last-Modified."""
  etag = headers.get("ETag")
  if etag and not etag.startswith("W/"):
    return {"etag": etag}
  modified = headers.get("Last-Modified")
  return {"last_modified": modified} if modified else {}


def _write_validator(partial: str, validator: dict) -> None:
  try:
    if validator:
      with open(_validator_path(partial), "w") as f:
        json.dump(validator, f)
    else:
      _forget_validator(partial)
  except OSError as e:
    raise _disk_error(e, partial) from None


def _disk_error(e: OSError, partial: str) -> DiskError:
  kept = _size(partial)
  return DiskError(f"cannot write {partial}: {e.strerror or e} ({kept} bytes kept for "
                   "resuming). Free space (or fix the folder's permissions, or choose another "
                   "--cache_dir) and run again.")


def _attempt(url: str, partial: str, timeout: float, progress: ProgressCallback | None,
             deadline: _Deadline) -> None:
  """One GET, resuming from `partial`. Returns when `partial` holds the whole file."""
  offset = _size(partial)
  headers = {"User-Agent": "detector-eval", "Accept-Encoding": "identity"}
  validator = _read_validator(partial) if offset else {}
  if offset:
    headers["Range"] = f"bytes={offset}-"
    if validator:  # the server sends the whole (new) file if it is not the same one any more
      headers["If-Range"] = validator.get("etag") or validator.get("last_modified")
  request = urllib.request.Request(url, headers=headers)
  try:
    response = urllib.request.urlopen(request, timeout=timeout)
  except urllib.error.HTTPError as e:
    e.close()
    if e.code in _NOT_FOUND_HTTP:
      raise NotFoundError(f"{url}: not found (HTTP {e.code}); check the URL, and the mirror's "
                          "layout if --zoo_base_url / --coco_base_url point at one") from None
    if e.code == 416 and offset:
      total = _content_range_total(e.headers.get("Content-Range"))
      if total == offset:
        return  # the partial file is already complete
      logging.warning("%s: server refused to resume at byte %d (HTTP 416); restarting", url, offset)
      os.unlink(partial)
      raise _Retryable("resume refused (HTTP 416)") from None
    if e.code in _RETRYABLE_HTTP:
      raise _Retryable(f"HTTP {e.code} {e.reason}") from None
    raise FetchError(f"{url}: HTTP {e.code} {e.reason}; the server refuses this download "
                     "(check the URL or use a mirror)") from None
  except urllib.error.URLError as e:
    if isinstance(e.reason, ssl.SSLCertVerificationError):
      raise FetchError(f"{url}: TLS certificate verification failed ({e.reason}); check the "
                       "system's CA certificates or use a mirror") from None
    raise _classify(e.reason) from None
  except (OSError, http.client.HTTPException) as e:
    raise _classify(e) from None

  with response:
    status = response.status
    length = response.headers.get("Content-Length")
    remaining = int(length) if length is not None else None
    if status == 206:
      start, total = _content_range(response.headers.get("Content-Range"))
      if start != offset:
        os.unlink(partial)
        raise _Retryable(f"server resumed at byte {start}, not {offset}")
      now = _validator_of(response.headers)
      if validator and now and now != validator:  # a server that ignored If-Range
        os.unlink(partial)
        _forget_validator(partial)
        raise _Retryable("the file changed on the server since the download started "
                         "(ETag / Last-Modified differ); restarting from byte 0")
      mode = "ab"
      if total is None and remaining is not None:
        total = offset + remaining
    else:
      if offset:
        logging.info("%s: server ignored the Range request; restarting from byte 0", url)
        offset = 0
      mode = "wb"
      total = remaining
      _write_validator(partial, _validator_of(response.headers))
    deadline.size_known(total)
    meter = _Meter(progress, total, offset)
    received = offset
    try:
      f = open(partial, mode)
    except OSError as e:
      raise _disk_error(e, partial) from None
    with f:
      while True:
        try:
          block = response.read1(CHUNK)  # what has arrived: a stall must not lose it
        except (OSError, http.client.HTTPException) as e:
          raise _classify(e, f"after {received} of {total or '?'} bytes") from None
        if not block:
          break
        try:
          f.write(block)
          f.flush()
        except OSError as e:
          raise (_disk_error(e, partial) if e.errno in _DISK_ERRNOS else _classify(
              e, f"after {received} bytes")) from None
        received += len(block)
        meter.add(len(block))
        deadline.check(received, total)
  if total is not None and received < total:
    raise _Retryable(f"connection closed after {received} of {total} bytes")
  if total is not None and received > total:
    os.unlink(partial)
    raise _Retryable(f"received {received} bytes, more than the announced {total}")
  meter.done()


def _classify(error: BaseException, where: str = "") -> _Retryable:
  """Turns a socket-level error into a retryable failure with a readable reason."""
  suffix = f" {where}" if where else ""
  if isinstance(error, (socket.timeout, TimeoutError)):
    return _Retryable(f"timed out{suffix} (the server stalled)")
  if isinstance(error, ConnectionRefusedError):
    return _Retryable(f"connection refused{suffix}", unreachable=True)
  if isinstance(error, socket.gaierror):
    return _Retryable(f"host name lookup failed ({error})", unreachable=True)
  if isinstance(error, OSError) and error.errno in (101, 113):  # ENETUNREACH, EHOSTUNREACH
    return _Retryable(f"no route to host ({error})", unreachable=True)
  if isinstance(error, str):
    return _Retryable(error + suffix)
  return _Retryable(f"{type(error).__name__}: {error}{suffix}")


_RANGE_RE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def _content_range(header: str | None) -> tuple[int, int | None]:
  match = _RANGE_RE.match(header or "")
  if not match:
    raise _Retryable(f"206 answer with an unreadable Content-Range {header!r}")
  total = match.group(3)
  return int(match.group(1)), None if total == "*" else int(total)


def _content_range_total(header: str | None) -> int | None:
  match = re.match(r"bytes\s+\*/(\d+)", header or "")
  return int(match.group(1)) if match else None


class _Meter:
  """Calls `progress` at most once per PROGRESS_INTERVAL_S, and once at the end."""

  def __init__(self, progress: ProgressCallback | None, total: int | None, done: int):
    self._progress, self._total, self._done = progress, total, done
    self._start_done, self._start = done, time.monotonic()
    self._last = self._start

  def add(self, n: int) -> None:
    self._done += n
    now = time.monotonic()
    if self._progress and now - self._last >= PROGRESS_INTERVAL_S:
      self._last = now
      self._report(now)

  def done(self) -> None:
    if self._progress:
      self._report(time.monotonic())

  def _report(self, now: float) -> None:
    rate = (self._done - self._start_done) / max(now - self._start, 1e-6)
    self._progress(self._done, self._total, rate)


def log_progress(label: str) -> ProgressCallback:
  """A progress callback that logs done/total, speed and ETA."""

  def callback(done: int, total: int | None, rate: float) -> None:
    mib = 1 << 20
    if total:
      eta = (total - done) / rate if rate > 0 else float("inf")
      logging.info("%s: %.1f / %.1f MiB (%.0f%%) at %.2f MiB/s, ETA %s", label, done / mib,
                   total / mib, 100.0 * done / total, rate / mib, _duration(eta))
    else:
      logging.info("%s: %.1f MiB at %.2f MiB/s", label, done / mib, rate / mib)

  return callback


def _duration(seconds: float) -> str:
  if seconds == float("inf"):
    return "unknown"
  seconds = int(seconds)
  return f"{seconds // 3600}h{seconds // 60 % 60:02d}m{seconds % 60:02d}s" if seconds >= 3600 \
      else f"{seconds // 60}m{seconds % 60:02d}s"
