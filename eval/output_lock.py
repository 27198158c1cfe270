"""One run at a time per output folder: two runs writing one folder would mix their files."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from typing import Iterator

from absl import logging

from eval import atomic_io

LOCK_FILE = ".lock"


class OutputLockedError(RuntimeError):
  """Another run holds the output folder; the message names the folder and that run."""


@contextlib.contextmanager
def hold(out_dir: str, program: str) -> Iterator[None]:
  """Holds OUT/.lock for the block; OutputLockedError at once if another run holds it.

  The lock is the kernel's (flock): it goes with the process, even one that was killed, so a
  crashed run never leaves the folder locked. Once held, the temporary files of a writer that
  was killed mid-write (atomic_io) are removed: no run of ours can be writing them.
  """
  path = os.path.join(out_dir, LOCK_FILE)
  with open(path, "a+") as f:
    try:
      fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      f.seek(0)
      holder = f.read().strip() or "another run"
      raise OutputLockedError(
          f"{out_dir} is being written by {holder}; wait for it to finish, or choose another "
          "output folder") from None
    try:
      f.seek(0)
      f.truncate()
      f.write(
          json.dumps({
              "program": program, "pid": os.getpid(), "started": time.strftime("%Y-%m-%dT%H:%M:%S")
          }) + "\n")
      f.flush()
      removed = atomic_io.remove_abandoned_temporaries(out_dir)
      if removed:
        logging.info("%s: removed %d temporary file(s) of an interrupted run", out_dir, removed)
      yield
    finally:
      f.seek(0)
      f.truncate()
      fcntl.flock(f, fcntl.LOCK_UN)
