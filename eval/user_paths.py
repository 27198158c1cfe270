"""Paths given by the user on the command line."""
import os


def resolve(path: str) -> str:
  """Resolves `path` against the directory the user ran `bazel run` from (or the cwd)."""
  path = os.path.expanduser(path)
  if os.path.isabs(path):
    return path
  base = os.environ.get("BUILD_WORKING_DIRECTORY") or os.getcwd()
  return os.path.join(base, path)
