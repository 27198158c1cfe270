"""Tests of eval/output_lock.py: a second run into a locked folder fails at once, clearly."""
import os
import signal
import subprocess
import sys
import time

from absl.testing import absltest

from eval import atomic_io
from eval import output_lock


class OutputLockTest(absltest.TestCase):

  def test_second_holder_fails_naming_the_first(self):
    out = self.create_tempdir().full_path
    with output_lock.hold(out, "all_efficientdet"):
      with self.assertRaisesRegex(output_lock.OutputLockedError,
                                  f"{out} is being written by .*all_efficientdet.*pid"):
        with output_lock.hold(out, "evaluate_model"):
          pass
    with output_lock.hold(out, "evaluate_model"):  # free again once the first is done
      pass

  def test_temporaries_of_a_killed_writer_are_removed_once_the_lock_is_held(self):
    out = self.create_tempdir().full_path
    os.makedirs(os.path.join(out, "model", "shards"))
    stale = [
        os.path.join(out, ".metrics.json.k3_x9Qa1.tmp"),
        os.path.join(out, "model", "shards", ".shard-0-of-2.ab12.json.0aZ_9bcd.tmp")
    ]
    kept = [
        os.path.join(out, "metrics.json"),
        os.path.join(out, ".hidden.tmp"),
        os.path.join(out, "model", "notes.tmp")
    ]
    for path in stale + kept:
      with open(path, "w") as f:
        f.write("x")
    with atomic_io.atomic_path(os.path.join(out, "live.json")) as live:  # a real temporary
      self.assertRegex(os.path.basename(live), r"^\.live\.json\..{8}\.tmp$")
    with output_lock.hold(out, "evaluate_model"):
      self.assertEqual([p for p in stale if os.path.exists(p)], [])
      self.assertEqual([p for p in kept if not os.path.exists(p)], [])

  def test_a_killed_holder_leaves_the_folder_free(self):
    out = self.create_tempdir().full_path
    code = ("import sys, time; from eval import output_lock\n"
            "with output_lock.hold(sys.argv[1], 'victim'):\n"
            "  print('locked', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, out], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    self.addCleanup(proc.kill)
    self.assertEqual(proc.stdout.readline().strip(), "locked")
    with self.assertRaisesRegex(output_lock.OutputLockedError, "victim"):
      with output_lock.hold(out, "second"):
        pass
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    start = time.monotonic()
    with output_lock.hold(out, "second"):
      self.assertLess(time.monotonic() - start, 1)


if __name__ == "__main__":
  absltest.main()
