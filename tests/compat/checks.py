"""The PASS/FAIL convention of the small compat scripts: run named checks, print one line each and
the `N passed, M failed` summary, and exit non-zero when anything failed (or nothing passed)."""
import sys


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name, function):
        try:
            function()
            self.passed += 1
            print(f"PASS {name}")
            return True
        except Exception as error:  # a failed check is reported, not raised
            self.failed += 1
            print(f"FAIL {name}: {error!r}")
            return False

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed or not self.passed else 0)
