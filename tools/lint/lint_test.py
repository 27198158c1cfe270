"""Lint and format check of every Python and C++ file of the workspace.

  bazel test //tools/lint:lint_test

ruff check (ruff.toml), yapf --diff (.style.yapf) over the Python files, clang-format
--dry-run --Werror (.clang-format) over the C++ files. Fails listing each violation as
file:line and the command that fixes it (./bazel run //tools/lint:format applies yapf, ruff's
safe fixes and clang-format; what ruff cannot fix is left to you). A missing clang-format fails
the test instead of skipping the C++ files.
"""
from __future__ import annotations

import re
import sys

from tools.lint import lint_lib

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")
_CLANG = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+):\d+: (?:error|warning): (?P<msg>.*)$")


def check_ruff(root: str, files: list[str]) -> list[str]:
  if not files:
    return []
  result = lint_lib.run(
      lint_lib.python_tool("ruff") + [
          "check", "--no-cache", "--config", lint_lib.RUFF_CONFIG, "--output-format", "concise",
          "--force-exclude", "--"
      ] + files, root)
  if result.returncode not in (0, 1):
    raise lint_lib.LintSetupError(f"ruff failed (exit {result.returncode}):\n{result.stderr}")
  problems = []
  for line in result.stdout.splitlines():
    if re.match(r"^[^:\s]+:\d+:\d+: ", line):
      problems.append(f"{line}  [ruff]")
  if result.returncode == 1 and not problems:
    raise lint_lib.LintSetupError(f"ruff reported problems it did not list:\n{result.stdout}")
  return problems


def check_yapf(root: str, files: list[str]) -> list[str]:
  if not files:
    return []
  result = lint_lib.run(
      lint_lib.python_tool("yapf") + ["--style", lint_lib.YAPF_CONFIG, "--diff", "--parallel"]
      + files, root)
  if result.returncode not in (0, 1):
    raise lint_lib.LintSetupError(f"yapf failed (exit {result.returncode}):\n{result.stderr}")
  problems = []
  current, line_no, changed = None, 0, []

  def flush_hunk():
    if current and changed:
      first, last = min(changed), max(changed)
      where = f"{first}" if first == last else f"{first}-{last}"
      what = "line" if first == last else "lines"
      problems.append(f"{current}:{where}: yapf would reformat {what} {where}  [yapf]")
    changed.clear()

  for line in result.stdout.splitlines():
    match = _HUNK.match(line)
    if line.startswith("--- ") and line.endswith("(original)"):
      flush_hunk()
      current = line[4:-len("(original)")].strip()
    elif line.startswith("+++ ") and line.endswith("(reformatted)"):
      continue
    elif match:
      flush_hunk()
      line_no = int(match.group(1))
    elif line.startswith("-"):
      changed.append(line_no)
      line_no += 1
    elif line.startswith("+"):
      changed.append(max(line_no, 1))
    else:
      line_no += 1
  flush_hunk()
  if result.returncode == 1 and not problems:
    raise lint_lib.LintSetupError(f"yapf reported changes it did not list:\n{result.stdout}")
  return problems


def check_clang_format(root: str, files: list[str]) -> list[str]:
  if not files:
    return []
  binary = lint_lib.clang_format_binary()  # raises with the apt-get command when missing
  result = lint_lib.run([
      binary, f"--style=file:{lint_lib.CLANG_FORMAT_CONFIG}", "--dry-run", "--Werror",
      "--ferror-limit=0"
  ] + files, root)
  problems = []
  for line in result.stderr.splitlines():
    match = _CLANG.match(line)
    if match:
      problem = f"{match.group('file')}:{match.group('line')}: {match.group('msg')}  [clang-format]"
      if problem not in problems:  # one per line, not one per column
        problems.append(problem)
  if result.returncode != 0 and not problems:
    raise lint_lib.LintSetupError(
        f"clang-format failed (exit {result.returncode}):\n{result.stderr}")
  return problems


def main() -> int:
  try:
    root = lint_lib.runfiles_root()
    python, cc = lint_lib.source_files(root)
    if not python:
      raise lint_lib.LintSetupError("no Python files in the runfiles: is lint_srcs in data?")
    print(f"lint: {len(python)} Python files (ruff, yapf), {len(cc)} C++ files (clang-format)")
    problems = check_ruff(root, python) + check_yapf(root, python) + check_clang_format(root, cc)
  except lint_lib.LintSetupError as e:
    print(f"lint: cannot check: {e}", file=sys.stderr)
    return 2
  if not problems:
    print("lint: clean")
    return 0
  for problem in problems:
    print(problem)
  files = len({p.split(":", 1)[0] for p in problems})
  print(f"\nlint: {len(problems)} problems in {files} files.\n"
        f"Fix: {lint_lib.FORMAT_COMMAND}  (yapf, ruff's safe fixes and clang-format, in place);\n"
        "the [ruff] findings it cannot fix need a manual change (ruff.toml says what each rule "
        "checks;\n`ruff rule <CODE>` explains one).")
  return 1


if __name__ == "__main__":
  sys.exit(main())
