"""jupyter_kernel_test (Debian python3-jupyter-kernel-test) against the dawnet kernel.

Run with JUPYTER_PATH pointing at a prefix where `dawnet kernel install --prefix` wrote the
kernelspec. Prints one JSON line: {"passed": [...], "failed": {name: traceback}, "skipped": {name: reason}}.
"""
import json
import sys
import unittest

import jupyter_kernel_test as jkt


class DawnetKernelTests(jkt.KernelTests):
    kernel_name = "dawnet"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("to stderr")'
    completion_samples = [
        {"text": "Math.flo", "matches": {"floor"}},
        {"text": "const longVariableName = 1;\nlongVariab", "matches": {"longVariableName"}},
    ]
    complete_code_samples = ["1 + 1", "const a = 1;", "function f() { return 1 }", "await Promise.resolve(1)"]
    incomplete_code_samples = ["function f() {", "const a = [1, 2,", "1 +", "for (let i = 0; i < 3; i++) {"]
    invalid_code_samples = ["const a = ]", "let = = 1", "1 + + )"]
    code_generate_error = 'throw new Error("expected failure")'
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "'a' + 'b'", "result": "'ab'"},
        {"code": "[1, 2].map((x) => x * 10)", "result": "[ 10, 20 ]"},
        {"code": "({ [Symbol.for('jupyter.mimebundle')]() { return { 'text/html': '<b>rich</b>', 'text/plain': 'rich' }; } })",
         "mime": "text/html", "result": "<b>rich</b>"},
    ]
    code_display_data = [
        {"code": "display({ [Symbol.for('jupyter.mimebundle')]() { return { 'text/html': '<i>shown</i>' }; } }); undefined",
         "mime": "text/html"},
        {"code": "display(123); undefined", "mime": "text/plain"},
    ]
    code_history_pattern = "6 *"  # a glob, as in IPython: matches "6 * 7"
    supported_history_operations = ("tail", "range", "search")
    code_inspect_sample = "Math.floor"
    code_clear_output = "clearOutput()"
    # code_page_something stays empty: the kernel has no pager payloads (TypeScript has no `?` help syntax).

SKIP_REASONS = {
    "test_pager": "no pager payloads: TypeScript has no `obj?` help syntax; inspect_request (Shift+Tab) serves docs",
}


class Collect(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.passed, self.failed_tests, self.skipped_tests = [], {}, {}

    def _name(self, test):
        return test.id().split(".")[-1].split(" ")[0]

    def addSuccess(self, test):
        self.passed.append(self._name(test))

    def addFailure(self, test, err):
        self.failed_tests[self._name(test)] = self._exc_info_to_string(err, test)

    addError = addFailure

    def addSkip(self, test, reason):
        name = self._name(test)
        self.skipped_tests[name] = SKIP_REASONS.get(name, reason or "skipped by jupyter_kernel_test")

    def addSubTest(self, test, subtest, err):
        if err is not None:
            self.failed_tests[self._name(test) + " " + subtest._subDescription()] = self._exc_info_to_string(err, test)


if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(DawnetKernelTests)
    result = Collect()
    suite.run(result)
    # A test whose subtests failed was still reported as a success by unittest: drop it.
    failed_roots = {name.split(" ")[0] for name in result.failed_tests}
    passed = [n for n in result.passed if n not in failed_roots]
    print(json.dumps({"passed": passed, "failed": result.failed_tests, "skipped": result.skipped_tests}))
    sys.exit(1 if result.failed_tests else 0)
