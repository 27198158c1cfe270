"""Output files that are either complete or absent: write to a temporary file, then rename."""
from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import sys
import tempfile
from typing import Any, Iterator

import numpy as np


class OutputError(OSError):
  """An output that cannot be written; the message names the user's path and why."""


def _target(path: str) -> str:
  """Where writing `path` lands: a symlink's final target (the link itself stays)."""
  return os.path.realpath(path) if os.path.islink(path) else path


def _is_special(path: str) -> bool:
  """An existing non-regular file, links followed (a device, /dev/stdout, a FIFO, /proc)."""
  try:
    st = os.stat(path)
  except OSError:  # absent, or a parent is not a directory: atomic_path() says which
    return False
  return (not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode)
          or os.path.realpath(path).startswith("/proc/"))


# atomic_path()'s temporaries: ".<name>.<mkstemp's 8 characters>.tmp".
_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def remove_abandoned_temporaries(directory: str) -> int:
  """Deletes atomic_path() temporaries under `directory` (a writer killed mid-write leaves
  one); returns how many. Call only while no writer can be at work there (the output lock)."""
  removed = 0
  for root, _, names in os.walk(directory):
    for name in names:
      if _TEMPORARY.match(name):
        with contextlib.suppress(FileNotFoundError):
          os.unlink(os.path.join(root, name))
          removed += 1
  return removed


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
  """Yields a temporary path beside `path`; renames it over `path` when the block succeeds.

  A symlink is followed: its target is replaced and the link kept. A directory is refused.
  For special files (devices, FIFOs, /dev/stdout) see output_path().
  """
  path = _target(path)
  if os.path.isdir(path):
    raise OutputError(f"{path} is a directory, not a file")
  directory = os.path.dirname(os.path.abspath(path))
  try:
    os.makedirs(directory, exist_ok=True)
  except (FileExistsError, NotADirectoryError):
    raise OutputError(f"cannot write {path}: {directory} is not a directory") from None
  fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                             suffix=".tmp")
  os.close(fd)
  umask = os.umask(0)
  os.umask(umask)
  os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs are ordinary files
  try:
    yield tmp
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(FileNotFoundError):
      os.unlink(tmp)
    raise


@contextlib.contextmanager
def output_path(path: str) -> Iterator[str]:
  """The path to write an output to: atomic for files, in place for special files.

  /dev/stdout, a FIFO or a device is written directly (there is nothing to rename over);
  every OS error names the user's `path`, not a temporary file.
  """
  try:
    if _is_special(path):  # opened by its own name: /dev/stdout's target may be a pipe
      sys.stdout.flush()  # what was printed before comes first on /dev/stdout
      yield path
    else:
      with atomic_path(path) as tmp:
        yield tmp
  except OutputError:
    raise
  except OSError as e:
    raise OutputError(f"cannot write {path}: {e.strerror or e}") from e


def write_text(path: str, text: str) -> None:
  with output_path(path) as target:
    with open(target, "w") as f:
      f.write(text)


def write_json(path: str, data: Any) -> None:
  write_text(path, json.dumps(data, indent=1) + "\n")


def write_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
  with output_path(path) as target:
    with open(target, "wb") as f:  # a file object: np.savez would append ".npz" to a name
      np.savez_compressed(f, **arrays)
