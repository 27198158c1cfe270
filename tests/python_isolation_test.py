"""The Python toolchain sees the locked venv only: no host packages, no caller PYTHONPATH."""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

_LOCK = os.path.join(os.path.dirname(__file__), "..", "third_party", "python",
                     "requirements_cpu.lock")


def _locked_version(distribution):
  with open(_LOCK) as f:
    match = re.search(rf"^{distribution}==(\S+)", f.read(), re.M)
  return match.group(1)


class PythonIsolationTest(unittest.TestCase):

  def _probe(self, env):
    probe = os.path.join(os.path.dirname(__file__), "python_env_probe")
    out = subprocess.run([probe], env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)

  def test_packages_come_from_the_locked_venv(self):
    info = self._probe(dict(os.environ))
    self.assertIn("/external/pypi/venv/", info["numpy"])
    self.assertIn("/external/pypi/venv/", info["absl"])
    self.assertEqual(info["numpy_version"], _locked_version("numpy"))

  def test_caller_pythonpath_does_not_leak(self):
    with tempfile.TemporaryDirectory() as decoy:
      with open(os.path.join(decoy, "numpy.py"), "w") as f:
        f.write("raise ImportError('the caller PYTHONPATH leaked into the build')\n")
      env = dict(os.environ, PYTHONPATH=decoy + os.pathsep + os.environ.get("PYTHONPATH", ""))
      info = self._probe(env)
    self.assertNotIn(decoy, info["path"])
    self.assertIn("/external/pypi/venv/", info["numpy"])

  def test_no_host_site_packages_on_path(self):
    for entry in self._probe(dict(os.environ))["path"]:
      if "site-packages" in entry or "dist-packages" in entry:
        self.assertIn("/external/pypi/venv/", entry)
    self.assertIn("/external/pypi/venv/", sys.prefix + "/")


if __name__ == "__main__":
  unittest.main()
