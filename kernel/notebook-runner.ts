// `dawnet run NOTEBOOK.ipynb`: executes a notebook in this process with the kernel's CellExecutor
// (no Jupyter, no ZeroMQ) and writes the executed .ipynb, optionally a standalone HTML page.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CellExecutor, kernelLog } from "./executor.js";
import { kernelDisplayName, kernelName } from "./kernelspec.js";
import type { MimeBundle, OutputSink } from "./display.js";
import { notebookToHtml } from "./notebook-html.js";

export type NotebookOutput =
  | { output_type: "stream"; name: string; text: string }
  | { output_type: "display_data"; data: Record<string, unknown>; metadata: Record<string, unknown> }
  | { output_type: "execute_result"; execution_count: number; data: Record<string, unknown>; metadata: Record<string, unknown> }
  | { output_type: "error"; ename: string; evalue: string; traceback: string[] };

export interface NotebookCell {
  cell_type: "code" | "markdown" | "raw";
  source: string | string[];
  metadata: Record<string, unknown>;
  outputs?: NotebookOutput[];
  execution_count?: number | null;
  id?: string;
}

export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: NotebookCell[];
}

export interface RunOptions {
  /** Also write an HTML page next to the output notebook. */
  html?: boolean;
  /** Where to write the executed notebook; default: in place. */
  output?: string;
  /** Interrupt a cell that runs longer than this. */
  cellTimeoutSeconds?: number;
  /** Keep executing after a cell fails (default: stop at the first error, like nbconvert --execute). */
  allowErrors?: boolean;
}

export interface RunSummary {
  cellsRun: number;
  errors: number;
  outputPath: string;
  htmlPath?: string;
  seconds: number;
}

export function cellSource(cell: NotebookCell): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** Collects one cell's outputs, applying clear_output and display updates as Jupyter front ends do. */
class CellOutputs implements OutputSink {
  readonly outputs: NotebookOutput[] = [];
  private clearOnNextOutput = false;

  constructor(private readonly displays: Map<string, NotebookOutput[]>) {}

  private add(output: NotebookOutput): NotebookOutput {
    if (this.clearOnNextOutput) this.clearNow();
    const last = this.outputs[this.outputs.length - 1];
    if (output.output_type === "stream" && last?.output_type === "stream" && last.name === output.name) {
      last.text += output.text; // nbformat merges consecutive stream chunks
      return last;
    }
    this.outputs.push(output);
    return output;
  }

  private clearNow(): void {
    this.clearOnNextOutput = false;
    this.outputs.length = 0;
  }

  stream(name: "stdout" | "stderr", text: string): void {
    this.add({ output_type: "stream", name, text });
  }

  displayData(bundle: MimeBundle, displayId: string | undefined, update: boolean): void {
    if (update) {
      for (const shown of displayId ? (this.displays.get(displayId) ?? []) : []) {
        if (shown.output_type === "display_data" || shown.output_type === "execute_result") {
          shown.data = bundle.data;
          shown.metadata = bundle.metadata;
        }
      }
      return;
    }
    const output = this.add({ output_type: "display_data", data: bundle.data, metadata: bundle.metadata });
    if (displayId) this.displays.set(displayId, [...(this.displays.get(displayId) ?? []), output]);
  }

  clearOutput(wait: boolean): void {
    if (wait) this.clearOnNextOutput = true;
    else this.clearNow();
  }

  result(count: number, bundle: MimeBundle): void {
    this.add({ output_type: "execute_result", execution_count: count, data: bundle.data, metadata: bundle.metadata });
  }

  error(ename: string, evalue: string, traceback: string[]): void {
    this.add({ output_type: "error", ename, evalue, traceback });
  }
}

/** Executes the code cells of `notebook` in order (in place); returns how many ran and how many failed. */
export async function runNotebook(
  notebook: Notebook,
  executor: CellExecutor,
  options: Pick<RunOptions, "cellTimeoutSeconds" | "allowErrors"> & { onCell?: (index: number, seconds: number, ok: boolean) => void } = {},
): Promise<{ cellsRun: number; errors: number }> {
  const displays = new Map<string, NotebookOutput[]>();
  let count = 0;
  let errors = 0;
  let stopped = false;
  for (const [index, cell] of notebook.cells.entries()) {
    if (cell.cell_type !== "code") continue;
    if (stopped) {
      cell.outputs = [];
      cell.execution_count = null;
      continue;
    }
    const sink = new CellOutputs(displays);
    const started = Date.now();
    const timer =
      options.cellTimeoutSeconds !== undefined ? setTimeout(() => executor.interrupt(), options.cellTimeoutSeconds * 1000) : undefined;
    const outcome = await executor.execute(cellSource(cell), sink);
    if (timer) clearTimeout(timer);
    await executor.flushDisplays();
    count++;
    if (outcome.status === "ok") {
      if (outcome.result) sink.result(count, outcome.result);
    } else {
      errors++;
      sink.error(outcome.ename, outcome.evalue, outcome.traceback);
      if (!options.allowErrors) stopped = true;
    }
    cell.outputs = sink.outputs;
    cell.execution_count = count;
    options.onCell?.(index, (Date.now() - started) / 1000, outcome.status === "ok");
  }
  executor.detachOutput();
  return { cellsRun: count, errors };
}

function reportBackgroundError(err: unknown): void {
  console.error("Uncaught error (from background work):", err);
}

export function readNotebook(file: string): Notebook {
  const notebook = JSON.parse(readFileSync(file, "utf8")) as Notebook;
  if (notebook.nbformat !== 4 || !Array.isArray(notebook.cells)) {
    throw new Error(`dawnet run: ${file} is not an nbformat 4 notebook (nbformat=${String(notebook.nbformat)})`);
  }
  return notebook;
}

/** Reads, executes and writes a notebook (see RunOptions); prints one line per cell to stderr. */
export async function runNotebookFile(file: string, options: RunOptions = {}): Promise<RunSummary> {
  const notebook = readNotebook(file);
  const started = Date.now();
  const executor = new CellExecutor({ rootDir: path.dirname(path.resolve(file)) });
  // As in the kernel, a throw from background work is shown in the cell and does not end the run.
  process.on("uncaughtException", reportBackgroundError);
  process.on("unhandledRejection", reportBackgroundError);
  const { cellsRun, errors } = await runNotebook(notebook, executor, {
    ...options,
    onCell: (index, seconds, ok) => kernelLog(`${path.basename(file)} cell ${index + 1}: ${ok ? "ok" : "ERROR"} (${seconds.toFixed(2)} s)`, "dawnet run"),
  });
  process.off("uncaughtException", reportBackgroundError);
  process.off("unhandledRejection", reportBackgroundError);
  executor.close();
  notebook.metadata.kernelspec = { name: kernelName, display_name: kernelDisplayName, language: "typescript" };
  notebook.metadata.language_info = { name: "typescript", file_extension: ".ts", mimetype: "text/typescript", version: executor.typescriptVersion() };
  const outputPath = path.resolve(options.output ?? file);
  writeFileSync(outputPath, JSON.stringify(notebook, null, 1) + "\n");
  let htmlPath: string | undefined;
  if (options.html) {
    htmlPath = outputPath.replace(/\.ipynb$/, "") + ".html";
    writeFileSync(htmlPath, notebookToHtml(notebook, path.basename(file, ".ipynb")));
  }
  const seconds = (Date.now() - started) / 1000;
  kernelLog(`${path.basename(file)}: ${cellsRun} cells run, ${errors} failed, ${seconds.toFixed(1)} s → ${outputPath}${htmlPath ? ` and ${htmlPath}` : ""}`, "dawnet run");
  return { cellsRun, errors, outputPath, htmlPath, seconds };
}
