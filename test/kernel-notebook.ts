/**
 * Test helpers around the real Jupyter machinery (Debian's /usr/bin/python3):
 * - installTestKernel(): the "dawnet" kernelspec in a temporary prefix, reachable through JUPYTER_PATH;
 * - executeNotebook(file): runs a notebook through nbclient with our kernel and returns its outputs;
 * - runPythonScript(script, args): runs one of test/python/*.py with that environment.
 * Tutorial tests use executeNotebook; kernel tests use runPythonScript.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** dist/test/kernel-notebook.js → the package root. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const systemPython = "/usr/bin/python3";
export const pythonScripts = path.join(packageRoot, "test", "python");

/** Why the Jupyter-based tests cannot run here, or null when they can. */
export function jupyterUnavailableReason(modules: string[] = ["jupyter_client", "nbclient"]): string | null {
  if (!existsSync(systemPython)) return `${systemPython} not found (Debian's Jupyter lives there; run scripts/install-system-deps.sh)`;
  const probe = spawnSync(systemPython, ["-c", `import ${modules.join(", ")}`], { encoding: "utf8" });
  if (probe.status !== 0) return `python modules missing (${modules.join(", ")}): apt-get install python3-jupyter-client python3-nbclient python3-jupyter-kernel-test`;
  if (!existsSync(path.join(packageRoot, "dist", "kernel", "main.js"))) return "dist/kernel/main.js missing: run npm run build";
  return null;
}

let installed: { prefix: string; env: NodeJS.ProcessEnv } | null = null;

/** Installs the kernelspec once per process into a temp prefix; removed at exit. */
export async function installTestKernel(): Promise<{ prefix: string; env: NodeJS.ProcessEnv }> {
  if (installed) return installed;
  const prefix = mkdtempSync(path.join(os.tmpdir(), "dawnet-kernelspec-"));
  const { installKernelSpec } = (await import(pathToFileURL(path.join(packageRoot, "dist", "kernel", "kernelspec.js")).href)) as {
    installKernelSpec(o: { prefix: string }): string;
  };
  installKernelSpec({ prefix });
  process.on("exit", () => rmSync(prefix, { recursive: true, force: true }));
  const jupyterPath = [path.join(prefix, "share", "jupyter"), process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter);
  installed = { prefix, env: { ...process.env, JUPYTER_PATH: jupyterPath, PYTHONWARNINGS: "ignore" } };
  return installed;
}

export interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (the scripts' report), or null. */
  json: unknown;
}

/** Runs test/python/<script> with the test kernelspec; `env` adds variables (e.g. DAWNET_BACKEND). */
export async function runPythonScript(
  script: string,
  args: string[] = [],
  options: { env?: NodeJS.ProcessEnv; timeoutSeconds?: number } = {},
): Promise<ScriptResult> {
  const { env } = await installTestKernel();
  return new Promise((resolve, reject) => {
    const child = spawn(systemPython, [path.join(pythonScripts, script), ...args], {
      env: { ...env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), (options.timeoutSeconds ?? 600) * 1000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split("\n").pop() ?? "";
      let json: unknown = null;
      try {
        json = JSON.parse(last);
      } catch {
        /* no report line: the caller shows stderr */
      }
      resolve({ code: code ?? 1, stdout, stderr, json });
    });
  });
}

export interface NotebookOutput {
  output_type: "stream" | "display_data" | "execute_result" | "error";
  name?: string;
  text?: string;
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
  execution_count?: number;
}

export interface ExecutedCell {
  index: number;
  cell_type: "code" | "markdown" | "raw";
  source: string;
  execution_count: number | null;
  outputs: NotebookOutput[];
}

export interface ExecutedNotebook {
  /** False when a cell raised (message in `error`) or the run failed (timeout, dead kernel). */
  ok: boolean;
  error: string | null;
  seconds: number;
  cells: ExecutedCell[];
  stderr: string;
}

/**
 * Executes a notebook through nbclient with the dawnet kernel (in the notebook's folder) and
 * returns every cell with its outputs. Display updates are already applied, as in Jupyter.
 */
export async function executeNotebook(
  file: string,
  options: { timeoutSeconds?: number; allowErrors?: boolean; output?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ExecutedNotebook> {
  const args = [path.resolve(file), "--timeout", String(Math.ceil(options.timeoutSeconds ?? 600))];
  if (options.allowErrors) args.push("--allow-errors");
  if (options.output) args.push("--output", path.resolve(options.output));
  const result = await runPythonScript("run_notebook.py", args, {
    env: options.env,
    timeoutSeconds: (options.timeoutSeconds ?? 600) + 120,
  });
  if (result.json === null) {
    throw new Error(`executeNotebook(${file}): nbclient produced no report (exit ${result.code}):\n${result.stderr.slice(-3000)}`);
  }
  return { ...(result.json as Omit<ExecutedNotebook, "stderr">), stderr: result.stderr };
}

/** Everything a cell printed or showed as text: streams, text/plain of results/displays, errors. */
export function cellText(cell: ExecutedCell): string {
  return cell.outputs
    .map((o) => {
      if (o.output_type === "stream") return o.text ?? "";
      if (o.output_type === "error") return `${o.ename}: ${o.evalue}\n`;
      const plain = o.data?.["text/plain"];
      return typeof plain === "string" ? plain + "\n" : "";
    })
    .join("");
}

/** The code cells that raised, with their error names and values (for assertion messages). */
export function cellErrors(notebook: ExecutedNotebook): string[] {
  return notebook.cells.flatMap((cell) =>
    cell.outputs.filter((o) => o.output_type === "error").map((o) => `cell ${cell.index + 1}: ${o.ename}: ${o.evalue}`),
  );
}
