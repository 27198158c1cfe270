"""extract: hostile archives are refused, good ones land complete or not at all."""
import io
import json
import os
import tarfile
import zipfile
from unittest import mock

from absl.testing import absltest

from eval.download import extract


def _tar(path, entries):
  """entries: (name, bytes) for files, (name, ("sym"|"hard"|"chr", target)) for the others."""
  with tarfile.open(path, "w:gz") as tar:
    for name, content in entries:
      info = tarfile.TarInfo(name)
      if isinstance(content, bytes):
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
        continue
      kind, target = content
      info.type = {"sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE}[kind]
      info.linkname = target
      tar.addfile(info)
  return path


def _zip(path, entries):
  with zipfile.ZipFile(path, "w") as z:
    for name, content in entries:
      z.writestr(name, content)
  return path


class ExtractTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.dir = self.create_tempdir().full_path
    self.target = os.path.join(self.dir, "out", "model")

  def path(self, name):
    return os.path.join(self.dir, name)

  def assert_nothing_left(self):
    parent = os.path.dirname(self.target)
    self.assertEqual(os.listdir(parent) if os.path.exists(parent) else [], [])

  def test_good_tar_is_extracted_once_and_reused(self):
    archive = _tar(self.path("m.tar.gz"), [("m/saved_model/saved_model.pb", b"pb"),
                                           ("m/pipeline.config", b"cfg"),
                                           ("m/link.config", ("sym", "pipeline.config")),
                                           ("m/hard.config", ("hard", "m/pipeline.config"))])
    self.assertEqual(extract.extract(archive, self.target, fingerprint="v1"), self.target)
    with open(os.path.join(self.target, "m", "link.config")) as f:
      self.assertEqual(f.read(), "cfg")
    self.assertTrue(extract.is_extracted(self.target))
    with open(os.path.join(self.target, extract.MARKER)) as f:
      self.assertEqual(json.load(f)["files"], 4)
    self.assertEqual(sorted(os.listdir(os.path.dirname(self.target))), ["model"])
    with mock.patch.object(extract, "_extract_all") as again:
      extract.extract(archive, self.target, fingerprint="v1")
      again.assert_not_called()
    # Another version of the archive replaces the old extraction.
    _tar(archive, [("m/pipeline.config", b"new")])
    extract.extract(archive, self.target, fingerprint="v2")
    self.assertEqual(os.listdir(os.path.join(self.target, "m")), ["pipeline.config"])

  def test_good_zip_with_member_selection(self):
    archive = _zip(self.path("ann.zip"), [("annotations/instances_val2017.json", "{}"),
                                          ("annotations/captions_val2017.json", "{}")])
    extract.extract(archive, self.target, members=["annotations/instances_val2017.json"])
    self.assertEqual(os.listdir(os.path.join(self.target, "annotations")),
                     ["instances_val2017.json"])
    with self.assertRaisesRegex(FileNotFoundError, "ann.zip has no member nope.json"):
      extract.extract(archive, self.path("other"), members=["nope.json"])

  def test_hostile_tar_members_are_refused(self):
    cases = {
        "traversal": ([("m/../../evil", b"x")], r"'m/../../evil' has a '\.\.' component"),
        "absolute": ([("/tmp/evil", b"x")], "'/tmp/evil' has an absolute path"),
        "symlink_escape": ([("m/l", ("sym", "../../etc"))], "link 'm/l' -> '../../etc' points "
                           "outside"),
        "absolute_symlink": ([("m/l", ("sym", "/etc/passwd"))], "points outside"),
        "hardlink_escape": ([("m/h", ("hard", "../outside"))], "link 'm/h' .* points outside"),
        "through_symlink": ([("m/l", ("sym", ".")),
                             ("m/l/x", b"x")], "'m/l/x' lies under the symlink 'm/l'"),
        "device": ([("m/dev", ("chr", ""))], "'m/dev' is a device file or FIFO"),
    }
    for case, (entries, message) in cases.items():
      with self.subTest(case):
        archive = _tar(self.path(case + ".tar.gz"), entries)
        with self.assertRaisesRegex(extract.UnsafeArchiveError, message):
          extract.extract(archive, self.target)
        self.assert_nothing_left()
    self.assertFalse(os.path.exists(os.path.join(self.dir, "evil")))

  def test_hostile_zip_members_are_refused(self):
    archive = _zip(self.path("bad.zip"), [("ok.txt", "x"), ("../evil.txt", "x")])
    with self.assertRaisesRegex(extract.UnsafeArchiveError, "'../evil.txt' has a '..' component"):
      extract.extract(archive, self.target)
    archive = _zip(self.path("abs.zip"), [("/abs.txt", "x")])
    with self.assertRaisesRegex(extract.UnsafeArchiveError, "absolute path"):
      extract.extract(archive, self.target)
    with zipfile.ZipFile(self.path("link.zip"), "w") as z:
      info = zipfile.ZipInfo("link")
      info.external_attr = 0o120777 << 16  # a symlink, as Info-ZIP stores one
      z.writestr(info, "../../etc/passwd")
    with self.assertRaisesRegex(extract.UnsafeArchiveError, "'link' is a symlink"):
      extract.extract(self.path("link.zip"), self.target)
    self.assert_nothing_left()

  def test_interrupted_extraction_leaves_nothing_complete(self):
    archive = _tar(self.path("big.tar.gz"), [(f"m/f{i}", os.urandom(50_000)) for i in range(20)])
    with open(archive, "rb") as f:
      data = f.read()
    truncated = self.path("truncated.tar.gz")
    with open(truncated, "wb") as f:
      f.write(data[:len(data) // 2])  # a download cut short
    with self.assertRaises((tarfile.TarError, EOFError, ValueError)):
      extract.extract(truncated, self.target)
    self.assert_nothing_left()

    # Interrupted while writing files (Ctrl-C): the partial directory is removed.
    real_extract = tarfile.TarFile.extract

    def interrupt_late(tar, member, *args, **kwargs):
      if member.name.endswith("f10"):
        raise KeyboardInterrupt
      return real_extract(tar, member, *args, **kwargs)
    with mock.patch.object(tarfile.TarFile, "extract", interrupt_late), \
         mock.patch.object(tarfile.TarFile, "extractall", _extract_one_by_one):
      with self.assertRaises(KeyboardInterrupt):
        extract.extract(archive, self.target)
    self.assert_nothing_left()

    # Killed outright: the partial directory of a dead process is not mistaken for a result
    # and is cleaned up by the next run.
    parent = os.path.dirname(self.target)
    dead = os.path.join(parent, ".model.partial-999999999-abc")
    os.makedirs(os.path.join(dead, "m"))
    self.assertFalse(extract.is_extracted(self.target))
    extract.extract(archive, self.target)
    self.assertEqual(os.listdir(parent), ["model"])
    self.assertLen(os.listdir(os.path.join(self.target, "m")), 20)

  def test_foreign_directory_is_not_overwritten(self):
    os.makedirs(self.target)
    archive = _zip(self.path("a.zip"), [("a.txt", "x")])
    with self.assertRaisesRegex(FileExistsError, "holds no extraction made by this tool"):
      extract.extract(archive, self.target)

  def test_not_an_archive(self):
    path = self.create_tempfile("x.tar.gz", "not an archive").full_path
    with self.assertRaisesRegex(ValueError, "neither a zip nor a .* tar archive.*delete it"):
      extract.extract(path, self.target)


def _extract_one_by_one(tar, path, members=None, **kwargs):
  for member in members:
    tar.extract(member, path, **kwargs)


if __name__ == "__main__":
  absltest.main()
