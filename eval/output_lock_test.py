"""Tests of eval/output_lock.py: a second run into a locked folder fails at once, clearly."""
import os
import signal
import subprocess
import sys
import time

from absl.testing import absltest

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
