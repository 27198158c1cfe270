"""@pypi: a virtualenv built from the hashed lock, used as the Python toolchain's interpreter.

Why a venv rather than a py_library of files per distribution: TensorFlow is ~16,700 files;
in runfiles every test target re-links and re-sandboxes all of them and imports them without a
bytecode cache (measured in ../shared/docs/bazel-offline.md: 52-78 s cold and 674 MB for four
TF tests, against 8-17 s and 1 MB with the venv). The price is that Bazel does not track the
third-party files themselves, so the interpreter wrapper embeds a fingerprint of the lock: a lock
change re-creates the venv and re-runs every Python action.

The venv's interpreter runs isolated: no host site-packages (a venv without system packages),
no user site (-s), no caller PYTHONPATH except Bazel's own runfiles entries, and no script
directory on sys.path (-P), so `bazel run` and `bazel test` see only the lock.

Variants: the lock is requirements_<variant>.lock with variant from --repo_env=PYPI_VARIANT
(cpu by default; `--config=gpu` selects gpu).
"""

_WRAPPER = """#!/bin/sh
# Interpreter of the project's Python toolchain. Lock fingerprint: {fingerprint}
# Keep only the runfiles entries that Bazel's launcher put on PYTHONPATH.
kept=""
old_ifs="$IFS"; IFS=:
for entry in $PYTHONPATH; do
  case "$entry" in
    *.runfiles|*.runfiles/*) kept="${{kept:+$kept:}}$entry" ;;
  esac
done
IFS="$old_ifs"
export PYTHONPATH="$kept"
unset PYTHONHOME PYTHONSTARTUP PYTHONUSERBASE
export PYTHONNOUSERSITE=1 PYTHONDONTWRITEBYTECODE=1
exec "{venv}/bin/python3" -s -P "$@"
"""

_BUILD_HEADER = """
package(default_visibility = ["//visibility:public"])

load("@bazel_tools//tools/python:toolchain.bzl", "py_runtime_pair")

exports_files(["python3"])

py_runtime(
    name = "py3_runtime",
    interpreter = ":python3",
    python_version = "PY3",
    stub_shebang = "#!/usr/bin/env python3",
)

py_runtime_pair(name = "runtime_pair", py3_runtime = ":py3_runtime")

toolchain(
    name = "py_toolchain",
    toolchain = ":runtime_pair",
    toolchain_type = "@bazel_tools//tools/python:toolchain_type",
)

cc_library(
    name = "python_headers",
    hdrs = glob(["python_include/**/*.h"]),
    includes = ["python_include"],
)

cc_library(
    name = "pybind11_headers",
    hdrs = glob(["pybind11_include/**/*.h"]),
    includes = ["pybind11_include"],
    deps = [":python_headers"],
)

"""

_DISTRIBUTION_BUILD = """# {name}, pinned in {lock}.
py_library(name = "{name}", visibility = ["//visibility:public"])
"""

def _run(rctx, args, what, timeout = 3600, quiet = False):
    result = rctx.execute(args, timeout = timeout, quiet = quiet)
    if result.return_code != 0:
        fail("{} failed ({}):\n{}\n{}".format(what, " ".join(args), result.stdout, result.stderr))
    return result.stdout

def _pypi_impl(rctx):
    variant = rctx.os.environ.get("PYPI_VARIANT", "cpu")
    lock_label = Label("//third_party/python:requirements_{}.lock".format(variant))
    lock = rctx.path(lock_label)
    if not lock.exists:
        fail("no lock for PYPI_VARIANT={}: {}".format(variant, lock))
    lock_text = rctx.read(lock)
    python = rctx.os.environ.get("PYPI_PYTHON") or rctx.which("python3")
    if not python:
        fail("python3 not found on PATH (set PYPI_PYTHON to an interpreter)")

    venv = str(rctx.path("venv"))
    rctx.report_progress("creating the venv")
    _run(rctx, [python, "-m", "venv", "--clear", venv], "python3 -m venv (Debian: apt-get install python3-venv)")
    rctx.report_progress("pip install --require-hashes (TensorFlow is large: first time only)")
    _run(rctx, [
        venv + "/bin/python3", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--require-hashes", "--only-binary=:all:", "--no-deps", "-r", str(lock),
    ], "pip install of " + str(lock))

    rctx.file("python3", _WRAPPER.format(fingerprint = hash(lock_text), venv = venv), executable = True)

    info = _run(rctx, [venv + "/bin/python3", "-c", "\n".join([
        "import sysconfig, pybind11",
        "print(sysconfig.get_paths()['include'])",
        "print(pybind11.get_include())",
    ])], "locating Python.h and pybind11")
    python_include, pybind11_include = info.strip().split("\n")
    if not rctx.path(python_include + "/Python.h").exists:
        fail("Python.h not found in {}: install Debian's python3-dev".format(python_include))
    rctx.symlink(python_include, "python_include")
    rctx.symlink(pybind11_include, "pybind11_include")

    names = []
    for line in lock_text.split("\n"):
        if "==" in line and not line.startswith("#"):
            names.append(line.split("==")[0].strip().replace(".", "-").replace("_", "-").lower())
    rctx.file("BUILD.bazel", _BUILD_HEADER)

    # TensorFlow is `tensorflow-cpu` in the CPU lock and `tensorflow` in the GPU lock: targets
    # depend on `@pypi//tensorflow`, which names whichever the selected lock holds.
    if "tensorflow-cpu" in names and "tensorflow" not in names:
        names.append("tensorflow")

    # One package per locked distribution (`@pypi//numpy`). The files live in the venv, so these
    # record which distributions a target uses; the interpreter provides them.
    for name in names:
        rctx.file(name + "/BUILD.bazel", _DISTRIBUTION_BUILD.format(name = name, lock = lock_label))

pypi_venv = repository_rule(
    implementation = _pypi_impl,
    environ = ["PYPI_VARIANT", "PYPI_PYTHON"],
    attrs = {},
)
