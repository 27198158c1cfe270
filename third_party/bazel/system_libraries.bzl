"""C/C++ libraries taken from Debian packages (installed by ./bazel or .ci/run).

googletest: Debian's `googletest` source package, compiled by the build.
simdjson: Debian's `libsimdjson-dev` (header + shared library).
Each rule fails with the apt-get command to run when the package is missing.
"""

def _require(rctx, path, package):
    if not rctx.path(path).exists:
        fail("{} not found: install Debian's {} (sudo apt-get install -y {}) or run ./bazel, which does".format(path, package, package))

def _googletest_impl(rctx):
    root = "/usr/src/googletest/googletest"
    _require(rctx, root + "/src/gtest-all.cc", "googletest")
    rctx.symlink(root, "googletest")
    rctx.file("BUILD.bazel", """
package(default_visibility = ["//visibility:public"])
cc_library(
    name = "gtest",
    srcs = ["googletest/src/gtest-all.cc"],
    hdrs = glob(["googletest/include/**/*.h", "googletest/src/*.h", "googletest/src/*.cc"]),
    includes = ["googletest", "googletest/include"],
    copts = ["-w"],
    linkopts = ["-pthread"],
)
cc_library(
    name = "gtest_main",
    srcs = ["googletest/src/gtest_main.cc"],
    deps = [":gtest"],
    copts = ["-w"],
)
""")

debian_googletest = repository_rule(implementation = _googletest_impl, local = True)

def _simdjson_impl(rctx):
    _require(rctx, "/usr/include/simdjson.h", "libsimdjson-dev")
    result = rctx.execute(["gcc", "-print-file-name=libsimdjson.so"])
    lib = result.stdout.strip()
    if result.return_code != 0 or not lib.startswith("/"):
        fail("libsimdjson.so not found by gcc: install Debian's libsimdjson-dev")
    rctx.symlink("/usr/include/simdjson.h", "include/simdjson.h")
    rctx.symlink(lib, "lib/libsimdjson.so")
    rctx.file("BUILD.bazel", """
package(default_visibility = ["//visibility:public"])
cc_library(
    name = "simdjson",
    hdrs = ["include/simdjson.h"],
    strip_include_prefix = "include",
    linkopts = ["-L{libdir}", "-lsimdjson", "-Wl,-rpath,{libdir}"],
)
""".format(libdir = lib.rsplit("/", 1)[0]))

debian_simdjson = repository_rule(implementation = _simdjson_impl, local = True)
