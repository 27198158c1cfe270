"""Tests of eval/atomic_io.py: complete-or-absent files, and outputs that are not plain files."""
import os
import subprocess
import sys
import threading

from absl.testing import absltest

from eval import atomic_io


class AtomicIoTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.dir = self.create_tempdir().full_path

  def test_plain_file_is_replaced_atomically_and_no_temp_is_left(self):
    path = os.path.join(self.dir, "sub", "out.json")
    atomic_io.write_json(path, {"a": 1})
    atomic_io.write_json(path, {"a": 2})
    with open(path) as f:
      self.assertEqual(f.read(), '{\n "a": 2\n}\n')
    self.assertEqual(os.listdir(os.path.dirname(path)), ["out.json"])

  def test_failure_leaves_the_old_file_and_no_temp(self):
    path = os.path.join(self.dir, "out.txt")
    atomic_io.write_text(path, "old")
    with self.assertRaises(ZeroDivisionError):
      with atomic_io.output_path(path) as tmp:
        with open(tmp, "w") as f:
          f.write("half")
        raise ZeroDivisionError
    with open(path) as f:
      self.assertEqual(f.read(), "old")
    self.assertEqual(os.listdir(self.dir), ["out.txt"])

  def test_symlink_target_is_written_and_the_link_kept(self):
    target = os.path.join(self.dir, "real.json")
    link = os.path.join(self.dir, "link.json")
    os.symlink(target, link)
    atomic_io.write_text(link, "x")
    self.assertTrue(os.path.islink(link))
    with open(target) as f:
      self.assertEqual(f.read(), "x")

  def test_dev_stdout_prints(self):
    # /dev/stdout is a link to /proc/self/fd/1 (a pipe here): it must be written, not replaced.
    code = "from eval import atomic_io; atomic_io.write_text('/dev/stdout', 'hello\\n')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    self.assertEqual(out.stdout, "hello\n")

  def test_fifo_is_written_in_place(self):
    fifo = os.path.join(self.dir, "fifo")
    os.mkfifo(fifo)
    received = []

    def read():
      with open(fifo) as f:
        received.append(f.read())

    reader = threading.Thread(target=read)
    reader.start()
    atomic_io.write_text(fifo, "through the pipe")
    reader.join(10)
    self.assertEqual(received, ["through the pipe"])
    self.assertFalse(os.path.isfile(fifo))  # still the FIFO, not replaced by a regular file

  def test_device_is_not_replaced(self):
    with self.assertRaisesRegex(atomic_io.OutputError, "cannot write /dev/full: No space"):
      atomic_io.write_text("/dev/full", "x" * 100000)
    self.assertFalse(os.path.isfile("/dev/full"))
    atomic_io.write_text("/dev/null", "discarded")
    self.assertFalse(os.path.isfile("/dev/null"))

  def test_errors_name_the_users_path(self):
    with self.assertRaisesRegex(atomic_io.OutputError, "cannot write /proc/version"):
      atomic_io.write_text("/proc/version", "x")
    with self.assertRaisesRegex(atomic_io.OutputError, "is a directory"):
      atomic_io.write_text(self.dir, "x")
    blocker = os.path.join(self.dir, "file")
    atomic_io.write_text(blocker, "x")
    with self.assertRaisesRegex(atomic_io.OutputError, "is not a directory"):
      atomic_io.write_text(os.path.join(blocker, "out.json"), "x")


if __name__ == "__main__":
  absltest.main()
