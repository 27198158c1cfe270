"""http_fetch against a real HTTP server on 127.0.0.1 that misbehaves on purpose."""
import hashlib
import http.server
import os
import re
import socket
import threading
import time
from unittest import mock

from absl.testing import absltest

from eval.download import http_fetch

DATA = bytes(range(256)) * 4096  # 1 MiB
SHA = hashlib.sha256(DATA).hexdigest()
DATA2 = bytes(reversed(DATA))  # the same size, other bytes: a file replaced on the server
SHA2 = hashlib.sha256(DATA2).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
  """HTTP/1.0: the connection closes after each answer, as a truncating server's would."""

  def log_message(self, *args):
    pass

  def do_GET(self):
    server = self.server
    path = self.path.strip("/")
    with server.lock:
      server.hits.append((path, self.headers.get("Range")))
      count = sum(1 for p, _ in server.hits if p == path)
    start = 0
    match = re.match(r"bytes=(\d+)-$", self.headers.get("Range") or "")
    if match and path != "norange":
      start = int(match.group(1))
    if path == "missing" or (path == "flaky" and count == 1):
      code = 404 if path == "missing" else 503
      self.send_response(code)
      self.send_header("Content-Length", "0")
      self.end_headers()
      return
    if path.startswith("changing"):
      self._changing(server, path, count, start)
      return
    if path == "trickle":
      self.send_response(200)
      self.send_header("Content-Length", str(len(DATA)))
      self.end_headers()
      for i in range(100):  # 10 bytes every 50 ms: 200 B/s, for at most 5 s
        self.wfile.write(DATA[i * 10:(i + 1) * 10])
        self.wfile.flush()
        if server.release.wait(0.05):
          return
      return
    if start >= len(DATA):
      self.send_response(416)
      self.send_header("Content-Range", f"bytes */{len(DATA)}")
      self.send_header("Content-Length", "0")
      self.end_headers()
      return
    body = DATA[start:]
    if start:
      self.send_response(206)
      self.send_header("Content-Range", f"bytes {start}-{len(DATA) - 1}/{len(DATA)}")
    else:
      self.send_response(200)
    self.send_header("Content-Length", str(len(body)))
    self.end_headers()
    if path in ("truncate", "norange") and count == 1:
      self.wfile.write(body[:len(body) // 3])  # then close: fewer bytes than announced
    elif path == "drip":
      self.wfile.write(body[:300_000])
    elif path == "stall":
      self.wfile.write(body[:1000])
      self.wfile.flush()
      server.release.wait(10)  # far longer than the client's timeout
    else:
      self.wfile.write(body)

  def _changing(self, server, path, count, start):
    """Version 1 (ETag "v1") cut short on the first request; version 2 from then on.

    changing: honours If-Range (a changed file comes whole with 200); changing-liar: ignores
    If-Range and answers 206 from the offset of the new version, with its new ETag.
    """
    data, etag = (DATA, '"v1"') if count == 1 else (DATA2, '"v2"')
    if_range = self.headers.get("If-Range")
    if start and path == "changing" and if_range != etag:
      start = 0
    body = data[start:]
    self.send_response(206 if start else 200)
    if start:
      self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
    self.send_header("ETag", etag)
    self.send_header("Content-Length", str(len(body)))
    self.end_headers()
    self.wfile.write(body[:len(body) // 2] if count == 1 else body)


class _ServerTest(absltest.TestCase):
  """A misbehaving server on 127.0.0.1 and a destination folder."""

  def setUp(self):
    super().setUp()
    self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    self.server.daemon_threads = True
    self.server.block_on_close = False
    self.server.hits, self.server.lock = [], threading.Lock()
    self.server.release = threading.Event()
    threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
    self.addCleanup(self.server.server_close)
    self.addCleanup(self.server.shutdown)
    self.addCleanup(self.server.release.set)
    self.dir = self.create_tempdir().full_path

  def url(self, path):
    return f"http://127.0.0.1:{self.server.server_address[1]}/{path}"

  def dest(self, name="out.bin"):
    return os.path.join(self.dir, name)

  def fetch(self, path, **kwargs):
    kwargs.setdefault("timeout", 5)
    kwargs.setdefault("backoff", 0.01)
    return http_fetch.fetch(self.url(path), self.dest(), **kwargs)

  def assert_nothing_complete(self):
    self.assertFalse(os.path.exists(self.dest()), "a failed download left a complete-looking file")


class HttpFetchTest(_ServerTest):

  def test_success_with_checksum_and_progress(self):
    calls = []
    result = self.fetch("ok", sha256=SHA, progress=lambda *a: calls.append(a))
    self.assertEqual(result, (self.dest(), len(DATA), SHA))
    with open(self.dest(), "rb") as f:
      self.assertEqual(f.read(), DATA)
    self.assertFalse(os.path.exists(self.dest() + ".partial"))
    self.assertEqual(calls[-1][:2], (len(DATA), len(DATA)))
    self.assertGreater(calls[-1][2], 0)

  def test_resumes_after_truncated_response(self):
    self.fetch("truncate", sha256=SHA)
    self.assertEqual(self.server.hits, [("truncate", None),
                                        ("truncate", f"bytes={len(DATA) // 3}-")])
    with open(self.dest(), "rb") as f:
      self.assertEqual(f.read(), DATA)

  def test_resumes_partial_left_by_an_earlier_run(self):
    with open(self.dest() + ".partial", "wb") as f:
      f.write(DATA[:1234])
    self.fetch("ok", sha256=SHA)
    self.assertEqual(self.server.hits, [("ok", "bytes=1234-")])

  def test_complete_partial_is_accepted_after_416(self):
    with open(self.dest() + ".partial", "wb") as f:
      f.write(DATA)
    self.assertEqual(self.fetch("ok").sha256, SHA)

  def test_progress_earns_fresh_retries(self):
    # Each answer is cut after 300 kB: 4 requests, more than `retries`, but each one advances.
    with mock.patch.object(http_fetch, "FRESH_RETRIES_AFTER", 200_000):
      self.fetch("drip", sha256=SHA, retries=1)
    self.assertLen(self.server.hits, 4)

  def test_server_ignoring_range_restarts_from_zero(self):
    self.fetch("norange", sha256=SHA)
    self.assertLen(self.server.hits, 2)
    self.assertIsNotNone(self.server.hits[1][1])  # asked to resume, got a 200 with everything
    with open(self.dest(), "rb") as f:
      self.assertEqual(f.read(), DATA)

  def test_404_fails_at_once(self):
    start = time.monotonic()
    with self.assertRaisesRegex(http_fetch.NotFoundError, r"/missing: not found \(HTTP 404\)"):
      self.fetch("missing", backoff=5)
    self.assertLess(time.monotonic() - start, 2)
    self.assertLen(self.server.hits, 1)
    self.assert_nothing_complete()

  def test_5xx_is_retried(self):
    self.assertEqual(self.fetch("flaky").sha256, SHA)
    self.assertLen(self.server.hits, 2)

  def test_stalling_server_times_out_with_clear_error(self):
    start = time.monotonic()
    pattern = r"/stall: timed out after 2000 of 1048576 bytes \(the server stalled\) \(2 attempts"
    with self.assertRaisesRegex(http_fetch.FetchError, pattern):
      self.fetch("stall", timeout=0.5, retries=1)
    self.assertLess(time.monotonic() - start, 5)
    self.assertLen(self.server.hits, 2)
    self.assert_nothing_complete()

  def test_server_that_never_answers_times_out(self):
    with socket.socket() as silent:  # the kernel accepts connections; nobody ever answers
      silent.bind(("127.0.0.1", 0))
      silent.listen()
      url = f"http://127.0.0.1:{silent.getsockname()[1]}/x"
      start = time.monotonic()
      with self.assertRaisesRegex(http_fetch.FetchError, "x: timed out .*2 attempts"):
        http_fetch.fetch(url, self.dest(), timeout=0.3, retries=1, backoff=0.01)
      self.assertLess(time.monotonic() - start, 5)

  def test_dns_failure_counts_as_unreachable(self):
    failure = http_fetch._classify(socket.gaierror(-2, "Name or service not known"))
    self.assertTrue(failure.unreachable)
    self.assertIn("host name lookup failed", str(failure))

  def test_wrong_checksum_leaves_no_file(self):
    with self.assertRaisesRegex(http_fetch.ChecksumError, f"sha256 mismatch.*{SHA}"):
      self.fetch("ok", sha256="0" * 64)
    self.assertEqual(os.listdir(self.dir), [])

  def test_connection_refused_points_at_mirrors(self):
    with socket.socket() as s:  # a port that nobody listens on
      s.bind(("127.0.0.1", 0))
      port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/efficientdet_d0_coco17_tpu-32.tar.gz"
    with self.assertRaises(http_fetch.NetworkUnavailableError) as cm:
      http_fetch.fetch(url, self.dest(), retries=1, backoff=0.01)
    message = str(cm.exception)
    self.assertIn(url, message)
    self.assertIn("connection refused", message)
    self.assertIn("mirror or local copies", message)
    self.assertIn("file://", message)
    self.assert_nothing_complete()

  def test_file_urls(self):
    source = self.create_tempfile("src.bin", DATA).full_path
    result = http_fetch.fetch("file://" + source, self.dest(), sha256=SHA)
    self.assertEqual(result.size, len(DATA))
    with self.assertRaisesRegex(http_fetch.NotFoundError, "no such file"):
      http_fetch.fetch("file://" + source + ".gone", self.dest("other"))
    with self.assertRaisesRegex(ValueError, "unsupported URL scheme 'ftp'"):
      http_fetch.fetch("ftp://127.0.0.1/x", self.dest("other"))

  def test_log_progress_formats_eta(self):
    with self.assertLogs(level="INFO") as logs:
      http_fetch.log_progress("d0")(1 << 20, 4 << 20, 1 << 20)
    self.assertIn("d0: 1.0 / 4.0 MiB (25%) at 1.00 MiB/s, ETA 0m03s", logs.output[0])


class FaultTest(_ServerTest):
  """A file replaced on the server mid-download, a full disk, a trickling server."""

  def test_file_changed_between_attempts_is_not_spliced(self):
    for path in ("changing", "changing-liar"):
      with self.subTest(path):
        self.server.hits.clear()
        result = self.fetch(path, retries=3)
        self.assertEqual(result.sha256, SHA2, "old and new bytes were spliced")
        self.assertEqual(self.server.hits[1], (path, f"bytes={len(DATA) // 2}-"))
        self.assertFalse(os.path.exists(self.dest() + ".partial.validator"))
        os.unlink(self.dest())

  def test_full_disk_fails_at_once_naming_the_file(self):
    os.symlink("/dev/full", self.dest() + ".partial")  # a real ENOSPC on the first write
    start = time.monotonic()
    with self.assertRaisesRegex(http_fetch.DiskError,
                                r"out.bin.partial: No space left on device.*Free space"):
      self.fetch("ok", retries=4, backoff=1.0)
    self.assertLess(time.monotonic() - start, 5)  # no backoff-and-retry loop
    self.assertLen(self.server.hits, 1)
    self.assert_nothing_complete()

  def test_trickling_server_hits_the_size_scaled_deadline(self):
    start = time.monotonic()
    with self.assertRaisesRegex(http_fetch.TooSlowError,
                                r"too slow, \d+ of 1048576 bytes.*deadline for this size is 2 s"):
      self.fetch("trickle", deadline_base=1.0, min_rate=1 << 20)
    self.assertLess(time.monotonic() - start, 4.5)
    self.assert_nothing_complete()


if __name__ == "__main__":
  absltest.main()
