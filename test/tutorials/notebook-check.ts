/**
 * Shared by test/notebooks-*.test.ts: executes a tutorial notebook with nbclient on the dawnet kernel
 * (the path a learner's Jupyter takes) and checks what it printed against what its text promises.
 *
 * The promise: a Markdown cell containing "What you should see" states results in backticks,
 * `LABEL OP NUMBER` with OP one of ≥ ≤ > <, e.g. `test accuracy ≥ 0.95`. A code cell prints
 * `LABEL: NUMBER` (e.g. "test accuracy: 0.973"); the last such line in the notebook is checked.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root (this file compiles to dist/test/tutorials/notebook-check.js). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const notebooksDir = path.join(repoRoot, "notebooks");
const executorScript = path.join(repoRoot, "test", "tutorials", "execute_notebook.py");
const python = "/usr/bin/python3";

/** Notebooks checked by each test file; together they must cover every notebook in notebooks/. */
export const notebookGroups: Record<string, string[]> = {
  basics: [
    "01-tensors-and-the-neuron.ipynb",
    "02-gradient-descent-by-hand.ipynb",
    "03-backpropagation.ipynb",
    "04-losses-and-optimizers.ipynb",
    "12-under-the-hood.ipynb",
    "faq.ipynb",
  ],
  models: [
    "05-first-keras-model.ipynb",
    "08-overfitting.ipynb",
    "09-recurrent-networks.ipynb",
    "10-autoencoders.ipynb",
  ],
  // The image-model chapters are the slowest (CNNs on the CPU): a file of their own balances the runner.
  vision: [
    "06-mnist-mlp.ipynb",
    "07-convolutional-networks.ipynb",
    "11-explaining-a-cnn.ipynb",
  ],
};

/** Largest committed notebook (outputs included) we accept: GitHub renders it and diffs stay readable. */
export const maxNotebookBytes = 1_000_000;

export interface NotebookOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}
export interface NotebookCell {
  cell_type: string;
  source: string | string[];
  outputs?: NotebookOutput[];
  execution_count?: number | null;
}
export interface Notebook {
  metadata: { kernelspec?: { name?: string } };
  cells: NotebookCell[];
}

export interface Claim {
  label: string;
  op: "≥" | "≤" | ">" | "<";
  value: number;
  /** The backticked text, as written. */
  text: string;
}

const joined = (s: string | string[] | undefined): string => (Array.isArray(s) ? s.join("") : (s ?? ""));

export function readNotebook(file: string): Notebook {
  return JSON.parse(readFileSync(file, "utf8")) as Notebook;
}

/** Results the notebook's "What you should see" paragraphs promise. */
export function statedClaims(nb: Notebook): Claim[] {
  const claims: Claim[] = [];
  for (const cell of nb.cells) {
    if (cell.cell_type !== "markdown") continue;
    const text = joined(cell.source);
    if (!/what you should see/i.test(text)) continue;
    for (const m of text.matchAll(/`([A-Za-z][^`≥≤<>]*?)\s*(≥|≤|>|<)\s*(-?\d[\d.]*(?:e[+-]?\d+)?)`/g)) {
      claims.push({ label: m[1].trim(), op: m[2] as Claim["op"], value: Number(m[3]), text: m[0] });
    }
  }
  return claims;
}

/** Every text a code cell showed: streams and text/plain results, in order. */
export function printedText(nb: Notebook): string {
  const parts: string[] = [];
  for (const cell of nb.cells) {
    for (const out of cell.outputs ?? []) {
      if (out.output_type === "stream") parts.push(joined(out.text));
      else if (out.data && typeof out.data["text/plain"] === "string") parts.push(out.data["text/plain"] as string);
    }
  }
  return parts.join("\n");
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The last number printed as `LABEL: NUMBER` at the start of a line, or undefined. */
export function printedValue(text: string, label: string): number | undefined {
  const re = new RegExp(`^[ \\t]*${escapeRegExp(label)}:\\s*(-?(?:\\d+\\.?\\d*|\\.\\d+)(?:e[+-]?\\d+)?|NaN|-?Infinity)`, "gm");
  let last: number | undefined;
  for (const m of text.matchAll(re)) last = Number(m[1]);
  return last;
}

function holds(value: number, claim: Claim): boolean {
  switch (claim.op) {
    case "≥": return value >= claim.value;
    case "≤": return value <= claim.value;
    case ">": return value > claim.value;
    case "<": return value < claim.value;
  }
}

/** Problems in an executed notebook: error outputs, cells that did not run, promises not kept. */
export function notebookProblems(nb: Notebook): string[] {
  const problems: string[] = [];
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type !== "code") return;
    if (cell.execution_count == null) problems.push(`cell ${i + 1} was not executed`);
    for (const out of cell.outputs ?? []) {
      if (out.output_type === "error") problems.push(`cell ${i + 1} raised ${out.ename}: ${out.evalue}`);
      if (out.output_type === "stream" && out.name === "stderr" && /\bError\b/.test(joined(out.text))) {
        problems.push(`cell ${i + 1} wrote an error to stderr: ${joined(out.text).slice(0, 300)}`);
      }
    }
  });
  const text = printedText(nb);
  for (const claim of statedClaims(nb)) {
    const value = printedValue(text, claim.label);
    if (value === undefined) problems.push(`the text promises ${claim.text} but no cell printed "${claim.label}: <number>"`);
    else if (!holds(value, claim)) {
      problems.push(`the text promises ${claim.text} but the notebook printed "${claim.label}: ${value}"; that cell printed:\n${cellPrinting(nb, claim.label)}`);
    }
  }
  return problems;
}

/** The text of the last cell that printed `label:` (for failure messages), indented and truncated. */
function cellPrinting(nb: Notebook, label: string): string {
  const cell = [...nb.cells].reverse().find((c) => printedValue(printedText({ metadata: {}, cells: [c] }), label) !== undefined);
  const text = cell ? printedText({ metadata: {}, cells: [cell] }) : "";
  return text.slice(-1500).split("\n").map((line) => `      ${line}`).join("\n");
}

/** Problems in a committed notebook: it must show its outputs on GitHub, without errors, and stay small. */
export function committedProblems(file: string): string[] {
  const problems: string[] = [];
  const bytes = statSync(file).size;
  if (bytes > maxNotebookBytes) problems.push(`${path.basename(file)} is ${(bytes / 1e6).toFixed(2)} MB (limit ${maxNotebookBytes / 1e6} MB): shrink its pictures`);
  const nb = readNotebook(file);
  if (nb.metadata.kernelspec?.name !== "dawnet") problems.push(`kernelspec is ${JSON.stringify(nb.metadata.kernelspec)}, expected name "dawnet"`);
  const ran = nb.cells.filter((c) => c.cell_type === "code" && c.execution_count != null).length;
  const code = nb.cells.filter((c) => c.cell_type === "code").length;
  if (ran !== code) problems.push(`only ${ran} of ${code} code cells have saved outputs: re-run it and commit the outputs`);
  nb.cells.forEach((cell, i) => {
    for (const out of cell.outputs ?? []) if (out.output_type === "error") problems.push(`saved cell ${i + 1} shows ${out.ename}: ${out.evalue}`);
  });
  if (statedClaims(nb).length === 0) problems.push(`no "What you should see" result in backticks (e.g. \`test accuracy ≥ 0.95\`)`);
  return problems;
}

export function allNotebooks(): string[] {
  return readdirSync(notebooksDir).filter((f) => f.endsWith(".ipynb")).sort();
}

/** Why notebooks can't be executed here (no Jupyter/nbclient, no build), or null. */
export function executionUnavailable(): string | null {
  const probe = spawnSync(python, ["-c", "import nbclient, nbformat, jupyter_client"], { encoding: "utf8" });
  if (probe.status !== 0) return `${python} cannot import nbclient/nbformat/jupyter_client (install python3-nbclient): ${(probe.stderr ?? "").trim().split("\n").pop()}`;
  return null;
}

/** Installs the dawnet kernelspec into a fresh prefix; returns the JUPYTER_PATH entry and a cleanup. */
export function installKernel(): { jupyterPath: string; cleanup: () => void } {
  const prefix = mkdtempSync(path.join(tmpdir(), "dawnet-nbtest-"));
  const result = spawnSync(process.execPath, [path.join(repoRoot, "bin", "dawnet.js"), "kernel", "install", "--prefix", prefix], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`dawnet kernel install --prefix ${prefix} failed: ${result.stderr}`);
  return { jupyterPath: path.join(prefix, "share", "jupyter"), cleanup: () => rmSync(prefix, { recursive: true, force: true }) };
}

export interface Execution {
  notebook: Notebook;
  seconds: number;
  /** [cell index, seconds] per executed code cell. */
  cells: [number, number][];
  /** nbclient's error (first failing cell, timeout, dead kernel), or null. */
  error: string | null;
}

/**
 * Executes `name` from notebooks/ through nbclient on the CPU backend into a temporary file
 * (the committed notebook is left alone); `cellTimeoutSeconds` bounds any one cell.
 */
export function executeNotebook(name: string, jupyterPath: string, cellTimeoutSeconds = 300): Promise<Execution> {
  const outDir = mkdtempSync(path.join(tmpdir(), "dawnet-nbrun-"));
  const outFile = path.join(outDir, name);
  const env = { ...process.env, JUPYTER_PATH: jupyterPath, DAWNET_BACKEND: "cpu", DAWNET_OFFLINE: "1" };
  return new Promise((resolve, reject) => {
    const child = spawn(python, [executorScript, path.join(notebooksDir, name), outFile, String(cellTimeoutSeconds)], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      try {
        const line = stdout.trim().split("\n").pop() ?? "";
        if (code !== 0 || !line.startsWith("{")) throw new Error(`execute_notebook.py ${name} exited ${code}: ${stderr.slice(-2000)}`);
        const report = JSON.parse(line) as { seconds: number; cells: [number, number][]; error: string | null };
        resolve({ notebook: readNotebook(outFile), ...report });
      } catch (err) {
        reject(err);
      } finally {
        rmSync(outDir, { recursive: true, force: true });
      }
    });
  });
}
