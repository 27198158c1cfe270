"""Robust download of one URL (http, https or file) to one file.

A download goes to `<dest>.partial` and is renamed to `<dest>` only once its length (and
sha256, if given) checked out, so a file at `dest` is always complete. Interrupted transfers
resume from the partial file with an HTTP Range request; stalls, dropped connections and 5xx
answers are retried with exponential backoff; 404 fails at once.
"""
from __future__ import annotations

import hashlib
import http.client
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
          offline_hint: str = DEFAULT_OFFLINE_HINT) -> FetchResult:
  """Downloads `url` to `dest_path` (replacing it) and returns its path, size and sha256.

  `timeout` bounds the connection and every single read (a stalled server), not the whole
  transfer. `retries` more attempts follow a failed one, after backoff * 2**n seconds; an
  attempt that got FRESH_RETRIES_AFTER bytes further than any before it resets that count.
  """
  dest_path = os.path.abspath(dest_path)
  os.makedirs(os.path.dirname(dest_path), exist_ok=True)
  partial = dest_path + ".partial"
  scheme = urllib.parse.urlsplit(url).scheme.lower()
  if scheme == "file":
    _copy_file(url, partial, progress)
  elif scheme in ("http", "https"):
    _download(url, partial, timeout, retries, backoff, progress, offline_hint)
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
              progress: ProgressCallback | None, offline_hint: str) -> None:
  failures = 0
  best = _size(partial)  # furthest point any attempt reached
  while True:
    try:
      _attempt(url, partial, timeout, progress)
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


def _attempt(url: str, partial: str, timeout: float, progress: ProgressCallback | None) -> None:
  """One GET, resuming from `partial`. Returns when `partial` holds the whole file."""
  offset = _size(partial)
  headers = {"User-Agent": "detector-eval", "Accept-Encoding": "identity"}
  if offset:
    headers["Range"] = f"bytes={offset}-"
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
      logging.warning("%s: server refused to resume at byte %d (HTTP 416); restarting", url,
                      offset)
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
      mode = "ab"
      if total is None and remaining is not None:
        total = offset + remaining
    else:
      if offset:
        logging.info("%s: server ignored the Range request; restarting from byte 0", url)
        offset = 0
      mode = "wb"
      total = remaining
    meter = _Meter(progress, total, offset)
    received = offset
    with open(partial, mode) as f:
      try:
        while True:
          block = response.read1(CHUNK)  # what has arrived: a stall must not lose it
          if not block:
            break
          f.write(block)
          received += len(block)
          meter.add(len(block))
      except (OSError, http.client.HTTPException) as e:
        raise _classify(e, f"after {received} of {total or '?'} bytes") from None
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
