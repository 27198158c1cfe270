"""Local stand-ins for the repositories Bazel 4 would otherwise download.

Bazel's built-in tools load @rules_cc and @rules_java even for plain builds and every test
depends on @remote_coverage_tools. Declared first in WORKSPACE, these definitions win over the
default WORKSPACE suffix's http_archive, so a build never needs the network.
"""

def _forwarding_rules_impl(rctx):
    rctx.file("BUILD.bazel", "")
    for path, rules in rctx.attr.files.items():
        lines = ["# Generated: forwards to Bazel's native rules."]
        for rule in rules.split(","):
            lines.append("def {0}(**kwargs):\n    native.{0}(**kwargs)\n".format(rule))
        rctx.file(path, "\n".join(lines) + "\n")
    for path in rctx.attr.empty_packages:
        rctx.file(path + "/BUILD.bazel", "")

forwarding_rules = repository_rule(
    implementation = _forwarding_rules_impl,
    attrs = {
        "files": attr.string_dict(doc = ".bzl path -> comma-separated native rule names"),
        "empty_packages": attr.string_list(),
    },
)

def _coverage_stub_impl(rctx):
    rctx.file("stub.sh", "#!/bin/sh\necho 'bazel coverage is not available offline' >&2\nexit 1\n", executable = True)
    rctx.file("BUILD.bazel", """
package(default_visibility = ["//visibility:public"])
sh_binary(name = "coverage_report_generator", srcs = ["stub.sh"])
sh_binary(name = "lcov_merger", srcs = ["stub.sh"])
""")

coverage_stub = repository_rule(implementation = _coverage_stub_impl)

def offline_stub_repositories():
    forwarding_rules(
        name = "rules_cc",
        files = {
            "cc/defs.bzl": "cc_binary,cc_import,cc_library,cc_proto_library,cc_test,cc_toolchain,cc_toolchain_suite,fdo_prefetch_hints,fdo_profile,objc_import,objc_library",
        },
        empty_packages = ["cc"],
    )
    forwarding_rules(
        name = "rules_java",
        files = {
            "java/defs.bzl": "java_binary,java_import,java_library,java_lite_proto_library,java_package_configuration,java_plugin,java_proto_library,java_runtime,java_test,java_toolchain",
        },
        empty_packages = ["java"],
    )
    coverage_stub(name = "remote_coverage_tools")
