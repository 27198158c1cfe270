"""Formats the workspace in place with the pinned tools: the fix for //tools/lint:lint_test.

  ./bazel run //tools/lint:format                   # every Python and C++ file
  ./bazel run //tools/lint:format -- eval/download  # only files under these paths

ruff check --fix (the safe fixes only, e.g. unused imports), then yapf -i, then clang-format -i,
with the configs at the workspace root. The files are the same ones the lint test checks (the
lint_srcs filegroups). What ruff cannot fix is listed at the end (exit status 1).
"""
from __future__ import annotations

import os
import sys

from tools.lint import lint_lib


def main(argv: list[str]) -> int:
  workspace = os.environ.get("BUILD_WORKSPACE_DIRECTORY")
  if not workspace:
    print("format: run it with `./bazel run //tools/lint:format`", file=sys.stderr)
    return 2
  try:
    python, cc = lint_lib.source_files(lint_lib.runfiles_root())
    clang_format = lint_lib.clang_format_binary() if cc else None
  except lint_lib.LintSetupError as e:
    print(f"format: {e}", file=sys.stderr)
    return 2

  if argv:
    cwd = os.environ.get("BUILD_WORKING_DIRECTORY", workspace)
    prefixes = [os.path.relpath(os.path.join(cwd, a), workspace) for a in argv]
    bad = [p for p in prefixes if p.startswith("..")]
    if bad:
      print(f"format: outside the workspace: {', '.join(bad)}", file=sys.stderr)
      return 2

    def wanted(path: str) -> bool:
      return any(p == "." or path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)

    python, cc = [f for f in python if wanted(f)], [f for f in cc if wanted(f)]
  # Files in the runfiles that no longer exist in the tree (deleted since the build) are skipped.
  python = [f for f in python if os.path.isfile(os.path.join(workspace, f))]
  cc = [f for f in cc if os.path.isfile(os.path.join(workspace, f))]
  print(f"format: {len(python)} Python files, {len(cc)} C++ files in {workspace}")

  leftover = ""
  if python:
    ruff = lint_lib.run(
        lint_lib.python_tool("ruff") + [
            "check", "--no-cache", "--config", lint_lib.RUFF_CONFIG, "--fix", "--force-exclude",
            "--output-format", "concise", "--"
        ] + python, workspace)
    if ruff.returncode not in (0, 1):
      print(f"format: ruff failed:\n{ruff.stderr}", file=sys.stderr)
      return 2
    yapf = lint_lib.run(
        lint_lib.python_tool("yapf") + ["--style", lint_lib.YAPF_CONFIG, "-i", "--parallel"]
        + python, workspace)
    if yapf.returncode != 0:
      print(f"format: yapf failed:\n{yapf.stdout}{yapf.stderr}", file=sys.stderr)
      return 2
    if ruff.returncode == 1:
      # Line numbers moved with yapf: list what is left on the formatted files.
      again = lint_lib.run(
          lint_lib.python_tool("ruff") + [
              "check", "--no-cache", "--config", lint_lib.RUFF_CONFIG, "--force-exclude",
              "--output-format", "concise", "--"
          ] + python, workspace)
      leftover = again.stdout if again.returncode == 1 else ""
  if cc:
    result = lint_lib.run([clang_format, f"--style=file:{lint_lib.CLANG_FORMAT_CONFIG}", "-i"] + cc,
                          workspace)
    if result.returncode != 0:
      print(f"format: clang-format failed:\n{result.stderr}", file=sys.stderr)
      return 2
  if leftover.strip():
    print(f"{leftover.rstrip()}\nformat: formatted; ruff findings above need a manual fix")
    return 1
  print("format: done")
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
