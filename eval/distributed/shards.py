"""Work units of one model's run: shards of image ids, and their files for resuming.

A finished shard is written atomically to OUT/shards/shard-<index>-of-<count>.<key>.json, where
<key> hashes everything its results depend on (the detection cache's fingerprint: model,
input data, max_images, options; plus the shard size and the shard's image ids). A file is
reused only if its key, index and image ids match, so results of another model, other data or
other options are never taken for this run's.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
from typing import Any, Sequence

from absl import logging

from eval import atomic_io

SHARDS_DIR = "shards"
_NAME = re.compile(r"^shard-(\d+)-of-(\d+)\.([0-9a-f]+)\.json$")


@dataclasses.dataclass(frozen=True)
class Shard:
  index: int
  image_ids: tuple[int, ...]


def plan(image_ids: Sequence[int], shard_size: int) -> list[Shard]:
  """Consecutive runs of `shard_size` ids, in the source's order."""
  ids = [int(i) for i in image_ids]
  return [
      Shard(n, tuple(ids[start:start + shard_size]))
      for n, start in enumerate(range(0, len(ids), shard_size))
  ]


def _digest(data: Any) -> str:
  text = json.dumps(data, sort_keys=True, separators=(",", ":"))
  return hashlib.sha256(text.encode()).hexdigest()


class ShardStore:
  """The finished shards of one model's run in OUT/shards/."""

  def __init__(self, out_dir: str, fingerprint: dict, shards: Sequence[Shard]):
    self.dir = os.path.join(out_dir, SHARDS_DIR)
    self.shards = list(shards)
    # Normalised as JSON would (tuples become lists) so that the stored copy compares equal.
    self.fingerprint = json.loads(json.dumps(fingerprint))
    self.key = _digest({
        "fingerprint": self.fingerprint, "count": len(self.shards),
        "shards": [list(s.image_ids) for s in self.shards]
    })[:16]

  def path(self, shard: Shard) -> str:
    return os.path.join(self.dir, f"shard-{shard.index:05d}-of-{len(self.shards):05d}."
                        f"{self.key}.json")

  def load(self, shard: Shard) -> dict | None:
    """The stored output of `shard` if it was made by this very run setup, else None."""
    try:
      with open(self.path(shard)) as f:
        data = json.load(f)
    except FileNotFoundError:
      return None
    except (OSError, ValueError) as e:
      logging.warning("%s is unreadable (%s): running that shard again", self.path(shard), e)
      return None
    if (not isinstance(data, dict) or data.get("fingerprint") != self.fingerprint
        or data.get("image_ids") != list(shard.image_ids)
        or not isinstance(data.get("output"), dict)):
      logging.warning("%s was made for another run: running that shard again", self.path(shard))
      return None
    return data["output"]

  def save(self, shard: Shard, output: dict) -> None:
    atomic_io.write_text(
        self.path(shard),
        json.dumps(
            {
                "fingerprint": self.fingerprint, "index": shard.index, "count": len(self.shards),
                "image_ids": list(shard.image_ids), "output": output
            }, separators=(",", ":")) + "\n")

  def remove_stale(self) -> int:
    """Deletes shard files of other run setups (other model, data, options or shard size)."""
    removed = 0
    with contextlib.suppress(FileNotFoundError):
      for name in os.listdir(self.dir):
        match = _NAME.match(name)
        if match and match.group(3) != self.key:
          with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.dir, name))
          removed += 1
    return removed

  def remove_all(self) -> None:
    """Once the model's detections.json holds every shard, its shard files are redundant."""
    shutil.rmtree(self.dir, ignore_errors=True)
