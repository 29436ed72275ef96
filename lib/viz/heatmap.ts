// Matrices as colors: heatmap (diverging scale centred on 0, colorbar) and confusionMatrix (counts).
import { VegaLiteChart, chartPromise, type ChartPromise } from "./chart.js";
import { asMatrix, fmt, minMax, toClassIndices, toDense, type ArrayInput } from "./data.js";
import { colorLut, matrixToRgba, rgbaDataUrl } from "./raster.js";
import type { VegaLiteSpec } from "./render.js";

export interface HeatmapOptions {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  /** Column / row names (default indices). */
  xLabels?: string[];
  yLabels?: string[];
  /** "diverging" (default: blue < center < red, symmetric around `center`), "sequential" (viridis), or a scheme name. */
  colorScale?: "diverging" | "sequential" | "blues" | "viridis" | "inferno" | "greys";
  /** Value at the middle of a diverging scale (default 0). */
  center?: number;
  /** Fixed color domain [lo, hi] (default: data range, symmetric for diverging). */
  domain?: [number, number];
  /** Title of the colorbar. */
  colorTitle?: string;
  /** Write each cell's value in it (default: when there are at most 150 cells). */
  annotate?: boolean;
  /** Cells past which the matrix is drawn as one PNG image instead of vector rects (default 2500). */
  rasterThreshold?: number;
  /** Size of the plot area in pixels (default: about 400 on the longer side). */
  width?: number;
  height?: number;
}

interface ColorSetup {
  scheme: string;
  reverse: boolean;
  domain: [number, number];
}

function colorSetup(values: ArrayLike<number>, options: HeatmapOptions): ColorSetup {
  const kind = options.colorScale ?? "diverging";
  const [lo, hi] = minMax(values);
  if (kind === "diverging") {
    const center = options.center ?? 0;
    const half = Math.max(Math.abs(lo - center), Math.abs(hi - center)) || 1;
    return { scheme: "redblue", reverse: true, domain: options.domain ?? [center - half, center + half] };
  }
  const scheme = kind === "sequential" ? "viridis" : kind;
  const domain: [number, number] = options.domain ?? (lo < hi ? [lo, hi] : [lo - 1, lo + 1]);
  return { scheme, reverse: false, domain };
}

function vegaScale(c: ColorSetup): Record<string, unknown> {
  return { domain: c.domain, scheme: c.scheme, reverse: c.reverse };
}

/** Cell annotation: two significant digits keep the text inside small cells. */
function compact(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 100 ? String(Math.round(v)) : String(Number(v.toPrecision(2)));
}

/** Shared by heatmap and confusionMatrix: the spec for an [rows, cols] matrix. */
export function matrixSpec(
  values: ArrayLike<number>,
  rows: number,
  cols: number,
  options: HeatmapOptions,
  color: ColorSetup,
  annotationText?: (r: number, c: number) => string,
): { spec: VegaLiteSpec; raster: boolean } {
  const cells = rows * cols;
  const longest = Math.max(rows, cols);
  const cell = Math.max(1, Math.min(64, 400 / longest, Math.max(240 / longest, 40)));
  const width = options.width ?? Math.max(60, Math.round(cols * cell));
  const height = options.height ?? Math.max(60, Math.round(rows * cell));
  const colorTitle = options.colorTitle ?? "value";
  if (cells > (options.rasterThreshold ?? 2500)) {
    const lut = colorLut(color.scheme, color.reverse);
    const rgba = matrixToRgba(values, rows, cols, color.domain[0], color.domain[1], lut);
    const url = rgbaDataUrl(rgba, cols, rows, Math.max(width, height));
    const spec: VegaLiteSpec = {
      title: options.title,
      width,
      height,
      layer: [
        {
          data: { values: [{ x: 0, x2: cols, y: 0, y2: rows, url }] },
          mark: { type: "image", aspect: false, smooth: false, aria: false },
          encoding: {
            x: { field: "x", type: "quantitative", title: options.xTitle ?? "column", scale: { domain: [0, cols], nice: false, zero: false } },
            x2: { field: "x2" },
            y: { field: "y", type: "quantitative", title: options.yTitle ?? "row", scale: { domain: [0, rows], nice: false, zero: false, reverse: true } },
            y2: { field: "y2" },
            url: { field: "url", type: "nominal" },
          },
        },
        {
          // Invisible points that carry the color scale, so the colorbar matches the PNG.
          data: { values: [{ v: color.domain[0] }, { v: color.domain[1] }] },
          mark: { type: "point", opacity: 0 },
          encoding: { color: { field: "v", type: "quantitative", scale: vegaScale(color), title: colorTitle } },
        },
      ],
    };
    return { spec, raster: true };
  }
  const xLabels = options.xLabels ?? Array.from({ length: cols }, (_, i) => String(i));
  const yLabels = options.yLabels ?? Array.from({ length: rows }, (_, i) => String(i));
  if (xLabels.length !== cols || yLabels.length !== rows) {
    throw new RangeError(`heatmap: ${xLabels.length} xLabels and ${yLabels.length} yLabels for a [${rows}, ${cols}] matrix; give one label per column / row`);
  }
  const data: Record<string, unknown>[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = values[r * cols + c];
      data.push({ row: yLabels[r], col: xLabels[c], value: Number.isFinite(v) ? v : null, text: annotationText ? annotationText(r, c) : compact(v) });
    }
  }
  const x = { field: "col", type: "ordinal", sort: xLabels, title: options.xTitle ?? "column", axis: { labelAngle: 0, labelOverlap: true } };
  const y = { field: "row", type: "ordinal", sort: yLabels, title: options.yTitle ?? "row", axis: { labelOverlap: true, labelLimit: 320 } }; // vega's canvas-less width estimate would cut names past ~180 px
  const annotate = options.annotate ?? cells <= 150;
  const [lo, hi] = color.domain;
  // Text on the darkest quarter of the scale (both ends when diverging) is white.
  const darkTest =
    color.scheme === "redblue"
      ? `abs(datum.value - ${(lo + hi) / 2}) > ${0.3 * (hi - lo)}`
      : `datum.value > ${lo + 0.6 * (hi - lo)}`;
  const layer: Record<string, unknown>[] = [
    {
      mark: { type: "rect", tooltip: true },
      encoding: { x, y, color: { field: "value", type: "quantitative", scale: vegaScale(color), title: colorTitle } },
    },
  ];
  if (annotate) {
    layer.push({
      mark: { type: "text", fontSize: Math.max(7, Math.min(13, cell / 4)), lineBreak: "\n" },
      encoding: {
        x,
        y,
        text: { field: "text" },
        color: { condition: { test: color.scheme === "viridis" || color.scheme === "inferno" ? `datum.value < ${lo + 0.5 * (hi - lo)}` : darkTest, value: "white" }, value: "black" },
      },
    });
  }
  return { spec: { title: options.title, width, height, data: { values: data }, layer }, raster: false };
}

/** A heatmap of a matrix (Tensor [rows, cols] or number[][]), colorbar included. */
export function heatmap(matrix: ArrayInput, options: HeatmapOptions = {}): ChartPromise<VegaLiteChart> {
  return chartPromise(async () => {
    const m = asMatrix(await toDense(matrix, "heatmap"), "heatmap");
    const color = colorSetup(m.values, options);
    const { spec, raster } = matrixSpec(m.values, m.rows, m.cols, options, color);
    const [lo, hi] = minMax(m.values);
    return new VegaLiteChart(spec, `heatmap [${m.rows}, ${m.cols}] (min ${fmt(lo)}, max ${fmt(hi)})`, { raster });
  });
}

export interface ConfusionMatrixOptions {
  /** Class names, one per class (default 0..K-1). */
  labels?: string[];
  /** Number of classes (default: from labels, or the largest index + 1). */
  numClasses?: number;
  /** Color by the fraction of each true class (row) instead of raw counts; cells show both. */
  normalize?: boolean;
  title?: string;
}

/** A confusion-matrix chart that also carries the counts: counts[trueClass][predictedClass]. */
export class ConfusionMatrixChart extends VegaLiteChart {
  readonly counts: number[][];
  readonly labels: string[];
  constructor(spec: VegaLiteSpec, description: string, counts: number[][], labels: string[]) {
    super(spec, description);
    this.counts = counts;
    this.labels = labels;
  }
  /** Fraction of samples on the diagonal. */
  get accuracy(): number {
    let hit = 0;
    let all = 0;
    this.counts.forEach((row, i) => row.forEach((n, j) => ((all += n), i === j && (hit += n))));
    return all ? hit / all : NaN;
  }
}

/** Counts[true][pred] of class indices (labels as integers, one-hot, or per-class scores → argmax). */
export function confusionCounts(yTrue: Int32Array, yPred: Int32Array, numClasses: number): number[][] {
  if (yTrue.length !== yPred.length) {
    throw new RangeError(`confusionMatrix: yTrue has ${yTrue.length} samples but yPred has ${yPred.length}`);
  }
  const counts = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    if (yTrue[i] >= numClasses || yPred[i] >= numClasses) {
      throw new RangeError(`confusionMatrix: class ${Math.max(yTrue[i], yPred[i])} at sample ${i} but numClasses is ${numClasses}`);
    }
    counts[yTrue[i]][yPred[i]]++;
  }
  return counts;
}

/** Confusion matrix of true vs predicted classes, counts written in the cells. */
export function confusionMatrix(yTrue: ArrayInput, yPred: ArrayInput, options: ConfusionMatrixOptions = {}): ChartPromise<ConfusionMatrixChart> {
  return chartPromise(async () => {
    const t = toClassIndices(await toDense(yTrue, "confusionMatrix(yTrue)"), "confusionMatrix(yTrue)");
    const p = toClassIndices(await toDense(yPred, "confusionMatrix(yPred)"), "confusionMatrix(yPred)");
    let maxIndex = -1;
    for (const v of t) maxIndex = Math.max(maxIndex, v);
    for (const v of p) maxIndex = Math.max(maxIndex, v);
    const k = options.numClasses ?? options.labels?.length ?? maxIndex + 1;
    const labels = options.labels ?? Array.from({ length: k }, (_, i) => String(i));
    if (labels.length !== k) throw new RangeError(`confusionMatrix: ${labels.length} labels for ${k} classes`);
    const counts = confusionCounts(t, p, k);
    const shown = new Float64Array(k * k);
    const rowTotals = counts.map((row) => row.reduce((a, b) => a + b, 0));
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) shown[i * k + j] = options.normalize ? (rowTotals[i] ? counts[i][j] / rowTotals[i] : 0) : counts[i][j];
    const [, hi] = minMax(shown);
    const { spec } = matrixSpec(
      shown,
      k,
      k,
      {
        title: options.title ?? "confusion matrix",
        xTitle: "predicted",
        yTitle: "true",
        xLabels: labels,
        yLabels: labels,
        colorScale: "blues",
        domain: [0, options.normalize ? 1 : hi || 1],
        colorTitle: options.normalize ? "row fraction" : "count",
        annotate: k <= 20,
        rasterThreshold: Infinity,
      },
      { scheme: "blues", reverse: false, domain: [0, options.normalize ? 1 : hi || 1] },
      (r, c) => (options.normalize ? `${counts[r][c]}\n${Math.round(shown[r * k + c] * 100)}%` : String(counts[r][c])),
    );
    const correct = counts.reduce((sum, row, i) => sum + row[i], 0);
    const description = `confusionMatrix ${k}×${k} over ${t.length} samples (accuracy ${fmt(t.length ? correct / t.length : NaN)})`;
    return new ConfusionMatrixChart(spec, description, counts, labels);
  });
}
