#!/usr/bin/env bash
# Formats the workspace in place with the pinned ruff/yapf (from the lock) and clang-format:
# the fix for //tools/lint:lint_test. Arguments restrict it to files under those paths.
#   tools/lint/format.sh [PATH...]
set -euo pipefail
cd "$(dirname "$0")/../.."
exec ./bazel run //tools/lint:format -- "$@"
