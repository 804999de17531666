#!/usr/bin/env python3
"""scripts/check-boundaries on small trees: clean, and each violation it must catch."""
import os
import subprocess
import sys
import tempfile
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHECK = os.path.join(REPO, "scripts", "check-boundaries")

MAP = """# map
```modules
core:
acme:      core
acme/dns:  core
cli:       core acme
```
"""
TIDY = "HeaderFilterRegex: '/(core|acme|cli)/[^/]*(/[^/]*)?\\.hpp$'\n"


class CheckBoundaries(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name
        self.write("ARCHITECTURE.md", MAP)
        self.write(".clang-tidy", TIDY)
        self.write("core/result.hpp", "#pragma once\n")
        self.write("acme/dns/provider.hpp", '#include "core/result.hpp"\n')
        self.write("acme/client.cpp", '#include "core/result.hpp"\n#include <string>\n')
        self.write("cli/main.cpp", '#include "acme/client.hpp"\n#include "core/result.hpp"\n')

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, path, text):
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(text)

    def check(self):
        return subprocess.run([sys.executable, CHECK, self.root], capture_output=True, text=True)

    def test_clean_tree_passes(self):
        result = self.check()
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_include_of_a_module_not_allowed_fails(self):
        self.write("core/fs.cpp", '#include "core/result.hpp"\n\n#include "acme/client.hpp"\n')
        result = self.check()
        self.assertEqual(result.returncode, 1)
        self.assertIn("core/fs.cpp:3: core/ may not use acme/", result.stdout)

    def test_nested_module_is_its_own_module(self):
        # acme may not use acme/dns here: the longest folder decides the module.
        self.write("acme/order.cpp", '#include "acme/dns/provider.hpp"\n')
        result = self.check()
        self.assertEqual(result.returncode, 1)
        self.assertIn("acme/order.cpp:1: acme/ may not use acme/dns/", result.stdout)

    def test_dependency_declared_below_its_user_fails(self):
        self.write("ARCHITECTURE.md", MAP.replace("core:\n", "core:      cli\n"))
        result = self.check()
        self.assertEqual(result.returncode, 1)
        self.assertIn("core uses cli, which is not declared above it", result.stdout)

    def test_sources_outside_any_module_fail(self):
        self.write("src/old.cpp", "int x;\n")
        result = self.check()
        self.assertEqual(result.returncode, 1)
        self.assertIn("src/: holds C++ sources but is no module", result.stdout)

    def test_stale_clang_tidy_header_filter_fails(self):
        self.write(".clang-tidy", "HeaderFilterRegex: '/src/'\n")
        result = self.check()
        self.assertEqual(result.returncode, 1)
        self.assertIn("does not cover core/'s headers", result.stdout)

    def test_missing_map_is_an_error(self):
        self.write("ARCHITECTURE.md", "# no map\n")
        result = self.check()
        self.assertEqual(result.returncode, 2)
        self.assertIn("no ```modules block", result.stderr)

    def test_this_repository_is_clean(self):
        result = subprocess.run([sys.executable, CHECK, REPO], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
