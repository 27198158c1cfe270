"""Tests of //eval/tracking:clearml_session with the real ClearML SDK (no server can run here).

Every test points HOME and CLEARML_CACHE_DIR into a fresh temporary folder, so nothing is read
from or written to the user's ClearML configuration or cache; each is bounded in time.
"""
import contextlib
import http.server
import io
import json
import os
import socket
import tempfile
import threading
import time

from absl import flags
from absl.testing import absltest
from absl.testing import flagsaver

from eval.tracking import clearml_session

flags.DEFINE_string("tracking_test_marker", "marker-value", "A flag that must reach the task.")

_ENV = ("CLEARML_API_HOST", "CLEARML_API_ACCESS_KEY", "CLEARML_API_SECRET_KEY", "CLEARML_WEB_HOST",
        "CLEARML_FILES_HOST", "CLEARML_AUTH_TOKEN", "CLEARML_OFFLINE_MODE", "TRAINS_OFFLINE_MODE",
        "CLEARML_CONFIG_FILE", "TRAINS_CONFIG_FILE", "CLEARML_API_HOST_VERIFY_CERT")


def _closed_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _run_bounded(fn, seconds):
  """fn() in a thread; fails the test instead of hanging when it takes longer than `seconds`."""
  box = {}

  def target():
    try:
      box["value"] = fn()
    except BaseException as e:  # pylint: disable=broad-except
      box["error"] = e

  thread = threading.Thread(target=target, daemon=True)
  start = time.monotonic()
  thread.start()
  thread.join(seconds)
  if thread.is_alive():
    raise AssertionError(f"still running after {seconds} s: a hang")
  return box.get("value"), box.get("error"), time.monotonic() - start


class ClearMLSessionTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.root = tempfile.mkdtemp(dir=absltest.get_default_test_tmpdir())
    self.home = os.path.join(self.root, "home")
    os.makedirs(self.home)
    self.cache = os.path.join(self.root, "cache")
    saved = {k: os.environ.get(k) for k in _ENV + ("HOME", "CLEARML_CACHE_DIR")}
    self.addCleanup(lambda: [
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        for k, v in saved.items()
    ])
    for k in _ENV:
      os.environ.pop(k, None)
    os.environ["HOME"] = self.home
    os.environ["CLEARML_CACHE_DIR"] = self.cache
    self.tracker = clearml_session.ClearMLTracker()
    self.stderr = io.StringIO()
    redirect = contextlib.redirect_stderr(self.stderr)
    redirect.__enter__()
    self.addCleanup(redirect.__exit__, None, None, None)

  def _configure_server(self, port, in_file=False):
    host = f"http://127.0.0.1:{port}"
    if in_file:
      with open(os.path.join(self.home, "clearml.conf"), "w") as f:
        f.write('api {\n  api_server: "%s"\n  web_server: "%s"\n  files_server: "%s"\n'
                '  credentials { access_key: "AK", secret_key: "SK" }\n}\n'
                'sdk.aws.s3.key: "a-user-setting"\n' % (host, host, host))
    else:
      os.environ.update(CLEARML_API_HOST=host, CLEARML_WEB_HOST=host, CLEARML_FILES_HOST=host,
                        CLEARML_API_ACCESS_KEY="AK", CLEARML_API_SECRET_KEY="SK")
    return host

  def test_no_server_configured_is_offline_and_closes_fast(self):
    pipeline = os.path.join(self.root, "pipeline.config")
    with open(pipeline, "w") as f:
      f.write('model { ssd { num_classes: 90 } }\neval_config { metrics_set: '
              '"coco_detection_metrics" }\n')
    start = time.monotonic()
    session = self.tracker.start_task("efficientdet_d0_coco17_tpu-32", project="tracking-test",
                                      pipeline_config=pipeline)
    self.assertTrue(session.offline)
    self.assertIn("no ClearML server configured", session.why)
    self.assertTrue(session.task_id.startswith("offline-"))
    self.assertEqual(session.session_folder, os.path.join(self.cache, "offline", session.task_id))
    session.logger.report_scalar("DetectionBoxes_Precision", "mAP", 0.336, 0)
    result = session.close()
    self.assertLess(time.monotonic() - start, 30)
    self.assertLess(result.seconds, 5.0, "close() is slow: report_use_subprocess not applied?")
    self.assertTrue(os.path.isfile(result.session_zip))
    self.assertEqual(result.session_zip, session.session_folder + ".zip")
    self.assertEqual(result.upload_command,
                     f"clearml-task --import-offline-session {result.session_zip}")
    self.assertIn(result.upload_command, self.stderr.getvalue())
    # The generated configuration is the one ClearML read.
    from clearml.config import config_obj  # pylint: disable=g-import-not-at-top
    self.assertFalse(config_obj.get("sdk.development.report_use_subprocess"))
    self.assertEqual(config_obj.get("api.http.retries.total"), 1)
    with open(os.environ["CLEARML_CONFIG_FILE"]) as f:
      self.assertIn("report_use_subprocess: false", f.read())
    # absl flags and pipeline.config are in the task.
    with open(os.path.join(session.session_folder, "task.json")) as f:
      task = json.load(f)
    self.assertEqual(task["name"], "efficientdet_d0_coco17_tpu-32")
    self.assertEqual(task["hyperparams"]["TF_DEFINE"]["tracking_test_marker"]["value"],
                     "marker-value")
    self.assertIn("num_classes: 90", task["configuration"]["pipeline.config"]["value"])

    # A second task in the same process (the sweep's next model) gets the flags too.
    second = self.tracker.start_task("efficientdet_d1_coco17_tpu-32", project="tracking-test")
    second.close()
    with open(os.path.join(second.session_folder, "task.json")) as f:
      task = json.load(f)
    self.assertEqual(task["hyperparams"]["TF_DEFINE"]["tracking_test_marker"]["value"],
                     "marker-value")

  def test_user_config_is_merged(self):
    port = _closed_port()
    host = self._configure_server(port, in_file=True)
    settings = self.tracker.server_settings()
    self.assertTrue(settings.configured)
    self.assertEqual(settings.api_host, host)
    self.assertEqual(settings.config_files, (os.path.join(self.home, "clearml.conf"),))
    from clearml.config import config_obj  # pylint: disable=g-import-not-at-top
    self.assertEqual(config_obj.get("sdk.aws.s3.key"), "a-user-setting")
    self.assertFalse(config_obj.get("sdk.development.report_use_subprocess"))
    self.assertEqual(config_obj.get("api.http.retries.total"), 1)

  def test_unreachable_server_fails_within_seconds(self):
    port = _closed_port()
    self._configure_server(port, in_file=True)
    _, error, seconds = _run_bounded(
        lambda: clearml_session.ClearMLTracker(on_unreachable="fail").start_task(
            "t", project="tracking-test"), 20)
    self.assertIsInstance(error, clearml_session.ServerUnreachableError)
    self.assertIn(f"127.0.0.1:{port}", str(error))
    self.assertIn("--clearml_mode=offline", str(error))
    self.assertLess(seconds, 10)

  def test_unreachable_server_falls_back_loudly(self):
    port = _closed_port()
    self._configure_server(port)  # CLEARML_API_* variables this time
    session, error, seconds = _run_bounded(
        lambda: self.tracker.start_task("t", project="tracking-test"), 30)
    self.assertIsNone(error)
    self.assertLess(seconds, 15)
    self.assertTrue(session.offline)
    self.assertIn("unreachable", session.why)
    self.assertIn("Falling back to OFFLINE mode", self.stderr.getvalue())
    self.assertIn(f"127.0.0.1:{port}", self.stderr.getvalue())
    result = session.close()
    self.assertTrue(os.path.isfile(result.session_zip))
    # Later tasks of the process stay offline without waiting for the server again.
    again = self.tracker.start_task("t2", project="tracking-test")
    self.assertTrue(again.offline)
    self.assertIn("earlier in this process", again.why)
    again.close()
    # The fallback is the tracker's: another tracker, or this one after forget_fallback(),
    # checks the server again.
    for tracker in (clearml_session.ClearMLTracker(), self.tracker):
      tracker.forget_fallback()
      checked = tracker.start_task("t3", project="tracking-test")
      self.assertTrue(checked.offline)
      self.assertIn("unreachable", checked.why)
      self.assertNotIn("earlier", checked.why)
      checked.close()

  def test_not_a_clearml_server_falls_back_within_seconds(self):

    class NotFound(http.server.BaseHTTPRequestHandler):

      def do_GET(self):  # pylint: disable=invalid-name
        self.send_response(404)
        self.end_headers()

      do_POST = do_GET

      def log_message(self, *args):
        pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    self.addCleanup(server.server_close)
    self.addCleanup(server.shutdown)
    self._configure_server(server.server_address[1])
    self.assertIsNone(
        clearml_session.check_server(f"http://127.0.0.1:{server.server_address[1]}", timeout=2))
    session, error, seconds = _run_bounded(
        lambda: self.tracker.start_task("t", project="tracking-test"), 30)
    self.assertIsNone(error)
    self.assertLess(seconds, 15)
    self.assertTrue(session.offline)
    self.assertIn("Task.init failed", self.stderr.getvalue())
    session.close()

  def test_another_trackers_config_is_not_included(self):
    self._configure_server(_closed_port(), in_file=True)
    user_conf = os.path.join(self.home, "clearml.conf")
    first = self.tracker.prepare_config()
    self.assertEqual(os.environ["CLEARML_CONFIG_FILE"], first)
    other = clearml_session.ClearMLTracker()
    self.assertEqual(other.user_config_files(), [user_conf])
    second = other.prepare_config()
    self.assertNotEqual(first, second)
    with open(second) as f:
      text = f.read()
    self.assertIn(f'include file("{user_conf}")', text)
    self.assertNotIn(first, text)
    self.assertEqual(other.server_settings().config_files, (user_conf,))

  def test_configuration_loaded_before_is_read_again(self):
    user_conf = os.path.join(self.root, "user.conf")
    with open(user_conf, "w") as f:
      f.write("sdk.development.report_use_subprocess: true\nsdk.aws.s3.key: from-user-file\n")
    os.environ["CLEARML_CONFIG_FILE"] = user_conf
    from clearml.config import config_obj  # pylint: disable=g-import-not-at-top
    # clearml used before any tracker: it has read the user's file (earlier tests' are dropped).
    clearml_session._reload_clearml_config()  # pylint: disable=protected-access
    self.assertTrue(config_obj.get("sdk.development.report_use_subprocess"))
    self.tracker.prepare_config()
    self.assertFalse(config_obj.get("sdk.development.report_use_subprocess"))
    self.assertEqual(config_obj.get("api.http.retries.total"), 1)
    self.assertEqual(config_obj.get("sdk.aws.s3.key"), "from-user-file")
    self.assertEqual(self.tracker.server_settings().config_files, (user_conf,))
    self.assertIn("clearml was configured before", self.stderr.getvalue())

  def test_from_flags(self):
    tracker = clearml_session.ClearMLTracker.from_flags()
    self.assertEqual((tracker.mode, tracker.on_unreachable, tracker.connect_timeout),
                     ("auto", "fallback", 3.0))
    with flagsaver.flagsaver(clearml_mode="offline", clearml_on_unreachable="fail",
                             clearml_connect_timeout=0.5):
      tracker = clearml_session.ClearMLTracker.from_flags()
    self.assertEqual((tracker.mode, tracker.on_unreachable, tracker.connect_timeout),
                     ("offline", "fail", 0.5))
    self.assertEqual(clearml_session.ClearMLTracker.from_flags(mode="online").mode, "online")
    with self.assertRaisesRegex(ValueError, "mode must be one of"):
      clearml_session.ClearMLTracker(mode="sometimes")
    with self.assertRaisesRegex(ValueError, "on_unreachable must be one of"):
      clearml_session.ClearMLTracker(on_unreachable="ignore")

  def test_offline_mode_never_checks_the_server(self):
    self._configure_server(_closed_port())
    session = clearml_session.ClearMLTracker(mode="offline").start_task(
        "t", project="tracking-test")
    self.assertTrue(session.offline)
    self.assertEqual(session.why, "offline mode requested")
    session.close()

  def test_online_mode_without_server_is_an_error(self):
    with self.assertRaisesRegex(clearml_session.ServerNotConfiguredError, "clearml-init"):
      clearml_session.ClearMLTracker(mode="online").start_task("t", project="tracking-test")

  def test_check_server(self):
    port = _closed_port()
    start = time.monotonic()
    problem = clearml_session.check_server(f"http://127.0.0.1:{port}", timeout=1)
    seconds = time.monotonic() - start
    self.assertIn("cannot connect", problem)
    self.assertIn("not an http(s) URL", clearml_session.check_server("ftp://x", timeout=1))
    self.assertLess(seconds, 1)

  def test_config_text(self):
    text = clearml_session.config_text(["/home/u/clearml.conf"])
    self.assertTrue(text.startswith("# Generated by eval/tracking/clearml_session.py"))
    self.assertIn('include file("/home/u/clearml.conf")', text)
    self.assertLess(text.index("include"), text.index("report_use_subprocess"))


if __name__ == "__main__":
  absltest.main()
