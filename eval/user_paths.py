"""Paths given by the user on the command line."""
import os


def resolve(path: str) -> str:
  """Resolves `path` against the directory the user ran `bazel run` from (or the cwd)."""
  path = os.path.expanduser(path)
  if os.path.isabs(path):
    return path
  base = os.environ.get("BUILD_WORKING_DIRECTORY") or os.getcwd()
  return os.path.join(base, path)


def output_dir(path: str, flag: str = "--output_dir") -> str:
  """`path` resolved and created as a directory; ValueError naming `flag` if it cannot be."""
  path = resolve(path)
  if os.path.exists(path) and not os.path.isdir(path):
    raise ValueError(f"{flag}={path} is a file, not a directory")
  try:
    os.makedirs(path, exist_ok=True)
  except OSError as e:
    raise ValueError(f"{flag}={path}: cannot create it: {e.strerror or e}") from e
  return path
