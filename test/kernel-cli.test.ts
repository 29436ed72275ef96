/**
 * The kernel without Jupyter: kernelspec installer, `dawnet run` (in-process notebook execution),
 * and the CellExecutor directly (values, bundles, errors, is_complete, interrupt flag).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CellExecutor, type ExecuteOutcome } from "../kernel/executor.js";
import { normalizeBundle, type MimeBundle, type OutputSink } from "../kernel/display.js";
import { findExecutable, noJupyterHelp } from "../kernel/launcher.js";
import { packageRoot } from "./kernel-notebook.js";

const cli = path.join(packageRoot, "bin", "dawnet.js");
const tmp = mkdtempSync(path.join(os.tmpdir(), "dawnet-kernel-cli-"));

function dawnet(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, ...env }, timeout: 120_000 });
}

test("kernel install --prefix writes a kernelspec with absolute node and entry point", () => {
  const prefix = path.join(tmp, "prefix");
  const run = dawnet(["kernel", "install", "--prefix", prefix]);
  assert.is(run.status, 0, run.stderr);
  const dir = path.join(prefix, "share", "jupyter", "kernels", "dawnet");
  const spec = JSON.parse(readFileSync(path.join(dir, "kernel.json"), "utf8")) as { argv: string[]; display_name: string; language: string; interrupt_mode: string };
  assert.is(spec.display_name, "TypeScript (dawnet)");
  assert.is(spec.language, "typescript");
  assert.is(spec.interrupt_mode, "signal");
  assert.is(spec.argv[0], process.execPath);
  assert.equal(spec.argv.slice(-3), [path.join(packageRoot, "dist", "kernel", "main.js"), "--connection-file", "{connection_file}"]);
  assert.ok(existsSync(spec.argv[spec.argv.length - 3]));
  for (const logo of ["logo-32x32.png", "logo-64x64.png"]) {
    const bytes = readFileSync(path.join(dir, logo));
    assert.equal([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], `${logo} is a PNG`);
  }
});

test("kernel install refuses --user together with --prefix", () => {
  const run = dawnet(["kernel", "install", "--user", "--prefix", tmp]);
  assert.is(run.status, 2);
  assert.match(run.stderr, "choose --user or --prefix");
});

test("dawnet run executes a notebook in-process and writes .ipynb and .html", () => {
  const input = path.join(tmp, "small.ipynb");
  copyFileSync(path.join(packageRoot, "test", "fixtures", "kernel-small.ipynb"), input);
  const output = path.join(tmp, "small.out.ipynb");
  const run = dawnet(["run", input, "--html", "--output", output], { DAWNET_BACKEND: "cpu" });
  assert.is(run.status, 0, run.stderr);
  const nb = JSON.parse(readFileSync(output, "utf8")) as { cells: { cell_type: string; outputs?: { output_type: string; data?: Record<string, unknown>; text?: string }[] }[]; metadata: { kernelspec: { name: string } } };
  assert.is(nb.metadata.kernelspec.name, "dawnet");
  const outputs = nb.cells.filter((c) => c.cell_type === "code").map((c) => c.outputs ?? []);
  assert.equal(outputs[0].map((o) => o.data?.["text/plain"]), ["[ 2, 4, 6 ]"]);
  assert.equal(outputs[1], [{ output_type: "stream", name: "stdout", text: "sum 6\n" }]);
  assert.equal(Object.keys(outputs[2][0].data ?? {}), ["text/plain", "text/html", "application/vnd.vegalite.v5+json"]);
  assert.equal(outputs[3].map((o) => [o.output_type, o.data?.["text/plain"]]), [["display_data", "step 3"]]);
  const html = readFileSync(path.join(tmp, "small.out.html"), "utf8");
  assert.match(html, "<h1>Kernel fixture</h1>");
  assert.match(html, "<b>3 points</b>");
  assert.match(html, "step 3");
});

test("dawnet run exits 1 and stops at the first failing cell", () => {
  const file = path.join(tmp, "fails.ipynb");
  const cell = (source: string) => ({ cell_type: "code", metadata: {}, outputs: [], execution_count: null, source });
  writeFileSync(file, JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [cell("throw new TypeError('bad input')"), cell("1")] }));
  const run = dawnet(["run", file], { DAWNET_BACKEND: "cpu" });
  assert.is(run.status, 1);
  const nb = JSON.parse(readFileSync(file, "utf8")) as { cells: { outputs: { output_type: string; ename?: string; evalue?: string }[]; execution_count: number | null }[] };
  assert.equal(nb.cells[0].outputs.map((o) => [o.output_type, o.ename, o.evalue]), [["error", "TypeError", "bad input"]]);
  assert.is(nb.cells[1].execution_count, null);
});

test("dawnet run: dawnet is typed and in scope, a tensor shows itself (default backend)", () => {
  const file = path.join(tmp, "dn.ipynb");
  const cell = (source: string) => ({ cell_type: "code", metadata: {}, outputs: [], execution_count: null, source });
  const cells = [
    cell('import * as lib from "dawnet";\nconst shape: readonly number[] = lib.tensor([1, 2, 3]).shape;\nshape'),
    cell("const u = tensor([[1, 2], [3, 4]]);\nawait u.sum().item()"),
    cell("u"),
    cell("dn.getBackend()"),
  ];
  writeFileSync(file, JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells }));
  const run = dawnet(["run", file]);
  assert.is(run.status, 0, run.stderr);
  const nb = JSON.parse(readFileSync(file, "utf8")) as { cells: { outputs: { output_type: string; data?: Record<string, unknown> }[] }[] };
  const plain = nb.cells.map((c) => c.outputs.filter((o) => o.output_type === "execute_result").map((o) => o.data?.["text/plain"]));
  assert.equal(plain[0], ["[ 3 ]"]);
  assert.equal(plain[1], ["10"]);
  assert.is(plain[2].length, 1, "the tensor is the cell's value");
  assert.match(String(plain[2][0]), "3");
  console.log(`dawnet run used backend ${String(plain[3][0])}`);
});

// ---- CellExecutor directly ----

class Collect implements OutputSink {
  events: unknown[] = [];
  stream(name: string, text: string) {
    this.events.push(["stream", name, text]);
  }
  displayData(bundle: MimeBundle, displayId: string | undefined, update: boolean) {
    this.events.push([update ? "update" : "display", bundle.data, displayId]);
  }
  clearOutput(wait: boolean) {
    this.events.push(["clear", wait]);
  }
}

const executor = new CellExecutor({ rootDir: tmp, preloadDawnet: false });
async function run(code: string): Promise<{ outcome: ExecuteOutcome; events: unknown[] }> {
  const sink = new Collect();
  const outcome = await executor.execute(code, sink);
  await executor.flushDisplays();
  executor.detachOutput();
  return { outcome, events: sink.events };
}

test("executor: values, Promise values, undefined shows nothing", async () => {
  assert.equal((await run("1 + 2")).outcome, { status: "ok", result: { data: { "text/plain": "3" }, metadata: {} } });
  assert.equal((await run("Promise.resolve({ a: 1 })")).outcome, { status: "ok", result: { data: { "text/plain": "{ a: 1 }" }, metadata: {} } });
  assert.equal((await run("const unused = 1;")).outcome, { status: "ok" });
  assert.equal((await run("void 0")).outcome, { status: "ok" });
});

test("executor: TypeScript errors name the cell line and column", async () => {
  const { outcome } = await run("const a = 1;\nconst b: string = a;");
  assert.equal(outcome, {
    status: "error",
    interrupted: false,
    ename: "TypeScriptError",
    evalue: "2:7 - Type 'number' is not assignable to type 'string'.",
    traceback: ["2:7 - error TS2322: Type 'number' is not assignable to type 'string'.", "    const b: string = a;", "          ^"],
  });
});

test("executor: a runtime error names its TypeScript cell line", async () => {
  const { outcome } = await run("function check(x: number): number {\n  if (x > 1) {\n    throw new RangeError(`too big: ${x}`);\n  }\n  return x;\n}\ncheck(5)");
  assert.is(outcome.status === "error" && outcome.ename, "RangeError");
  assert.is(outcome.status === "error" && outcome.evalue, "too big: 5");
  const traceback = outcome.status === "error" ? outcome.traceback : [];
  assert.is(traceback[0], "RangeError: too big: 5");
  assert.equal(traceback.slice(-2), ["  cell line 3:", "        throw new RangeError(`too big: ${x}`);"]);
});

test("executor: output order with an awaited bundle between synchronous writes", async () => {
  const { events } = await run(
    "console.log('before');\n" +
      "display({ [Symbol.for('jupyter.mimebundle')]() { return new Promise((r) => setTimeout(() => r({ 'text/plain': 'late' }), 20)); } }, { displayId: 'd1' });\n" +
      "display('sync');\n" +
      "clearOutput(true);\n" +
      "void 0",
  );
  assert.equal(events, [
    ["stream", "stdout", "before\n"],
    ["display", { "text/plain": "late" }, "d1"],
    ["display", { "text/plain": "'sync'" }, (events[2] as unknown[])[2]],
    ["clear", true],
  ]);
});

test("executor: is_complete says complete, incomplete (with indent) or invalid", () => {
  assert.equal(executor.isComplete("const x = 1"), { status: "complete" });
  assert.equal(executor.isComplete("for (const x of xs) {"), { status: "incomplete", indent: "  " });
  assert.equal(executor.isComplete("const x = ]"), { status: "invalid" });
});

test("executor: the interrupt flag is false when a cell starts and after an interrupted cell", async () => {
  const flag = Symbol.for("dawnet.interrupt");
  const g = globalThis as Record<PropertyKey, unknown>;
  g[flag] = true;
  assert.equal((await run("(globalThis as any)[Symbol.for('dawnet.interrupt')]")).outcome, { status: "ok", result: { data: { "text/plain": "false" }, metadata: {} } });
  const pending = run("let n = 0;\nwhile (!(globalThis as any)[Symbol.for('dawnet.interrupt')]) { n++; await new Promise((r) => setTimeout(r, 2)); }");
  setTimeout(() => executor.interrupt(), 50);
  const { outcome } = await pending;
  assert.is(outcome.status, "error");
  assert.is(outcome.status === "error" && outcome.ename, "Interrupted");
  assert.is(g[flag], false);
});

test("normalizeBundle: plain map, {data, metadata}, JSON objects, text/plain fallback", () => {
  const owner = { toString: () => "Owner()" };
  assert.equal(normalizeBundle({ "text/html": "<b/>", "application/json": { a: [1] } }, owner), {
    data: { "text/html": "<b/>", "application/json": { a: [1] }, "text/plain": "Owner()" },
    metadata: {},
  });
  assert.equal(normalizeBundle({ data: { "text/plain": "x", "image/png": new Uint8Array([1, 2, 3]) }, metadata: { "image/png": { width: 3 } } }, owner), {
    data: { "text/plain": "x", "image/png": "AQID" },
    metadata: { "image/png": { width: 3 } },
  });
  assert.throws(() => normalizeBundle("not a bundle", owner), /jupyter.mimebundle: expected an object/);
});

test("launcher: executables are looked up on PATH; the help names pip, apt, conda and dawnet run", () => {
  assert.is(findExecutable("no-such-program-dawnet"), null);
  assert.is(findExecutable("node", [path.dirname(process.execPath)]) !== null, true);
  for (const hint of ["pip install jupyterlab", "apt-get install jupyter-notebook", "conda install", "npx dawnet run"]) assert.match(noJupyterHelp, hint);
});

test.after(() => executor.close());
test.run();
