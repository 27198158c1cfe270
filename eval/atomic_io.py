"""Output files that are either complete or absent: write to a temporary file, then rename."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from typing import Any, Iterator

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
  """Yields a temporary path beside `path`; renames it over `path` when the block succeeds."""
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
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


def write_text(path: str, text: str) -> None:
  with atomic_path(path) as tmp:
    with open(tmp, "w") as f:
      f.write(text)


def write_json(path: str, data: Any) -> None:
  write_text(path, json.dumps(data, indent=1) + "\n")


def write_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
  with atomic_path(path) as tmp:
    with open(tmp, "wb") as f:  # a file object: np.savez would append ".npz" to a name
      np.savez_compressed(f, **arrays)
