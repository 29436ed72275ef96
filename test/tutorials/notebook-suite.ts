/** Builds the uvu suite of one notebook group (see notebookGroups): each notebook's saved form, then a fresh run. */
import { existsSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  committedProblems, executeNotebook, executionUnavailable, installKernel, notebookGroups, notebookProblems, notebooksDir,
} from "./notebook-check.js";

export function notebookSuite(group: string): void {
  const names = notebookGroups[group];
  if (!names) throw new Error(`notebookSuite: unknown group "${group}"; known: ${Object.keys(notebookGroups).join(", ")}`);
  const unavailable = executionUnavailable();
  let kernel: ReturnType<typeof installKernel> | null = null;
  const timings: string[] = [];

  for (const name of names) {
    const file = path.join(notebooksDir, name);
    if (!existsSync(file)) {
      test(`${name}: exists`, () => assert.unreachable(`${file} is missing (listed in test/tutorials/notebook-check.ts)`));
      continue;
    }
    test(`${name}: committed with outputs, no errors, under the size limit`, () => {
      const problems = committedProblems(file);
      assert.ok(problems.length === 0, `${name}:\n  ${problems.join("\n  ")}`);
    });
    if (unavailable) {
      test.skip(`${name}: runs top to bottom with the stated results`);
      continue;
    }
    test(`${name}: runs top to bottom with the stated results`, async () => {
      kernel ??= installKernel();
      const run = await executeNotebook(name, kernel.jupyterPath);
      const slowest = [...run.cells].sort((a, b) => b[1] - a[1])[0];
      timings.push(`${name} ${run.seconds.toFixed(1)} s${slowest ? ` (slowest cell ${slowest[0] + 1}: ${slowest[1].toFixed(1)} s)` : ""}`);
      const problems = notebookProblems(run.notebook);
      // nbclient's message repeats the failing cell's source; the cell's own error output says it shorter.
      if (run.error && !problems.some((p) => / raised /.test(p))) problems.unshift(`nbclient: ${run.error.slice(-1500)}`);
      assert.ok(problems.length === 0, `${name}:\n  ${problems.join("\n  ")}`);
    });
  }

  test.after(() => {
    kernel?.cleanup();
    if (unavailable) console.log(`skipped: notebook execution: ${unavailable}`);
    for (const line of timings) console.log(`notebook time: ${line}`);
  });
  test.run();
}
