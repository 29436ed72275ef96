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

/** Where one fit()'s progress display spent its time (bench/viz-live.ts and test/viz-live.test.ts read it). */
export interface ProgressStats {
  /** Outputs sent to the notebook (progress line, with the chart's last picture). */
  updates: number;
  /** Chart redraws, and the milliseconds they took (vega: swap the data into the cached view, layout, SVG). */
  chartRenders: number;
  chartMs: number;
  /** Milliseconds building bundles and handing them to the display bridge (which serializes and sends them). */
  sendMs: number;
  /** Milliseconds recording logs into the chart. */
  recordMs: number;
  /** Milliseconds loading vega the first time a process draws (once per process, not per fit). */
  loadMs: number;
  /** Batch-level log reads fit made (running loss and metrics read from the device). */
  batchReads: number;
  /** Milliseconds from the first epoch's start to the last picture sent. */
  wallMs: number;
}

let lastStats: ProgressStats | null = null;

/** Largest share of a fit's time spent redrawing its notebook chart (the final picture comes on top). */
const CHART_BUDGET = 0.02;

/** The last fit()'s progress timings (null before any fit ran). */
export function lastProgressStats(): ProgressStats | null {
  return lastStats;
}

/**
 * Reports one fit() run. Reads nothing from the device itself: fit asks `due()` before reading the
 * running logs, so a notebook or terminal display costs a read only when it redraws (a few times a
 * second), never one per batch. In a notebook, the redraws happen between batches (fit awaits them):
 * JavaScript has one thread, so drawing costs the same whenever it runs, and this way its time is
 * measured exactly and kept to a budget.
 */
export class ProgressReporter {
  readonly stats: ProgressStats = { updates: 0, chartRenders: 0, chartMs: 0, sendMs: 0, recordMs: 0, loadMs: 0, batchReads: 0, wallMs: 0 };
  private epochStart = 0;
  private fitStart = 0;
  private epoch = 0;
  private lastDraw = -Infinity;
  private line = "";
  private chart: LiveChart | null = null;
  private handle: DisplayHandle | null = null;
  /** Steps of the current epoch already given to the chart (the epoch's end adds the last one when missing). */
  private lastChartStep = -1;
  /** Whether batch-level points go into the chart (off once an epoch took under a second). */
  private batchPoints = true;
  private svg = "";
  private lastChart = -Infinity;
  /** Milliseconds the last chart redraw took (a guess before the first). */
  private chartTook = 20;
  private readonly bridge: DisplayBridge | null;

  constructor(readonly mode: ProgressMode, readonly epochs: number, private steps: number | undefined,
    private readonly write: (s: string) => void = (s) => process.stdout.write(s), private readonly options: { validation?: boolean } = {}) {
    this.bridge = mode === "notebook" ? displayBridge() : null;
    lastStats = this.stats;
  }

  /** The notebook chart (created lazily: lib/viz loads only in notebooks). */
  async start(): Promise<void> {
    this.fitStart = performance.now();
    if (this.mode !== "notebook") return;
    try {
      const viz = await import("../viz/loss.js");
      // Every series from the start: one legend, and the view compiles once (not again after epoch 1).
      const series = ["train", ...(this.options.validation ? ["validation"] : []), "train (batch)", "train (batch, smoothed)"];
      this.chart = viz.liveLossCurve({ display: null, stepsPerEpoch: this.steps, series });
      const t0 = performance.now();
      await viz.preloadVega();
      this.stats.loadMs = performance.now() - t0;
    } catch {
      this.chart = null; // the progress line still shows
    }
  }

  /** Milliseconds between notebook updates: 300, or 200 × the last send (≤ 0.5% of the time) on a slow machine. */
  private sendInterval = 300;

  /** Milliseconds between redraws of the bar (terminal) or the notebook output. */
  private get drawInterval(): number {
    return this.mode === "bar" ? 100 : this.sendInterval;
  }

  /** Whether the display redraws after this batch, so fit should read the running logs now. */
  due(): boolean {
    if (this.mode !== "bar" && this.mode !== "notebook") return false;
    return performance.now() - this.lastDraw >= this.drawInterval;
  }

  onEpochBegin(epoch: number): void {
    this.epoch = epoch;
    this.epochStart = performance.now();
    this.lastDraw = -Infinity;
    this.lastChartStep = -1;
    if (this.mode === "bar") this.write(`Epoch ${epoch + 1}/${this.epochs}\n`);
  }

  /**
   * After a batch (`step` 0-based within the epoch); `logs` when fit read them for this batch (see due()).
   * Returns a Promise when it redraws the notebook output (fit awaits it before the next batch).
   */
  onBatchEnd(step: number, logs: Logs | null, stepsSeen: number): Promise<void> | void {
    if (this.mode === "silent" || this.mode === "lines") return;
    if (logs) {
      this.stats.batchReads++;
      // Batch points are running means of the epoch so far: skip the first batches' (mostly noise), and all
      // of them once epochs prove shorter than a second (the epoch points are then as dense).
      if (this.chart && this.batchPoints && step >= 2) {
        const t0 = performance.now();
        this.chart.onBatchEnd(step, logs);
        this.lastChartStep = step;
        this.stats.recordMs += performance.now() - t0;
      }
    }
    if (!logs || !this.due()) return; // nothing new to show, or shown less than drawInterval ago
    const now = performance.now();
    this.lastDraw = now;
    const elapsed = (now - this.epochStart) / 1000;
    const done = stepsSeen;
    const total = this.steps;
    const logText = ` - ${formatLogs(logs)}`;
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
      return;
    }
    this.line = `Epoch ${this.epoch + 1}/${this.epochs} - ${done}/${total ?? "?"}${total ? ` - ETA: ${formatTime((elapsed / Math.max(1, done)) * (total - done))}` : ""}${logText}`;
    return this.render(false);
  }

  /** After an epoch, with its logs (the exact epoch means); returns a Promise in a notebook. */
  onEpochEnd(epoch: number, logs: Logs, stepsSeen: number): Promise<void> | void {
    if (this.steps === undefined) this.steps = stepsSeen;
    const seconds = (performance.now() - this.epochStart) / 1000;
    const timing = `${formatTime(seconds)} ${perStep(seconds, stepsSeen)}`;
    if (this.mode === "bar") {
      const total = stepsSeen;
      this.write(`\r${total}/${total} [${"=".repeat(30)}] - ${timing} - ${formatLogs(logs)}\u001b[K\n`);
    } else if (this.mode === "lines") {
      this.write(`Epoch ${epoch + 1}/${this.epochs} - ${timing} - ${formatLogs(logs)}\n`);
    } else if (this.mode === "notebook") {
      if (this.chart) {
        const t0 = performance.now();
        // The epoch's last batch point is the epoch's training mean (the running mean after its last batch),
        // so fit need not read the last batch separately.
        if (this.batchPoints && stepsSeen > 0 && this.lastChartStep < stepsSeen - 1) {
          const train = Object.fromEntries(Object.entries(logs).filter(([k]) => !k.startsWith("val_")));
          this.chart.onBatchEnd(stepsSeen - 1, train);
        }
        this.chart.onEpochEnd(epoch, logs);
        this.stats.recordMs += performance.now() - t0;
      }
      if (seconds < 1) this.batchPoints = false;
      this.line = `Epoch ${epoch + 1}/${this.epochs} - ${stepsSeen}/${stepsSeen} - ${timing} - ${formatLogs(logs)}`;
      return this.render(false);
    }
  }

  /** A closing note (interrupts, early stopping). */
  note(text: string): void {
    if (this.mode === "silent") return;
    if (this.mode === "notebook") this.line += `\n${text}`;
    else this.write(`${this.mode === "bar" ? "\n" : ""}${text}\n`);
  }

  /** The final picture: every epoch, and the last line (with any note). */
  async finish(): Promise<void> {
    if (this.mode === "notebook") await this.render(true);
    this.stats.wallMs = performance.now() - this.fitStart;
  }

  private async render(final: boolean): Promise<void> {
    if (!this.bridge) return;
    const t0 = performance.now();
    this.lastDraw = t0;
    // The chart is redrawn rarely, through the live chart's cached vega view: within 2% of the time
    // (and at most once a second), so it does not slow training measurably; the line every update.
    // The line shows at once; the chart from a second into the fit (a fit shorter than that draws it once, at the end).
    // A time budget: the next redraw only when all redraws so far plus it stay within 2% of the fit's time.
    const withinBudget = this.stats.chartMs + this.chartTook <= CHART_BUDGET * (t0 - this.fitStart);
    const chartDue = this.handle !== null && t0 - this.fitStart >= 1000 && t0 - this.lastChart >= 1000 && withinBudget;
    if (this.chart && (final || chartDue)) {
      try {
        this.svg = await this.chart.renderSVG();
      } catch {
        /* keep the last picture */
      }
      const took = performance.now() - t0;
      this.stats.chartRenders++;
      this.stats.chartMs += took;
      this.chartTook = took;
      this.lastChart = performance.now();
    }
    const t1 = performance.now();
    const text = this.line;
    const bundle = {
      "text/plain": text,
      "text/html": `<pre style="margin:0">${escapeHtml(text)}</pre>${this.svg ? `<div>${this.svg}</div>` : ""}`,
    };
    const obj = { [Symbol.for("jupyter.mimebundle")]: () => bundle };
    try {
      if (!this.handle) this.handle = this.bridge.display(obj);
      else await this.handle.update(obj);
      this.stats.updates++;
    } catch {
      /* drawing never stops training */
    }
    this.lastDraw = performance.now();
    this.stats.sendMs += this.lastDraw - t1;
    this.sendInterval = Math.max(300, 200 * (this.lastDraw - t1));
  }
}
