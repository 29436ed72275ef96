// 2-D classifiers: scatter plots of points by label, and decision boundaries (class regions as a raster).
import { VegaLiteChart, chartPromise, type ChartPromise } from "./chart.js";
import { fmt, isReadableTensor, minMax, toDense, type ArrayInput, type Dense, type ReadableTensor } from "./data.js";
import { CATEGORY_COLORS, hexToRgb, rgbaDataUrl } from "./raster.js";
import { contourPolylines } from "./contour-lines.js";
import { tensor } from "../ops/creation.js";
import type { Tensor } from "../tensor.js";
import type { VegaLiteSpec } from "./render.js";

export type PointsInput = ArrayInput | { x: ArrayInput; y: ArrayInput };

export interface ScatterOptions {
  /** Per-point color: integer class labels (categorical colors) or numbers (continuous scale). */
  color?: ArrayInput;
  /** Names for integer class labels in the legend. */
  classNames?: readonly string[];
  title?: string;
  xTitle?: string;
  yTitle?: string;
  /** Point area in px² (default: smaller for many points). */
  size?: number;
  width?: number;
  height?: number;
}

async function pointsXY(points: PointsInput, what: string): Promise<{ xs: Float64Array; ys: Float64Array }> {
  if (typeof points === "object" && points !== null && !Array.isArray(points) && !ArrayBuffer.isView(points) && !isReadableTensor(points)) {
    const p = points as { x: ArrayInput; y: ArrayInput };
    const xs = (await toDense(p.x, `${what}(x)`)).values;
    const ys = (await toDense(p.y, `${what}(y)`)).values;
    if (xs.length !== ys.length) throw new RangeError(`${what}: x has ${xs.length} values but y has ${ys.length}`);
    return { xs, ys };
  }
  const d = await toDense(points as ArrayInput, what);
  if (d.shape.length !== 2 || d.shape[1] < 2) {
    throw new RangeError(`${what}: expected points [N, 2] (or {x, y}), got shape [${d.shape.join(",")}]`);
  }
  const [n, k] = d.shape;
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xs[i] = d.values[i * k];
    ys[i] = d.values[i * k + 1];
  }
  return { xs, ys };
}

function isCategorical(values: Float64Array): boolean {
  const distinct = new Set<number>();
  for (const v of values) {
    if (!Number.isInteger(v) || v < 0) return false;
    distinct.add(v);
    if (distinct.size > 20) return false;
  }
  return true;
}

function classDomain(values: Float64Array, classNames?: readonly string[]): { names: string[]; name: (v: number) => string } {
  const [, hi] = minMax(values);
  const k = Math.max(hi + 1, classNames?.length ?? 0);
  const name = (v: number) => classNames?.[v] ?? String(v);
  return { names: Array.from({ length: k }, (_, i) => name(i)), name };
}

function pointsLayer(xs: Float64Array, ys: Float64Array, color: Float64Array | null, options: ScatterOptions, xDomain?: [number, number], yDomain?: [number, number]): Record<string, unknown> {
  const categorical = color ? isCategorical(color) : false;
  const classes = color && categorical ? classDomain(color, options.classNames) : null;
  const rows = Array.from(xs, (x, i) => ({ x, y: ys[i], c: color ? (classes ? classes.name(color[i]) : color[i]) : undefined }));
  const encoding: Record<string, unknown> = {
    x: { field: "x", type: "quantitative", title: options.xTitle ?? "x₁", scale: xDomain ? { domain: xDomain, nice: false, zero: false } : { zero: false } },
    y: { field: "y", type: "quantitative", title: options.yTitle ?? "x₂", scale: yDomain ? { domain: yDomain, nice: false, zero: false } : { zero: false } },
  };
  if (color) {
    encoding.color = classes
      ? { field: "c", type: "nominal", title: "class", scale: { domain: classes.names, range: classes.names.map((_, i) => CATEGORY_COLORS[i % CATEGORY_COLORS.length]) } }
      : { field: "c", type: "quantitative", title: "value", scale: { scheme: "viridis" } };
  }
  const size = options.size ?? (xs.length > 2000 ? 8 : xs.length > 300 ? 20 : 40);
  return {
    data: { values: rows },
    mark: { type: "circle", size, opacity: 0.85, stroke: "white", strokeWidth: xs.length > 2000 ? 0 : 0.5, clip: true },
    encoding,
  };
}

/** Points in the plane colored by label: `scatter(x2d, {color: labels})`. */
export function scatter(points: PointsInput, options: ScatterOptions = {}): ChartPromise<VegaLiteChart> {
  return chartPromise(async () => {
    const { xs, ys } = await pointsXY(points, "scatter");
    const color = options.color !== undefined ? (await toDense(options.color, "scatter(color)")).values : null;
    if (color && color.length !== xs.length) throw new RangeError(`scatter: ${xs.length} points but ${color.length} colors`);
    const spec: VegaLiteSpec = { title: options.title, width: options.width ?? 360, height: options.height ?? 300, ...pointsLayer(xs, ys, color, options) };
    return new VegaLiteChart(spec, `scatter(${xs.length} points${color ? (isCategorical(color) ? `, ${new Set(color).size} classes` : ", colored") : ""})`);
  });
}

/** A function from a [N, 2] tensor to probabilities ([N], [N, 1] for binary, [N, K]), or a model with predict(). */
export type Classifier2D =
  | ((x: Tensor) => ReadableTensor | ArrayInput | Promise<ReadableTensor | ArrayInput>)
  | { predict(x: Tensor): ReadableTensor | Promise<ReadableTensor> };

export interface DecisionBoundaryOptions extends ScatterOptions {
  /** Grid cells per side (default 100). */
  resolution?: number;
  /** Plot bounds [[xmin, xmax], [ymin, ymax]] (default: data range + 10%). */
  bounds?: [[number, number], [number, number]];
}

/** Per grid point: predicted class and its confidence (0 = chance, 1 = certain), plus P(class 1) for binary. */
function classesFromProbabilities(d: Dense, n: number): { cls: Int32Array; conf: Float64Array; p1: Float64Array | null; k: number } {
  const k = d.values.length === n ? 1 : d.values.length / n;
  if (!Number.isInteger(k) || (d.shape[0] !== n && d.values.length !== n)) {
    throw new RangeError(`decisionBoundary: the classifier returned shape [${d.shape.join(",")}] for ${n} grid points; expected [${n}], [${n}, 1] or [${n}, K]`);
  }
  const cls = new Int32Array(n);
  const conf = new Float64Array(n);
  if (k === 1) {
    const p1 = d.values;
    for (let i = 0; i < n; i++) {
      cls[i] = p1[i] >= 0.5 ? 1 : 0;
      conf[i] = Math.min(1, Math.abs(p1[i] - 0.5) * 2);
    }
    return { cls, conf, p1, k: 2 };
  }
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (d.values[i * k + j] > d.values[i * k + best]) best = j;
    cls[i] = best;
    conf[i] = Math.max(0, Math.min(1, (d.values[i * k + best] - 1 / k) / (1 - 1 / k)));
  }
  return { cls, conf, p1: k === 2 ? Float64Array.from({ length: n }, (_, i) => d.values[i * 2 + 1]) : null, k };
}

/**
 * Decision regions of a 2-D classifier with the data on top: `decisionBoundary(model, x, y)`.
 * Region color = predicted class, paler where the classifier is unsure; the p = 0.5 line for binary problems.
 */
export function decisionBoundary(classifier: Classifier2D, x: ArrayInput, y: ArrayInput, options: DecisionBoundaryOptions = {}): ChartPromise<VegaLiteChart> {
  return chartPromise(async () => {
    const { xs, ys } = await pointsXY(x, "decisionBoundary(x)");
    const labels = (await toDense(y, "decisionBoundary(y)")).values;
    if (labels.length !== xs.length) throw new RangeError(`decisionBoundary: ${xs.length} points but ${labels.length} labels`);
    const pad = (lo: number, hi: number): [number, number] => {
      const m = (hi - lo) * 0.1 || 1;
      return [lo - m, hi + m];
    };
    const [[x0, x1], [y0, y1]] = options.bounds ?? [pad(...minMax(xs)), pad(...minMax(ys))];
    const g = options.resolution ?? 100;
    // Row 0 is the top of the picture (largest y); points sit at cell centres.
    const gridX = Array.from({ length: g }, (_, c) => x0 + ((c + 0.5) / g) * (x1 - x0));
    const gridY = Array.from({ length: g }, (_, r) => y1 - ((r + 0.5) / g) * (y1 - y0));
    const flat = new Float32Array(g * g * 2);
    for (let r = 0; r < g; r++)
      for (let c = 0; c < g; c++) {
        flat[(r * g + c) * 2] = gridX[c];
        flat[(r * g + c) * 2 + 1] = gridY[r];
      }
    const input = tensor(flat, { shape: [g * g, 2] });
    let out: ReadableTensor | ArrayInput;
    try {
      out = typeof classifier === "function" ? await classifier(input) : await classifier.predict(input);
    } finally {
      input.dispose();
    }
    const probs = await toDense(out as ArrayInput, "decisionBoundary(predictions)");
    if (isReadableTensor(out) && typeof (out as { dispose?: unknown }).dispose === "function") (out as unknown as Tensor).dispose();
    const { cls, conf, p1, k } = classesFromProbabilities(probs, g * g);
    const rgba = new Uint8Array(g * g * 4);
    const palette = CATEGORY_COLORS.map(hexToRgb);
    for (let i = 0; i < g * g; i++) {
      const color = palette[cls[i] % palette.length];
      const a = 0.2 + 0.45 * conf[i];
      for (let ch = 0; ch < 3; ch++) rgba[i * 4 + ch] = Math.round(255 * (1 - a) + color[ch] * a);
      rgba[i * 4 + 3] = 255;
    }
    const layers: Record<string, unknown>[] = [
      {
        data: { values: [{ x: x0, x2: x1, y: y0, y2: y1, url: rgbaDataUrl(rgba, g, g, 400) }] },
        mark: { type: "image", aspect: false, smooth: false, aria: false },
        encoding: {
          x: { field: "x", type: "quantitative", scale: { domain: [x0, x1], nice: false, zero: false } },
          x2: { field: "x2" },
          y: { field: "y", type: "quantitative", scale: { domain: [y0, y1], nice: false, zero: false } },
          y2: { field: "y2" },
          url: { field: "url", type: "nominal" },
        },
      },
    ];
    if (p1) {
      const lines = contourPolylines(p1, gridX, gridY, [0.5]);
      layers.push({
        data: { values: lines.flatMap((line, id) => line.points.map(([x, y], k) => ({ x, y, line: id, k }))) },
        mark: { type: "line", color: "#333", strokeWidth: 1.5, clip: true },
        encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" }, detail: { field: "line", type: "nominal" }, order: { field: "k" } },
      });
    }
    layers.push(pointsLayer(xs, ys, labels, options, [x0, x1], [y0, y1]));
    let correct = 0;
    for (let i = 0; i < xs.length; i++) {
      const c = Math.min(g - 1, Math.max(0, Math.floor(((xs[i] - x0) / (x1 - x0)) * g)));
      const r = Math.min(g - 1, Math.max(0, Math.floor(((y1 - ys[i]) / (y1 - y0)) * g)));
      if (cls[r * g + c] === labels[i]) correct++;
    }
    const spec: VegaLiteSpec = {
      title: { text: options.title ?? "decision boundary", subtitle: `${k} classes; paler = less confident${p1 ? "; line: p = 0.5" : ""}` },
      width: options.width ?? 360,
      height: options.height ?? 320,
      layer: layers,
    };
    return new VegaLiteChart(spec, `decisionBoundary(${k} classes, ${xs.length} points, ${fmt((100 * correct) / xs.length)}% of points inside their class region)`, { raster: true });
  });
}

