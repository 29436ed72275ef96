/**
 * Training progress, Keras-style: a live progress bar on a terminal, one line per epoch otherwise,
 * and in a notebook ONE output updated in place (progress line + live loss chart from lib/viz).
 * verbose: 0 silent, 1 bar (line per epoch when not a terminal), 2 line per epoch.
 */
import type { LiveChart } from "../viz/loss.js";

export type Logs = Record<string, number>;

interface DisplayHandle {
  update(obj: unknown): Promise<void> | void;
}
interface DisplayBridge {
  display(obj: unknown, options?: { displayId?: string }): DisplayHandle;
}

/** The notebook kernel's display bridge (kernel/README.md), when running inside one. */
export function displayBridge(): DisplayBridge | null {
  const b = (globalThis as Record<symbol, unknown>)[Symbol.for("dawnet.display")] as DisplayBridge | undefined;
  return b && typeof b.display === "function" ? b : null;
}

export function formatLogs(logs: Logs): string {
  return Object.entries(logs).map(([k, v]) => `${k}: ${formatValue(v)}`).join(" - ");
}
function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(4) : v.toFixed(4);
}
function formatTime(seconds: number): string {
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)}:${String(Math.floor((seconds % 3600) / 60)).padStart(2, "0")}:${String(Math.floor(seconds % 60)).padStart(2, "0")}`;
  if (seconds >= 60) return `${Math.floor(seconds / 60)}:${String(Math.floor(seconds % 60)).padStart(2, "0")}`;
  return `${Math.round(seconds)}s`;
}
function perStep(seconds: number, steps: number): string {
  const s = seconds / Math.max(1, steps);
  return s >= 1 ? `${s.toFixed(1)}s/step` : s >= 1e-3 ? `${Math.round(s * 1e3)}ms/step` : `${Math.round(s * 1e6)}us/step`;
}

const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export type ProgressMode = "silent" | "bar" | "lines" | "notebook";

export function progressMode(verbose: 0 | 1 | 2 | "auto"): ProgressMode {
  if (verbose === 0) return "silent";
  if (displayBridge()) return "notebook";
  if (verbose === 2) return "lines";
  return process.stdout.isTTY ? "bar" : "lines";
}

/** Reports one fit() run. Reads nothing from the device itself: it is handed logs when they were read. */
export class ProgressReporter {
  private epochStart = 0;
  private epoch = 0;
  private lastDraw = 0;
  private line = "";
  private chart: LiveChart | null = null;
  private handle: DisplayHandle | null = null;
  private rendering: Promise<void> | null = null;
  private pending = false;
  private readonly renderInterval = 300;
  private svg = "";
  private lastChart = 0;
  private chartInterval = 1000;
  private finishing = false;
  private readonly bridge: DisplayBridge | null;

  constructor(readonly mode: ProgressMode, readonly epochs: number, private steps: number | undefined, private readonly write: (s: string) => void = (s) => process.stdout.write(s)) {
    this.bridge = mode === "notebook" ? displayBridge() : null;
  }

  /** The notebook chart (created lazily: lib/viz loads only in notebooks). */
  async start(): Promise<void> {
    if (this.mode !== "notebook") return;
    try {
      const viz = await import("../viz/loss.js");
      this.chart = viz.liveLossCurve({ display: null, stepsPerEpoch: this.steps });
    } catch {
      this.chart = null; // the progress line still shows
    }
  }

  onEpochBegin(epoch: number): void {
    this.epoch = epoch;
    this.epochStart = performance.now();
    this.lastDraw = 0;
    if (this.mode === "bar") this.write(`Epoch ${epoch + 1}/${this.epochs}\n`);
  }

  /** After a batch whose logs were read (`step` is 0-based within the epoch). */
  onBatchEnd(step: number, logs: Logs | null, stepsSeen: number): void {
    if (this.mode === "silent" || this.mode === "lines") return;
    if (logs && this.chart) this.chart.onBatchEnd(step, logs);
    const now = performance.now();
    if (now - this.lastDraw < (this.mode === "bar" ? 100 : this.renderInterval)) return;
    this.lastDraw = now;
    const elapsed = (now - this.epochStart) / 1000;
    const done = stepsSeen;
    const total = this.steps;
    const logText = logs ? ` - ${formatLogs(logs)}` : "";
    if (this.mode === "bar") {
      const width = 30;
      let bar: string;
      if (total) {
        const filled = Math.min(width, Math.floor((width * done) / total));
        bar = `${String(done).padStart(String(total).length)}/${total} [${"=".repeat(Math.max(0, filled - 1))}${filled < width ? ">" : "="}${".".repeat(width - filled)}]`;
        const eta = (elapsed / Math.max(1, done)) * (total - done);
        bar += ` - ETA: ${formatTime(eta)}`;
      } else bar = `${done}/Unknown - ${formatTime(elapsed)}`;
      this.write(`\r${bar}${logText}\u001b[K`);
    } else {
      this.line = `Epoch ${this.epoch + 1}/${this.epochs} - ${done}/${total ?? "?"}${total ? ` - ETA: ${formatTime((elapsed / Math.max(1, done)) * (total - done))}` : ""}${logText}`;
      this.requestRender();
    }
  }

  onEpochEnd(epoch: number, logs: Logs, stepsSeen: number): void {
    if (this.steps === undefined) this.steps = stepsSeen;
    const seconds = (performance.now() - this.epochStart) / 1000;
    const timing = `${formatTime(seconds)} ${perStep(seconds, stepsSeen)}`;
    if (this.mode === "bar") {
      const total = stepsSeen;
      this.write(`\r${total}/${total} [${"=".repeat(30)}] - ${timing} - ${formatLogs(logs)}\u001b[K\n`);
    } else if (this.mode === "lines") {
      this.write(`Epoch ${epoch + 1}/${this.epochs} - ${timing} - ${formatLogs(logs)}\n`);
    } else if (this.mode === "notebook") {
      if (this.chart) this.chart.onEpochEnd(epoch, logs);
      this.line = `Epoch ${epoch + 1}/${this.epochs} - ${stepsSeen}/${stepsSeen} - ${timing} - ${formatLogs(logs)}`;
      this.requestRender(true);
    }
  }

  /** A closing note (interrupts, early stopping). */
  note(text: string): void {
    if (this.mode === "silent") return;
    if (this.mode === "notebook") {
      this.line += `\n${text}`;
      this.requestRender(true);
    } else this.write(`${this.mode === "bar" ? "\n" : ""}${text}\n`);
  }

  async finish(): Promise<void> {
    if (this.mode !== "notebook") return;
    while (this.rendering) await this.rendering;
    this.finishing = true; // the final picture shows every epoch
    await this.render();
  }

  private requestRender(force = false): void {
    this.pending = true;
    if (this.rendering) return;
    if (!force && performance.now() - this.lastDraw < this.renderInterval && this.handle) return;
    this.rendering = this.render().finally(() => {
      this.rendering = null;
    });
  }

  private async render(): Promise<void> {
    if (!this.bridge) return;
    this.pending = false;
    const t0 = performance.now();
    // The chart is redrawn rarely, through the live chart's cached vega view: at most ~3% of the time
    // (and at most once a second), so it does not slow training measurably; the line every update.
    // The first update shows the line at once; the chart follows from the next one.
    if (this.chart && (this.handle || this.finishing) && (this.svg === "" || t0 - this.lastChart >= this.chartInterval || this.finishing)) {
      try {
        this.svg = await this.chart.renderSVG();
      } catch {
        /* keep the last picture */
      }
      const took = performance.now() - t0;
      this.chartInterval = Math.max(1000, 30 * took);
      this.lastChart = performance.now();
    }
    const text = this.line;
    const bundle = {
      "text/plain": text,
      "text/html": `<pre style="margin:0">${escapeHtml(text)}</pre>${this.svg ? `<div>${this.svg}</div>` : ""}`,
    };
    const obj = { [Symbol.for("jupyter.mimebundle")]: () => bundle };
    try {
      if (!this.handle) this.handle = this.bridge.display(obj);
      else await this.handle.update(obj);
    } catch {
      /* drawing never stops training */
    }
    this.lastDraw = performance.now();
  }
}
