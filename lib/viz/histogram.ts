// Value distributions per layer (weights, activations, gradients): vanishing/exploding gradients at a glance.
import { VegaLiteChart, chartPromise, type ChartPromise } from "./chart.js";
import { fmt, isReadableTensor, toDense, type ArrayInput } from "./data.js";

export interface HistogramOptions {
  /** Bins per panel (default 40). */
  bins?: number;
  /** Logarithmic count axis (tails become visible). */
  logCount?: boolean;
  /** Panels per row (default 3). */
  cols?: number;
  title?: string;
  width?: number;
  height?: number;
}

/** Summary of one tensor's values. */
export interface ValueStats {
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  meanAbs: number;
  /** Fraction of exact zeros (dead ReLUs, pruned weights). */
  zeros: number;
  /** NaN and ±Infinity values (excluded from the other numbers). */
  nonFinite: number;
}

export function valueStats(values: ArrayLike<number>): ValueStats {
  let n = 0, sum = 0, sumSq = 0, abs = 0, zeros = 0, nonFinite = 0;
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      nonFinite++;
      continue;
    }
    n++;
    sum += v;
    sumSq += v * v;
    abs += Math.abs(v);
    if (v === 0) zeros++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = n ? sum / n : NaN;
  return { count: n, mean, std: n ? Math.sqrt(Math.max(0, sumSq / n - mean * mean)) : NaN, min, max, meanAbs: n ? abs / n : NaN, zeros: n ? zeros / n : NaN, nonFinite };
}

/** Counts in `bins` equal-width bins over [min, max] (non-finite values skipped). */
export function binCounts(values: ArrayLike<number>, bins: number, min: number, max: number): { edges: number[]; counts: number[] } {
  if (!(max > min)) {
    min -= 0.5;
    max += 0.5;
  }
  const counts = new Array<number>(bins).fill(0);
  const width = (max - min) / bins;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    counts[Math.min(bins - 1, Math.max(0, Math.floor((v - min) / width)))]++;
  }
  return { edges: Array.from({ length: bins + 1 }, (_, i) => min + i * width), counts };
}

export type HistogramInput = ArrayInput | { [name: string]: ArrayInput };

/** Histograms, one panel per named tensor (`histogram({dense1: w1.grad, dense2: w2.grad})`), plus mean |value| per name. */
export function histogram(input: HistogramInput, options: HistogramOptions = {}): ChartPromise<VegaLiteChart> {
  return chartPromise(async () => {
    const named =
      typeof input === "object" && input !== null && !Array.isArray(input) && !ArrayBuffer.isView(input) && !isReadableTensor(input)
        ? Object.entries(input as { [name: string]: ArrayInput })
        : [["values", input as ArrayInput] as const];
    if (named.length === 0) throw new RangeError("histogram: no tensors given");
    const bins = options.bins ?? 40;
    const panels: Record<string, unknown>[] = [];
    const summaries: { name: string; meanAbs: number; std: number }[] = [];
    for (const [name, x] of named) {
      const d = await toDense(x, `histogram(${name})`);
      const s = valueStats(d.values);
      const { edges, counts } = binCounts(d.values, bins, s.min, s.max);
      const rows = counts.map((count, i) => ({ x0: edges[i], x1: edges[i + 1], count }));
      summaries.push({ name, meanAbs: s.meanAbs, std: s.std });
      const subtitle = `mean ${fmt(s.mean)}  std ${fmt(s.std)}  |x| ${fmt(s.meanAbs)}` + (s.zeros > 0.01 ? `  zeros ${(s.zeros * 100).toFixed(0)}%` : "") + (s.nonFinite ? `  NaN/Inf ${s.nonFinite}` : "");
      panels.push({
        title: { text: `${name} [${d.shape.join(",")}]`, subtitle, fontSize: 12, subtitleFontSize: 10 },
        width: options.width ?? 220,
        height: options.height ?? 110,
        data: { values: options.logCount ? rows.filter((r) => r.count > 0) : rows },
        mark: { type: "rect", color: "#4c78a8", tooltip: true },
        encoding: {
          x: { field: "x0", type: "quantitative", title: null, scale: { zero: false, nice: false } },
          x2: { field: "x1" },
          y: { field: "count", type: "quantitative", title: "count", scale: options.logCount ? { type: "symlog" } : {} },
          y2: { datum: 0 },
        },
      });
    }
    if (named.length > 1) {
      const finite = summaries.filter((s) => s.meanAbs > 0 && Number.isFinite(s.meanAbs));
      // Log-scale bars need a positive baseline: start them a factor 3 below the smallest value.
      const [lo, hi] = finite.length ? [Math.min(...finite.map((s) => s.meanAbs)), Math.max(...finite.map((s) => s.meanAbs))] : [0.1, 1];
      panels.unshift({
        title: { text: "mean |value| per tensor", subtitle: "log scale; decades apart = vanishing", fontSize: 12, subtitleFontSize: 10 },
        width: options.width ?? 220,
        height: Math.max(options.height ?? 110, 16 * summaries.length),
        data: { values: finite },
        mark: { type: "bar", color: "#f58518", tooltip: true },
        encoding: {
          y: { field: "name", type: "nominal", sort: summaries.map((s) => s.name), title: null },
          x: { field: "meanAbs", type: "quantitative", scale: { type: "log", domain: [lo / 3, hi * 3] }, title: "mean |value|" },
          x2: { datum: lo / 3 },
        },
      });
    }
    const spec = { title: options.title, concat: panels, columns: options.cols ?? 3, spacing: 24 };
    const text = summaries.map((s) => `${s.name}: |x| ${fmt(s.meanAbs)}, std ${fmt(s.std)}`).join("; ");
    return new VegaLiteChart(spec, `histogram(${text})`);
  });
}
