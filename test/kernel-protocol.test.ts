/**
 * The dawnet kernel through the real Jupyter client (jupyter_client): values and rich bundles,
 * errors, stop_on_error, display updates, interrupts, restart and shutdown. The scenarios live in
 * test/python/kernel_protocol.py and run against one kernel; each is reported here.
 * The library runs on the CPU backend here: these tests are about the protocol, not the device.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { jupyterUnavailableReason, runPythonScript } from "./kernel-notebook.js";

const scenarios = [
  "kernel_info",
  "values",
  "errors",
  "stop_on_error",
  "display_updates",
  "interrupt_async_loop",
  "interrupt_ignoring_loop",
  "interrupt_sync_loop",
  "dawnet_import",
  "interrupt_fit",
  "restart",
  "shutdown",
];

interface ScenarioResult {
  name: string;
  ok: boolean | null;
  detail?: string;
}

const unavailable = jupyterUnavailableReason(["jupyter_client"]);
let results: ScenarioResult[] = [];
let stderr = "";
if (!unavailable) {
  const run = await runPythonScript("kernel_protocol.py", [], { env: { DAWNET_BACKEND: "cpu" }, timeoutSeconds: 300 });
  results = (run.json as { results: ScenarioResult[] } | null)?.results ?? [];
  stderr = run.stderr;
}

for (const name of scenarios) {
  const result = results.find((r) => r.name === name);
  if (unavailable || result?.ok === null) {
    console.log(`skipped: kernel protocol ${name}: ${unavailable ?? result?.detail}`);
    test.skip(`kernel protocol: ${name}`, () => undefined);
    continue;
  }
  test(`kernel protocol: ${name}`, () => {
    assert.ok(result, `scenario ${name} did not report (the script stopped early?):\n${stderr.slice(-3000)}`);
    assert.ok(result.ok, result.detail);
  });
}

test.run();
