/**
 * jupyter_kernel_test (the Jupyter project's kernel conformance suite, Debian python3-jupyter-kernel-test)
 * against the dawnet kernel. The suite runs once (one kernel); each of its tests is reported here.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { jupyterUnavailableReason, runPythonScript } from "./kernel-notebook.js";

// Every test in jupyter_kernel_test 0.4.5, and why the ones that do not apply are skipped.
const suiteTests = [
  "test_kernel_info",
  "test_execute_stdout",
  "test_execute_stderr",
  "test_completion",
  "test_is_complete",
  "test_error",
  "test_execute_result",
  "test_display_data",
  "test_history",
  "test_inspect",
  "test_clear_output",
];
const notApplicable: Record<string, string> = {
  test_pager: "no pager payloads: TypeScript has no `obj?` help syntax; inspect_request (Shift+Tab) serves docs",
};

interface Report {
  passed: string[];
  failed: Record<string, string>;
  skipped: Record<string, string>;
}

const unavailable = jupyterUnavailableReason(["jupyter_client", "jupyter_kernel_test"]);
let report: Report | null = null;
let stderr = "";
if (!unavailable) {
  const result = await runPythonScript("kernel_conformance.py", [], { env: { DAWNET_BACKEND: "cpu" }, timeoutSeconds: 300 });
  report = result.json as Report | null;
  stderr = result.stderr;
}

for (const name of suiteTests) {
  if (unavailable) {
    test.skip(name, () => undefined);
    continue;
  }
  test(`jupyter_kernel_test ${name}`, () => {
    assert.ok(report, `kernel_conformance.py produced no report:\n${stderr.slice(-3000)}`);
    const failures = Object.entries(report.failed).filter(([key]) => key.split(" ")[0] === name);
    assert.equal(failures.map(([key]) => key), [], failures.map(([key, tb]) => `${key}\n${tb}`).join("\n"));
    assert.ok(report.passed.includes(name), `${name} did not run (skipped: ${report.skipped[name] ?? "no"})`);
  });
}

for (const [name, reason] of Object.entries(notApplicable)) {
  console.log(`skipped: jupyter_kernel_test ${name}: ${reason}`);
  test.skip(`jupyter_kernel_test ${name}`, () => undefined);
}

if (unavailable) {
  console.log(`skipped: jupyter_kernel_test suite: ${unavailable}`);
} else {
  test("jupyter_kernel_test skips only the tests that do not apply", () => {
    assert.ok(report, `kernel_conformance.py produced no report:\n${stderr.slice(-3000)}`);
    assert.equal(Object.keys(report.skipped).sort(), Object.keys(notApplicable).sort());
  });
}

test.run();
