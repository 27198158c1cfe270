"""What //tools/lint checks and formats: the files, the configs and the pinned tools.

The files are the `lint_srcs` filegroups of the packages (every Python, C++ source and header
file; data such as testdata goldens and third_party/coco_fixtures is not in them), which
//tools/lint:lint_test and //tools/lint:format carry as data. ruff and yapf are the versions
pinned in third_party/python/requirements_*.lock, run with the toolchain's interpreter (the
venv made from the lock); clang-format is Debian's (`apt-get install clang-format`).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Sequence

RUFF_CONFIG = "ruff.toml"
YAPF_CONFIG = ".style.yapf"
CLANG_FORMAT_CONFIG = ".clang-format"
CONFIGS = (RUFF_CONFIG, YAPF_CONFIG, CLANG_FORMAT_CONFIG)

PYTHON_SUFFIXES = (".py",)
CC_SUFFIXES = (".cc", ".h")
FORMAT_COMMAND = "./bazel run //tools/lint:format"
CLANG_FORMAT_MISSING = (
    "clang-format not found on PATH: install it with `sudo apt-get install clang-format` "
    "(Debian's; ./bazel installs it on a fresh machine). The C++ files cannot be checked "
    "without it.")


class LintSetupError(Exception):
  """A tool or a config is missing: the check cannot run (it must not pass silently)."""


def runfiles_root() -> str:
  """The workspace's directory in the runfiles (where ruff.toml, eval/... are)."""
  here = os.path.dirname(os.path.abspath(__file__))  # <runfiles>/detector_eval/tools/lint
  root = os.path.dirname(os.path.dirname(here))
  if not os.path.exists(os.path.join(root, RUFF_CONFIG)):
    raise LintSetupError(f"{RUFF_CONFIG} not found next to {here}: run through Bazel "
                         "(bazel test //tools/lint:lint_test, bazel run //tools/lint:format)")
  return root


def source_files(root: str) -> tuple[list[str], list[str]]:
  """(Python files, C++ files) under `root`, relative to it, sorted.

  Only the files Bazel put there (the lint_srcs filegroups, declared inputs of the target).
  """
  python, cc = [], []
  for dirpath, dirnames, filenames in os.walk(root):
    rel_dir = os.path.relpath(dirpath, root)
    # The interpreter's and other repositories' runfiles are not the workspace's sources.
    dirnames[:] = sorted(d for d in dirnames if not (rel_dir == "." and d in ("external", "_main")))
    for name in filenames:
      rel = os.path.normpath(os.path.join(rel_dir, name))
      if name.endswith(PYTHON_SUFFIXES):
        python.append(rel)
      elif name.endswith(CC_SUFFIXES):
        cc.append(rel)
  return sorted(python), sorted(cc)


def clang_format_binary() -> str:
  for name in ("clang-format", "clang-format-14", "clang-format-15", "clang-format-16"):
    path = shutil.which(name)
    if path:
      return path
  raise LintSetupError(CLANG_FORMAT_MISSING)


def python_tool(module: str) -> list[str]:
  """`python -m <module>` with this interpreter: the venv made from the lock."""
  return [sys.executable, "-m", module]


def run(args: Sequence[str], cwd: str) -> subprocess.CompletedProcess:
  return subprocess.run(list(args), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True, check=False)
