"""Prints, as JSON, where this interpreter finds its modules (used by python_isolation_test)."""
import json
import sys

import absl
import numpy

print(
    json.dumps({
        "executable": sys.executable,
        "path": sys.path,
        "numpy": numpy.__file__,
        "numpy_version": numpy.__version__,
        "absl": absl.__file__,
    }))
