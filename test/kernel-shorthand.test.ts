/** Cells may use shorthand properties for names declared in earlier cells (`{ paths }`). */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expandShorthandProperties } from "../kernel/executor.js";
import { runNotebookFile } from "../kernel/notebook-runner.js";

const test = suite("kernel shorthand properties");

test("expandShorthandProperties writes the long form, also in destructuring with defaults", () => {
  assert.is(expandShorthandProperties("f({ a, b: 1, c })"), "f({ a: a, b: 1, c: c })");
  assert.is(expandShorthandProperties("({ q = 5 } = o)"), "({ q: q = 5 } = o)");
  assert.is(expandShorthandProperties("const { a } = o; const s = `{ a }`;"), "const { a } = o; const s = `{ a }`;");
});

test("a later cell builds an object from an earlier cell's names", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dawnet-shorthand-"));
  const file = join(dir, "nb.ipynb");
  const cell = (source: string) => ({ cell_type: "code", metadata: {}, source, outputs: [], execution_count: null });
  writeFileSync(file, JSON.stringify({
    cells: [cell("const paths = [1]; let q = 2;"), cell("const o = { a: 1, paths };\n({ q = 5 } = { q: undefined } as { q?: number });\nconsole.log(JSON.stringify(o), q);")],
    metadata: { kernelspec: { name: "dawnet", display_name: "TypeScript (dawnet)", language: "typescript" } }, nbformat: 4, nbformat_minor: 5,
  }));
  process.env.DAWNET_BACKEND = "cpu";
  const summary = await runNotebookFile(file);
  assert.is(summary.errors, 0);
  const out = JSON.parse(readFileSync(file, "utf8")).cells[1].outputs[0].text;
  assert.is(Array.isArray(out) ? out.join("") : out, '{"a":1,"paths":[1]} 5\n');
});

test.run();
