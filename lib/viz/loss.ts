// Training curves: lineChart for any named series, lossCurve for a Keras-style History,
// and LiveChart, fed by training callbacks, that redraws one notebook output in place.
import { Chart, VegaLiteChart, getStaticFormat, mimebundleSymbol, staticImage, type DisplayBundle } from "./chart.js";
import { fmt } from "./data.js";
import { DatasetViewRenderer, preloadVega, type VegaLiteSpec } from "./render.js";

export { preloadVega } from "./render.js";

/** `model.fit`'s History: per-epoch logs plus the epoch indices (0-based, like Keras). */
export interface HistoryLike {
  history: { [metric: string]: number[] };
  epoch?: number[];
}

export type HistoryInput = HistoryLike | { [metric: string]: number[] } | LiveChart;

const SERIES_COLORS: Record<string, string> = {
  train: "#4c78a8",
  validation: "#f58518",
  "train (batch)": "#9ecae9",
  "train (batch, smoothed)": "#1f4e79",
};
const SERIES_ORDER = ["train", "validation", "train (batch)", "train (batch, smoothed)"];

interface CurveRow {
  x: number;
  value: number;
  metric: string;
  series: string;
}

export interface LineChartOptions {
  /** x values shared by every series (default 1, 2, 3, ...). */
  x?: number[];
  xTitle?: string;
  yTitle?: string;
  title?: string;
  /** Logarithmic y axis (non-positive values are dropped). */
  logScale?: boolean;
  width?: number;
  height?: number;
}

/** One panel with a colored line per named series: `lineChart({loss: [...], val_loss: [...]})`. */
export function lineChart(series: { [name: string]: ArrayLike<number> }, options: LineChartOptions = {}): VegaLiteChart {
  const names = Object.keys(series);
  if (names.length === 0) throw new RangeError("lineChart: no series given; pass e.g. {loss: [0.9, 0.5, 0.3]}");
  const rows: { x: number; value: number; series: string }[] = [];
  for (const name of names) {
    const ys = series[name];
    for (let i = 0; i < ys.length; i++) {
      const x = options.x ? options.x[i] : i + 1;
      const value = ys[i];
      if (!Number.isFinite(value) || (options.logScale && value <= 0)) continue;
      rows.push({ x, value, series: name });
    }
  }
  const spec: VegaLiteSpec = {
    title: options.title,
    width: options.width ?? 360,
    height: options.height ?? 220,
    data: { values: rows },
    mark: { type: "line", point: rows.length <= 200 ? { size: 20 } : false, tooltip: true },
    encoding: {
      x: { field: "x", type: "quantitative", title: options.xTitle ?? "step", scale: { zero: false } },
      y: { field: "value", type: "quantitative", title: options.yTitle ?? "value", scale: options.logScale ? { type: "log" } : { zero: false } },
      color: { field: "series", type: "nominal", sort: names, title: null },
    },
  };
  const last = names.map((n) => `${n}=${fmt(series[n][series[n].length - 1])}`).join(", ");
  return new VegaLiteChart(spec, `lineChart(${names.join(", ")}; ${rows.length} points; last ${last})`);
}

export interface LossCurveOptions {
  /** Log y axis for panels whose metric name contains "loss" (accuracy-like panels stay linear). */
  logScale?: boolean;
  title?: string;
  /** Metrics to draw (base names without "val_"); default all. */
  metrics?: string[];
  width?: number;
  height?: number;
  /**
   * Series in the legend even before they have data ("train", "validation", "train (batch)",
   * "train (batch, smoothed)"): a live chart that knows them from the start keeps one legend and
   * never recompiles its view when the first epoch ends.
   */
  series?: string[];
}

function isHistoryLike(x: unknown): x is HistoryLike {
  return typeof x === "object" && x !== null && typeof (x as HistoryLike).history === "object" && !Array.isArray((x as HistoryLike).history);
}

function baseMetric(key: string): { metric: string; series: "train" | "validation" } {
  return key.startsWith("val_") ? { metric: key.slice(4), series: "validation" } : { metric: key, series: "train" };
}

/** Panel order: loss first, then the rest as they first appear. */
function metricOrder(keys: Iterable<string>): string[] {
  const seen: string[] = [];
  for (const k of keys) if (!seen.includes(k)) seen.push(k);
  return seen.sort((a, b) => (a === "loss" ? -1 : b === "loss" ? 1 : 0));
}

/** The spec shared by lossCurve and LiveChart: one panel per metric, train vs validation (and batches). */
function curvesSpec(rows: CurveRow[], xTitle: string, options: LossCurveOptions, keepEmptyLayers = true): VegaLiteSpec {
  const metrics = options.metrics ?? metricOrder(rows.map((r) => r.metric));
  const present = SERIES_ORDER.filter((s) => rows.some((r) => r.series === s) || options.series?.includes(s));
  const color = {
    field: "series",
    type: "nominal",
    title: null,
    scale: { domain: present, range: present.map((s) => SERIES_COLORS[s]) },
    legend: { labelLimit: 240 },
  };
  const datasets: Record<string, CurveRow[]> = {};
  const panels = metrics.map((metric, index) => {
    const log = options.logScale === true && metric.toLowerCase().includes("loss");
    const values = rows.filter((r) => r.metric === metric && Number.isFinite(r.value) && (!log || r.value > 0));
    const epochLevel = values.filter((r) => r.series === "train" || r.series === "validation");
    // Named datasets: a live chart swaps their values into a cached vega view instead of recompiling.
    datasets[`batch_${index}`] = values.filter((r) => r.series.startsWith("train (batch"));
    datasets[`epoch_${index}`] = epochLevel;
    const x = { field: "x", type: "quantitative", title: xTitle, scale: { zero: false }, axis: { tickMinStep: 1 } };
    const y = { field: "value", type: "quantitative", title: metric, scale: log ? { type: "log", nice: false } : { zero: false } };
    return {
      width: options.width ?? 320,
      height: options.height ?? 200,
      // A live chart keeps both layers (its cached view swaps their data in later); a finished chart drops an empty
      // one, which vega would report as an infinite extent in JupyterLab's console.
      layer: [
        {
          data: { name: `batch_${index}` },
          mark: { type: "line", strokeWidth: 1.2, clip: true },
          encoding: { x, y, color },
        },
        {
          data: { name: `epoch_${index}` },
          mark: { type: "line", point: epochLevel.length <= 400 ? { size: 30 } : false, strokeWidth: 2, tooltip: true },
          encoding: { x, y, color },
        },
      ].filter((l) => keepEmptyLayers || datasets[l.data.name].length > 0),
    };
  });
  return {
    title: options.title,
    datasets,
    hconcat: panels,
    resolve: { scale: { color: "shared" } },
  };
}

function historyRows(input: HistoryLike | { [metric: string]: number[] }): { rows: CurveRow[]; epochs: number } {
  const logs = isHistoryLike(input) ? input.history : input;
  const epochIndex = isHistoryLike(input) ? input.epoch : undefined;
  const rows: CurveRow[] = [];
  let epochs = 0;
  for (const [key, values] of Object.entries(logs)) {
    if (!Array.isArray(values) && !ArrayBuffer.isView(values)) {
      throw new TypeError(`lossCurve: history["${key}"] should be an array of numbers per epoch, got ${typeof values}`);
    }
    const { metric, series } = baseMetric(key);
    epochs = Math.max(epochs, values.length);
    for (let i = 0; i < values.length; i++) {
      // Keras' epoch list is 0-based; a curve point sits at the end of its epoch.
      rows.push({ x: (epochIndex?.[i] ?? i) + 1, value: Number(values[i]), metric, series });
    }
  }
  return { rows, epochs };
}

/** Train/validation curves per metric from `fit`'s History (or `{loss: [...], val_loss: [...]}`, or a LiveChart). */
export function lossCurve(history: HistoryInput, options: LossCurveOptions = {}): VegaLiteChart {
  if (history instanceof LiveChart) return history.chart(options);
  const { rows, epochs } = historyRows(history);
  if (rows.length === 0) throw new RangeError("lossCurve: the history has no values; train for at least one epoch first");
  return new VegaLiteChart(curvesSpec(rows, "epoch", options, false), summary("lossCurve", rows, `${epochs} epochs`));
}

function summary(name: string, rows: CurveRow[], extent: string): string {
  const last = new Map<string, number>();
  for (const r of rows) if (r.series === "train" || r.series === "validation") last.set(r.series === "validation" ? `val_${r.metric}` : r.metric, r.value);
  const parts = [...last].map(([k, v]) => `${k}=${fmt(v)}`);
  return `${name}(${extent}${parts.length ? "; last " + parts.join(", ") : ""})`;
}

/** What the dawnet kernel puts at globalThis[Symbol.for("dawnet.display")] (see kernel/README.md). */
interface DisplayBridge {
  display(obj: unknown, options?: { displayId?: string }): { update(obj: unknown): Promise<void> | void };
}

function findDisplayBridge(): DisplayBridge | null {
  const bridge = (globalThis as Record<symbol, unknown>)[Symbol.for("dawnet.display")];
  return bridge && typeof (bridge as DisplayBridge).display === "function" ? (bridge as DisplayBridge) : null;
}

export interface LiveChartOptions extends LossCurveOptions {
  /** Minimum time between redraws (default 500 ms). */
  minIntervalMs?: number;
  /** Largest fraction of wall time spent redrawing (default 0.02): the interval grows to lastRenderMs / renderBudget. */
  renderBudget?: number;
  /** Batches per epoch, so batch points sit at fractional epochs; learned after the first epoch if omitted. */
  stepsPerEpoch?: number;
  /** EMA factor for the smoothed batch curve (0 = none, default 0.9), debiased like TensorBoard's. */
  smoothing?: number;
  /** Most batch points drawn per metric; longer runs are averaged into this many buckets (default 300). */
  maxBatchPoints?: number;
  /** Where to draw; default the kernel's display bridge when running in a dawnet notebook, else nowhere. */
  display?: DisplayBridge | null;
}

interface BatchPoint {
  step: number; // global batch count, 1-based
  logs: Record<string, number>;
}

/**
 * A loss/metric chart fed during training (`onBatchEnd`, `onEpochEnd`, `finish`). In a notebook it shows
 * one output and redraws it in place a few times a second at most; elsewhere it only records numbers
 * (cheap), and can be shown, saved or turned into a lossCurve afterwards.
 */
export class LiveChart extends Chart {
  /** Redraws sent to the display so far. */
  renderCount = 0;
  /** Milliseconds the last redraw took (spec + SVG + send), and all redraws together. */
  lastRenderMs = 0;
  totalRenderMs = 0;
  /** The last redraw error (drawing never throws into the training loop). */
  lastError: unknown = null;
  private readonly options: LiveChartOptions;
  private readonly bridge: DisplayBridge | null;
  private handle: { update(obj: unknown): Promise<void> | void } | null = null;
  private readonly batches: BatchPoint[] = [];
  private readonly epochs: { epoch: number; step: number; logs: Record<string, number> }[] = [];
  private stepsPerEpoch: number | undefined;
  private globalStep = 0;
  /** Global step count at the last epoch's end. */
  private epochBase = 0;
  private intervalMs: number;
  private lastRenderEnd = -Infinity;
  private rendering: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private dirty = false;
  private finished = false;
  /** The static format of the last picture sent (redraws during training are SVG). */
  private sentFormat: string | null = null;
  private readonly renderer = new DatasetViewRenderer();

  constructor(options: LiveChartOptions = {}) {
    super();
    this.options = options;
    this.bridge = options.display === undefined ? findDisplayBridge() : options.display;
    this.stepsPerEpoch = options.stepsPerEpoch;
    this.intervalMs = options.minIntervalMs ?? 500;
  }

  /** Records one batch's logs (`step` is the batch index within the epoch, as in Keras). */
  onBatchEnd(step: number, logs: Record<string, number> = {}): void {
    // Batches may be reported sparsely (fit reads logs only when its display redraws): place each at
    // its own step within the epoch; a step that does not advance (a caller's own counting) counts as one more.
    const global = this.epochBase + step + 1;
    this.globalStep = Number.isFinite(global) && global > this.globalStep ? global : this.globalStep + 1;
    this.batches.push({ step: this.globalStep, logs: numericLogs(logs) });
    this.requestRender();
  }

  /** Records one epoch's logs (`epoch` 0-based; `val_*` keys become the validation curve). */
  onEpochEnd(epoch: number, logs: Record<string, number> = {}): void {
    if (this.stepsPerEpoch === undefined && this.globalStep > 0) this.stepsPerEpoch = this.globalStep / (epoch + 1);
    this.epochBase = this.globalStep;
    this.epochs.push({ epoch, step: this.globalStep, logs: numericLogs(logs) });
    this.requestRender();
  }

  /** Keras-style alias of finish(). */
  onTrainEnd(): Promise<void> {
    return this.finish();
  }

  /** Draws the final state (waits for any redraw in flight). */
  async finish(): Promise<void> {
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.rendering) await this.rendering;
    // Redraws during training were SVG; the final picture is drawn again in the static format.
    const finalDrawn = this.sentFormat === getStaticFormat();
    if (this.bridge && (this.dirty || this.renderCount === 0 || !finalDrawn) && (this.batches.length || this.epochs.length)) {
      this.dirty = false;
      await this.render();
    }
  }

  /** The chart of everything recorded so far. */
  chart(options: LossCurveOptions = {}): VegaLiteChart {
    const { rows, xTitle } = this.rows();
    const merged = { ...this.options, ...options };
    const extent = this.epochs.length ? `${this.epochs.length} epochs, ${this.globalStep} batches` : `${this.globalStep} batches`;
    return new VegaLiteChart(curvesSpec(rows, xTitle, merged), summary("liveLossCurve", rows, extent));
  }

  /**
   * SVG of the current state through the live chart's cached vega view (only the data is swapped in;
   * several times faster than chart().toSVG(), which compiles from scratch). For hosts that draw the
   * chart inside their own output, e.g. fit()'s progress display.
   */
  renderSVG(): Promise<string> {
    return this.renderer.render(this.chart().spec);
  }

  // The LiveChart itself shows, saves and serializes as its current snapshot.
  get spec(): VegaLiteSpec {
    return this.chart().spec;
  }
  toJSON(): VegaLiteSpec {
    return this.spec;
  }
  toHTMLFragment(): Promise<string> {
    return this.chart().toHTMLFragment();
  }
  describe(): string {
    return this.chart().describe();
  }
  toSVG(): Promise<string> {
    return this.chart().toSVG();
  }
  displayBundle(): Promise<DisplayBundle> {
    return this.chart().displayBundle();
  }

  private rows(): { rows: CurveRow[]; xTitle: string } {
    const perEpoch = this.stepsPerEpoch;
    const byEpoch = perEpoch !== undefined || this.batches.length === 0;
    const xOfStep = (step: number) => (perEpoch !== undefined ? step / perEpoch : step);
    const rows: CurveRow[] = [];
    const beta = this.options.smoothing ?? 0.9;
    const maxPoints = this.options.maxBatchPoints ?? 300;
    const metrics = new Set<string>();
    for (const b of this.batches) for (const k of Object.keys(b.logs)) metrics.add(k);
    for (const metric of metrics) {
      const steps: number[] = [];
      const values: number[] = [];
      for (const b of this.batches) {
        const v = b.logs[metric];
        if (v !== undefined && Number.isFinite(v)) {
          steps.push(b.step);
          values.push(v);
        }
      }
      // On a log axis smooth the logs (a geometric mean): a linear average of a loss falling by decades
      // is dominated by its early values and lags far above the curve.
      const logSmooth = this.options.logScale === true && metric.toLowerCase().includes("loss") && values.every((v) => v > 0);
      const smoothed = logSmooth ? emaDebiased(values.map(Math.log), beta).map(Math.exp) : emaDebiased(values, beta);
      const bucket = Math.max(1, Math.ceil(values.length / maxPoints));
      for (let i = 0; i < values.length; i += bucket) {
        const end = Math.min(values.length, i + bucket);
        let raw = 0;
        for (let j = i; j < end; j++) raw += values[j];
        const x = xOfStep(steps[end - 1]);
        rows.push({ x, value: raw / (end - i), metric, series: "train (batch)" });
        if (beta > 0) rows.push({ x, value: smoothed[end - 1], metric, series: "train (batch, smoothed)" });
      }
    }
    for (const e of this.epochs) {
      for (const [key, value] of Object.entries(e.logs)) {
        const { metric, series } = baseMetric(key);
        rows.push({ x: byEpoch ? e.epoch + 1 : xOfStep(e.step), value, metric, series });
      }
    }
    return { rows, xTitle: byEpoch ? "epoch" : "batch" };
  }

  private requestRender(): void {
    if (!this.bridge || this.finished) return; // outside a notebook: record only
    this.dirty = true;
    if (this.rendering || this.timer) return;
    const wait = this.lastRenderEnd + this.intervalMs - performance.now();
    if (wait <= 0) {
      this.startRender();
    } else {
      this.timer = setTimeout(() => {
        this.timer = null;
        if (this.dirty && !this.rendering && !this.finished) this.startRender();
      }, wait);
      this.timer.unref?.(); // a pending redraw must not keep a script alive
    }
  }

  private startRender(): void {
    this.dirty = false;
    this.rendering = this.render().finally(() => {
      this.rendering = null;
      if (this.dirty && !this.finished) this.requestRender();
    });
  }

  private async render(): Promise<void> {
    // Module loading is a one-time cost; it must not stretch the redraw interval.
    await preloadVega().catch(() => undefined);
    const t0 = performance.now();
    try {
      const chart = this.chart();
      const svg = await this.renderer.render(chart.spec);
      const metadata: DisplayBundle["metadata"] = {};
      // Redraws during training send SVG (no rasterizing: cheap); the final picture, the one a saved
      // notebook keeps, uses the static format (PNG by default, see setStaticFormat).
      const format = this.finished ? getStaticFormat() : "svg";
      const image = await staticImage(svg, false, metadata, format);
      const bundle: DisplayBundle = {
        data: { "application/vnd.vegalite.v5+json": chart.spec, ...image, "text/plain": chart.describe() },
        metadata,
      };
      const snapshot = { [mimebundleSymbol]: () => bundle };
      if (!this.handle) this.handle = this.bridge!.display(snapshot);
      else await this.handle.update(snapshot);
      this.renderCount++;
      this.sentFormat = format;
    } catch (err) {
      this.lastError = err;
    }
    const ms = performance.now() - t0;
    this.lastRenderMs = ms;
    this.totalRenderMs += ms;
    // Never wait more than 5 s between redraws, even when one redraw was slow (a busy machine).
    this.intervalMs = Math.min(Math.max(5000, this.options.minIntervalMs ?? 500), Math.max(this.options.minIntervalMs ?? 500, ms / (this.options.renderBudget ?? 0.02)));
    this.lastRenderEnd = performance.now();
  }
}

// Keras-style logs may carry bookkeeping numbers next to the metrics.
const NOT_METRICS = new Set(["batch", "size", "epoch", "step", "lr", "learningRate"]);

function numericLogs(logs: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(logs)) if (typeof v === "number" && !NOT_METRICS.has(k)) out[k] = v;
  return out;
}

/** Exponential moving average with bias correction: s_t = β s_{t-1} + (1-β) v_t, divided by 1-β^t. */
export function emaDebiased(values: readonly number[], beta: number): number[] {
  const out: number[] = [];
  let s = 0;
  for (let t = 0; t < values.length; t++) {
    s = beta * s + (1 - beta) * values[t];
    out.push(beta > 0 ? s / (1 - Math.pow(beta, t + 1)) : values[t]);
  }
  return out;
}

/** A LiveChart for `fit(..., {callbacks: [liveLossCurve()]})`. */
export function liveLossCurve(options: LiveChartOptions = {}): LiveChart {
  return new LiveChart(options);
}
