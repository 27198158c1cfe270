"""Joins the Ray cluster --ray_address names, or starts a local Ray on 127.0.0.1.

A cluster that is not there fails fast (a TCP probe of HOST:PORT, seconds) with an error that
names the address, instead of Ray's own minute of retries.
"""
from __future__ import annotations

import dataclasses
import logging as std_logging
import os
import secrets
import socket

from absl import logging

from eval.distributed import options as options_lib
from eval.distributed.ray_env import LOOPBACK_ONLY
from eval.distributed.ray_env import ray

DEFAULT_GCS_PORT = 6379
PROBE_TIMEOUT = 3.0
# The object store carries shard results (COCO results, small), not images.
LOCAL_OBJECT_STORE_BYTES = 256 * 1024 * 1024


class ClusterError(RuntimeError):
  """No Ray cluster at the address given; the message says what was tried and what to do."""


@dataclasses.dataclass
class RayCluster:
  address: str  # the GCS address workers and other drivers can join
  started: bool  # this process started it (and shutdown() stops it)

  def resources(self) -> tuple[float, float]:
    """(CPUs, GPUs) of the whole cluster."""
    total = ray.cluster_resources()
    return float(total.get("CPU", 0)), float(total.get("GPU", 0))

  def shutdown(self) -> None:
    """Disconnects; a local Ray this process started stops with it (nothing else does)."""
    if ray.is_initialized():
      ray.shutdown()


def ensure_auth_token() -> None:
  """Gives a new local Ray a token of its own, in this process's environment, unless one is
  configured: Ray (token authentication on by default) would otherwise write
  ~/.ray/auth_token, which fails where the home directory is read-only (Bazel's sandbox). The
  Ray processes started from here, and drivers started from here, inherit it."""
  if ("RAY_AUTH_TOKEN" in os.environ or "RAY_AUTH_TOKEN_PATH" in os.environ
      or os.path.isfile(os.path.expanduser("~/.ray/auth_token"))):
    return
  os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)


def _hint(address: str) -> str:
  return ("Start a cluster whose head answers there (`ray start --head --port=PORT` on the "
          "head node), pass --ray_address=auto for the cluster `ray start` runs on this machine, "
          "or leave --ray_address unset to start a local Ray in this process.")


def _host_port(address: str) -> tuple[str, int]:
  text = address.split("://", 1)[-1].rstrip("/")
  if text.startswith("["):  # [v6]:port
    host, _, port = text[1:].partition("]")
    port = port.lstrip(":")
  else:
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
  try:
    return host, int(port) if port else DEFAULT_GCS_PORT
  except ValueError:
    raise ClusterError(f"--ray_address={address}: not HOST:PORT (e.g. 127.0.0.1:6379), 'auto', "
                       "or unset") from None


def probe(address: str, timeout: float = PROBE_TIMEOUT) -> None:
  """Raises ClusterError unless something accepts TCP connections at HOST:PORT."""
  host, port = _host_port(address)
  try:
    with socket.create_connection((host, port), timeout=timeout):
      pass
  except OSError as e:
    reason = "timed out" if isinstance(e, socket.timeout) else (e.strerror or str(e))
    raise ClusterError(f"--ray_address={address}: no Ray cluster answers at {host}:{port} "
                       f"({reason}). {_hint(address)}") from None


def connect(address: str | None, *, num_cpus: int | None = None, num_gpus: int | None = None,
            probe_timeout: float = PROBE_TIMEOUT) -> RayCluster:
  """Ray for this process: the cluster at `address` ("auto", HOST:PORT), or with None a new
  local one (num_cpus/num_gpus: its resources; default the machine's). When this process
  already has Ray initialised (a test, a caller's own cluster), that one is used as it is."""
  if ray.is_initialized():
    context = ray.get_runtime_context()
    return RayCluster(context.gcs_address, started=False)
  quiet = dict(logging_level=std_logging.WARNING, include_dashboard=False)
  if address is None:
    # "local": always a new Ray of our own, never a cluster someone else runs on this machine.
    ensure_auth_token()
    info = ray.init(address="local", num_cpus=num_cpus, num_gpus=num_gpus,
                    object_store_memory=LOCAL_OBJECT_STORE_BYTES, **quiet)
    logging.info("started a local Ray at %s (%s CPUs%s)", info.address_info["gcs_address"],
                 num_cpus if num_cpus is not None else "all",
                 f", {num_gpus} GPUs" if num_gpus else "")
    return RayCluster(info.address_info["gcs_address"], started=True)
  if address != "auto":
    host, _ = _host_port(address)
    if LOOPBACK_ONLY and host not in options_lib.LOCAL_ADDRESSES:
      raise ClusterError(
          f"--ray_address={address}: this process keeps Ray on 127.0.0.1 "
          "(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0); to join a cluster of several machines, run "
          "the driver on a cluster node with RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1 in its "
          "environment")
    probe(address, probe_timeout)
  try:
    info = ray.init(address=address, **{k: v for k, v in quiet.items() if k != "include_dashboard"})
  except (ConnectionError, RuntimeError, ValueError) as e:
    raise ClusterError(f"--ray_address={address}: cannot join a Ray cluster there ({e}). "
                       f"{_hint(address)}") from None
  logging.info("joined the Ray cluster at %s", info.address_info["gcs_address"])
  return RayCluster(info.address_info["gcs_address"], started=False)
