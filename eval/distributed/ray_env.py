"""Imports Ray with the environment that keeps a local Ray on 127.0.0.1 and offline.

Import Ray as `from eval.distributed.ray_env import ray` (before anything else imports it):
Ray reads these variables once, when it is imported (/work/shared/docs/ray.md).
- RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0: the node's address is 127.0.0.1, not the machine's
  outward interface, so every Ray process talks over loopback only. A multi-machine cluster
  needs the real interface: set RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1 in the environment of the
  driver (cluster.connect() says so when --ray_address names another host).
- RAY_USAGE_STATS_ENABLED=0: no usage reporting.
Values already in the environment are kept. The Ray processes a local Ray starts inherit them.
"""
import os

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import ray  # pylint: disable=g-import-not-at-top,wrong-import-position

LOOPBACK_ONLY = os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "0"

__all__ = ["ray", "LOOPBACK_ONLY"]
