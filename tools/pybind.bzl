"""pybind_extension: a Python extension module built from C++ with pybind11.

Produces `<name>.so` (import it as `<package>.<name>`) and a py_library `<name>` wrapping it.
The module is linked statically against its C++ deps and never against libpython, so the
interpreter that imports it provides the symbols; -fvisibility=hidden keeps pybind11's
symbols private as pybind11 recommends.
"""

def pybind_extension(name, srcs, deps = [], copts = [], visibility = None, **kwargs):
    native.cc_binary(
        name = name + ".so",
        srcs = srcs,
        deps = deps + ["@pypi//:pybind11_headers"],
        copts = copts + ["-fvisibility=hidden", "-fexceptions"],
        linkshared = True,
        linkstatic = True,
        visibility = ["//visibility:private"],
        **kwargs
    )
    native.py_library(
        name = name,
        data = [":" + name + ".so"],
        visibility = visibility,
    )
