/** executeNotebook (nbclient + the dawnet kernel) on a small fixture notebook, as the tutorial tests use it. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import path from "node:path";
import { cellErrors, cellText, executeNotebook, jupyterUnavailableReason, packageRoot } from "./kernel-notebook.js";

const fixture = path.join(packageRoot, "test", "fixtures", "kernel-small.ipynb");
const unavailable = jupyterUnavailableReason(["jupyter_client", "nbclient"]);

if (unavailable) {
  console.log(`skipped: executeNotebook through nbclient: ${unavailable}`);
  test.skip("executeNotebook runs a notebook through nbclient", () => undefined);
} else {
  test("executeNotebook runs a notebook through nbclient and returns its outputs", async () => {
    const nb = await executeNotebook(fixture, { timeoutSeconds: 120, env: { DAWNET_BACKEND: "cpu" } });
    assert.ok(nb.ok, `${nb.error}\n${cellErrors(nb).join("\n")}`);
    const code = nb.cells.filter((c) => c.cell_type === "code");
    assert.equal(code.map((c) => c.execution_count), [1, 2, 3, 4, 5]);
    assert.is(cellText(code[0]), "[ 2, 4, 6 ]\n");
    assert.is(cellText(code[1]), "sum 6\n");
    // One execute_result carrying every MIME type, the JSON one as an object.
    assert.equal(code[2].outputs.map((o) => o.output_type), ["execute_result"]);
    assert.equal(code[2].outputs[0].data, {
      "text/plain": "chart(3)",
      "text/html": "<b>3 points</b>",
      "application/vnd.vegalite.v5+json": { mark: "point", data: { values: [{ x: 1 }, { x: 2 }, { x: 3 }] } },
    });
    // A display updated in place three times is one output holding the last state.
    assert.equal(code[3].outputs.map((o) => [o.output_type, o.data?.["text/plain"]]), [["display_data", "step 3"]]);
    assert.is(cellText(code[4]), "30\n");
  });

  test("executeNotebook reports the failing cell", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const os = await import("node:os");
    const dir = mkdtempSync(path.join(os.tmpdir(), "dawnet-nb-"));
    const file = path.join(dir, "fails.ipynb");
    const cell = (source: string) => ({ cell_type: "code", metadata: {}, outputs: [], execution_count: null, source });
    writeFileSync(file, JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [cell("1 + 1"), cell("const n: number = 'x'"), cell("2")] }));
    const nb = await executeNotebook(file, { timeoutSeconds: 60, env: { DAWNET_BACKEND: "cpu" } });
    assert.is(nb.ok, false);
    assert.equal(cellErrors(nb), ["cell 2: TypeScriptError: 1:7 - Type 'string' is not assignable to type 'number'."]);
    assert.is(nb.cells[2].execution_count, null, "cells after the error are not run");
  });
}

test.run();
