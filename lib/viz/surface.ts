// Loss landscapes over two parameters: surface3d (plotly, interactive) and contour (vega-lite),
// both with optimizer paths drawn on them.
import { VegaLiteChart } from "./chart.js";
import { PlotlyChart } from "./plotly.js";
import { contourPolylines } from "./contour-lines.js";

/** Coordinates to 4 significant digits: sub-pixel precision at any plot size, and a smaller spec. */
const round4 = (v: number) => Number(v.toPrecision(4));
import { fmt, minMax } from "./data.js";
import { CATEGORY_COLORS, colorLut, matrixToRgba, rgbaDataUrl } from "./raster.js";
import type { VegaLiteSpec } from "./render.js";

/** z sampled on a grid: z[r][c] is the value at (x[c], y[r]). */
export interface Grid {
  x: number[];
  y: number[];
  z: number[][];
}

export type SurfaceInput = ((x: number, y: number) => number) | Grid | number[][];

/** An optimizer trajectory in the (x, y) plane; z is read from the function or the grid when omitted. */
export interface SurfacePath {
  name?: string;
  points: readonly (readonly [number, number])[] | { x: readonly number[]; y: readonly number[] };
  z?: readonly number[];
}

export interface SurfaceOptions {
  /** For a function: x and y ranges (default [-2, 2] each, or covering the paths). */
  xRange?: [number, number];
  yRange?: [number, number];
  /** For a function: samples per side (default 60 for 3-D, 120 for contour). */
  resolution?: number;
  paths?: readonly SurfacePath[];
  /** Color (and contour levels) by log₁₀ z; "auto" (default) when z > 0 spans more than two decades. */
  logScale?: boolean | "auto";
  /** Number of contour levels, or the levels themselves (in z units). */
  levels?: number | readonly number[];
  title?: string;
  xTitle?: string;
  yTitle?: string;
  zTitle?: string;
  width?: number;
  height?: number;
}

interface Sampled {
  xs: number[];
  ys: number[];
  z: Float64Array; // row-major [ys.length, xs.length]
  at: (x: number, y: number) => number;
}

function pathXY(p: SurfacePath): { xs: number[]; ys: number[] } {
  if (Array.isArray(p.points)) {
    const pts = p.points as readonly (readonly [number, number])[];
    return { xs: pts.map((q) => q[0]), ys: pts.map((q) => q[1]) };
  }
  const xy = p.points as { x: readonly number[]; y: readonly number[] };
  if (xy.x.length !== xy.y.length) throw new RangeError(`surface path "${p.name ?? ""}": ${xy.x.length} x values but ${xy.y.length} y values`);
  return { xs: [...xy.x], ys: [...xy.y] };
}

function linspace(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}

/** Bilinear interpolation on a grid with increasing x and y (clamped at the border). */
function gridInterpolator(xs: number[], ys: number[], z: Float64Array): (x: number, y: number) => number {
  const locate = (arr: number[], v: number): [number, number] => {
    if (v <= arr[0]) return [0, 0];
    if (v >= arr[arr.length - 1]) return [arr.length - 2, 1];
    let lo = 0, hi = arr.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (arr[mid] <= v) lo = mid;
      else hi = mid;
    }
    return [lo, (v - arr[lo]) / (arr[lo + 1] - arr[lo])];
  };
  const nx = xs.length;
  return (x, y) => {
    const [c, fx] = locate(xs, x);
    const [r, fy] = locate(ys, y);
    const v = (rr: number, cc: number) => z[rr * nx + cc];
    return (v(r, c) * (1 - fx) + v(r, c + 1) * fx) * (1 - fy) + (v(r + 1, c) * (1 - fx) + v(r + 1, c + 1) * fx) * fy;
  };
}

function sample(input: SurfaceInput, options: SurfaceOptions, defaultResolution: number, what: string): Sampled {
  if (typeof input === "function") {
    const n = options.resolution ?? defaultResolution;
    // Default ranges cover the paths with a margin, else [-2, 2].
    const pathPts = (options.paths ?? []).map(pathXY);
    const allX = pathPts.flatMap((p) => p.xs);
    const allY = pathPts.flatMap((p) => p.ys);
    const around = (vals: number[]): [number, number] => {
      if (!vals.length) return [-2, 2];
      const [lo, hi] = minMax(vals);
      const m = Math.max((hi - lo) * 0.25, 0.5);
      return [lo - m, hi + m];
    };
    const [x0, x1] = options.xRange ?? around(allX);
    const [y0, y1] = options.yRange ?? around(allY);
    const xs = linspace(x0, x1, n);
    const ys = linspace(y0, y1, n);
    const z = new Float64Array(n * n);
    for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) z[r * n + c] = input(xs[c], ys[r]);
    return { xs, ys, z, at: input };
  }
  const grid: Grid = Array.isArray(input)
    ? { x: (input[0] ?? []).map((_, i) => i), y: input.map((_, i) => i), z: input as number[][] }
    : (input as Grid);
  const ny = grid.y.length;
  const nx = grid.x.length;
  if (grid.z.length !== ny || grid.z.some((row) => row.length !== nx)) {
    throw new RangeError(`${what}: z must be [y.length, x.length] = [${ny}, ${nx}], got ${grid.z.length} rows of lengths ${[...new Set(grid.z.map((r) => r.length))].join("/")}`);
  }
  if (nx < 2 || ny < 2) throw new RangeError(`${what}: the grid needs at least 2×2 samples, got ${ny}×${nx}`);
  const z = new Float64Array(nx * ny);
  for (let r = 0; r < ny; r++) for (let c = 0; c < nx; c++) z[r * nx + c] = grid.z[r][c];
  const xs = [...grid.x];
  const ys = [...grid.y];
  return { xs, ys, z, at: gridInterpolator(xs, ys, z) };
}

function useLog(z: Float64Array, option: SurfaceOptions["logScale"]): boolean {
  const [lo, hi] = minMax(z);
  if (option === true && !(lo > 0)) throw new RangeError(`surface: logScale needs z > 0, but the smallest value is ${lo}; shift the function or pass logScale: false`);
  if (option === "auto" || option === undefined) {
    // Log only when z > 0 spans decades and most of the grid is crowded near the minimum (a valley, not a bowl).
    if (!(lo > 0) || hi / lo <= 100) return false;
    const sorted = Float64Array.from(z).sort();
    const median = sorted[sorted.length >> 1];
    return (median - lo) / (hi - lo) < 0.1;
  }
  return option;
}

function pathsWithZ(options: SurfaceOptions, at: (x: number, y: number) => number) {
  return (options.paths ?? []).map((p, i) => {
    const { xs, ys } = pathXY(p);
    const zs = p.z ? [...p.z] : xs.map((x, k) => at(x, ys[k]));
    return { name: p.name ?? `path ${i + 1}`, xs, ys, zs };
  });
}

/** Optimizer path colors on viridis (and in a legend on white). */
const PATH_COLORS = ["#e45756", "#f58518", "#e377c2", "#9ecae9", "#eeca3b", "#b279a2"];

function contourSpec(s: Sampled, options: SurfaceOptions, log: boolean): VegaLiteSpec {
  const nx = s.xs.length;
  const ny = s.ys.length;
  const shown = log ? s.z.map(Math.log10) : s.z;
  const [lo, hi] = minMax(shown);
  const levelCount = typeof options.levels === "number" ? options.levels : 12;
  const levels = Array.isArray(options.levels)
    ? (options.levels as number[]).map((v) => (log ? Math.log10(v) : v))
    : Array.from({ length: levelCount }, (_, i) => lo + ((hi - lo) * (i + 1)) / (levelCount + 1));
  // The raster's row 0 is the top of the picture, i.e. the largest y.
  const flipped = new Float64Array(nx * ny);
  const yIncreasing = s.ys[ny - 1] > s.ys[0];
  for (let r = 0; r < ny; r++) flipped.set(shown.subarray((yIncreasing ? ny - 1 - r : r) * nx, (yIncreasing ? ny - r : r + 1) * nx), r * nx);
  const url = rgbaDataUrl(matrixToRgba(flipped, ny, nx, lo, hi, colorLut("viridis")), nx, ny, 400);
  const [x0, x1] = minMax(s.xs);
  const [y0, y1] = minMax(s.ys);
  const zTitle = options.zTitle ?? "loss";
  const xEnc = { field: "x", type: "quantitative", title: options.xTitle ?? "w₁", scale: { domain: [x0, x1], nice: false, zero: false } };
  const yEnc = { field: "y", type: "quantitative", title: options.yTitle ?? "w₂", scale: { domain: [y0, y1], nice: false, zero: false } };
  const layers: Record<string, unknown>[] = [
    {
      data: { values: [{ x: x0, x2: x1, y: y0, y2: y1, url }] },
      mark: { type: "image", aspect: false, smooth: true, aria: false },
      encoding: { x: xEnc, x2: { field: "x2" }, y: yEnc, y2: { field: "y2" }, url: { field: "url", type: "nominal" } },
    },
    {
      // One line per iso-line piece (detail = line id, order = position along it).
      data: {
        values: contourPolylines(shown, s.xs, s.ys, levels).flatMap((line, id) =>
          line.points.map(([x, y], k) => ({ x: round4(x), y: round4(y), line: id, k, level: log ? 10 ** line.level : line.level })),
        ),
      },
      mark: { type: "line", color: "white", strokeWidth: 0.8, opacity: 0.7, clip: true, interpolate: "linear" },
      encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" }, detail: { field: "line", type: "nominal" }, order: { field: "k" } },
    },
    {
      data: { values: [{ v: log ? 10 ** lo : lo }, { v: log ? 10 ** hi : hi }] },
      mark: { type: "point", opacity: 0 },
      encoding: { color: { field: "v", type: "quantitative", title: zTitle, scale: { type: log ? "log" : "linear", scheme: "viridis", domain: log ? [10 ** lo, 10 ** hi] : [lo, hi] } } },
    },
  ];
  const paths = pathsWithZ(options, s.at);
  const datasets: Record<string, unknown[]> = {};
  if (paths.length) {
    const names = paths.map((p) => p.name);
    // Path colors skip the palette's blue, which vanishes on viridis, and white, whose legend symbol
    // vanishes on the page; a dark halo under each path keeps light colors visible on the yellow plateau.
    const range = names.map((_, i) => PATH_COLORS[i % PATH_COLORS.length]);
    const rows = paths.flatMap((p) => p.xs.map((x, k) => ({ x, y: p.ys[k], z: p.zs[k], step: k, path: p.name })));
    const stroke = { field: "path", type: "nominal", title: "path", scale: { domain: names, range }, legend: { labelLimit: 280 } };
    datasets.paths = rows;
    layers.push(
      {
        data: { name: "paths" },
        mark: { type: "line", strokeWidth: 4, color: "#1a1a1a", opacity: 0.45, clip: true },
        encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" }, order: { field: "step" }, detail: { field: "path", type: "nominal" } },
      },
      {
        data: { name: "paths" },
        mark: { type: "line", strokeWidth: 2, clip: true },
        encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" }, order: { field: "step" }, stroke, tooltip: [{ field: "path" }, { field: "step" }, { field: "z", title: zTitle }] },
      },
      {
        data: { values: paths.map((p) => ({ x: p.xs[0], y: p.ys[0], path: p.name })) },
        mark: { type: "point", shape: "circle", size: 60, strokeWidth: 2, filled: false, clip: true },
        encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" }, stroke },
      },
      {
        data: { values: paths.map((p) => ({ x: p.xs[p.xs.length - 1], y: p.ys[p.ys.length - 1], path: p.name })) },
        mark: { type: "point", shape: "cross", size: 140, strokeWidth: 2.5, filled: false, clip: true },
        encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" }, stroke },
      },
    );
  }
  return {
    title: options.title ? { text: options.title, subtitle: paths.length ? "○ start, × end of each path" : undefined } : undefined,
    width: options.width ?? 360,
    height: options.height ?? 320,
    ...(paths.length ? { datasets } : {}),
    layer: layers,
  };
}

function describeSurface(kind: string, s: Sampled, options: SurfaceOptions, log: boolean): string {
  const [lo, hi] = minMax(s.z);
  const paths = pathsWithZ(options, s.at);
  const ends = paths.map((p) => `${p.name} ends at (${fmt(p.xs[p.xs.length - 1])}, ${fmt(p.ys[p.ys.length - 1])}) z=${fmt(p.zs[p.zs.length - 1])}`);
  return `${kind}(${s.ys.length}×${s.xs.length} grid, z in [${fmt(lo)}, ${fmt(hi)}]${log ? ", log color" : ""}${ends.length ? "; " + ends.join("; ") : ""})`;
}

/** Filled contour plot (vega-lite) of a loss landscape with optimizer paths. */
export function contour(input: SurfaceInput, options: SurfaceOptions = {}): VegaLiteChart {
  const s = sample(input, options, 120, "contour");
  const log = useLog(s.z, options.logScale);
  return new VegaLiteChart(contourSpec(s, options, log), describeSurface("contour", s, options, log), { raster: true });
}

/** Interactive 3-D surface (plotly) with optimizer paths; its static form is the contour plot. Height is z; with logScale, color is log₁₀ z. */
export function surface3d(input: SurfaceInput, options: SurfaceOptions = {}): PlotlyChart {
  const s = sample(input, options, 60, "surface3d");
  const log = useLog(s.z, options.logScale);
  const nx = s.xs.length;
  // 5 significant digits: invisible in a 3-D view, and the figure JSON shrinks by half.
  const round5 = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(5)) : v);
  const zRows = Array.from({ length: s.ys.length }, (_, r) => Array.from(s.z.subarray(r * nx, (r + 1) * nx), round5));
  const zTitle = options.zTitle ?? "loss";
  const data: Record<string, unknown>[] = [
    {
      type: "surface",
      x: s.xs.map(round5),
      y: s.ys.map(round5),
      z: zRows,
      // Color by log z when the range spans decades, so the valley floor is not one flat color.
      surfacecolor: log ? zRows.map((row) => row.map((v) => round5(Math.log10(v)))) : undefined,
      colorscale: "Viridis",
      opacity: 0.92,
      colorbar: { title: { text: log ? `log₁₀ ${zTitle}` : zTitle }, len: 0.7 },
      contours: { z: { show: true, usecolormap: true, project: { z: true }, width: 1 } },
      name: zTitle,
    },
  ];
  const colors = ["#e45756", "#f58518", "#222222", "#ff9da6", "#eeca3b", "#b279a2", ...CATEGORY_COLORS];
  const [zLo, zHi] = minMax(s.z);
  // Paths float 1% of the z range above the surface so it does not hide them (hover shows the true z).
  const lift = 0.01 * (zHi - zLo);
  pathsWithZ(options, s.at).forEach((p, i) => {
    data.push({
      type: "scatter3d",
      mode: "lines+markers",
      name: p.name,
      x: p.xs,
      y: p.ys,
      z: p.zs.map((z) => z + lift),
      text: p.zs.map((z, k) => `${p.name} step ${k}: ${zTitle} ${fmt(z)}`),
      hoverinfo: "text",
      line: { color: colors[i % colors.length], width: 6 },
      marker: { color: colors[i % colors.length], size: 3 },
    });
  });
  const figure = {
    data,
    layout: {
      title: options.title ? { text: options.title } : undefined,
      height: options.height ?? 520,
      width: options.width,
      margin: { l: 0, r: 0, t: options.title ? 40 : 10, b: 0 },
      scene: {
        // A little farther than plotly's default eye, so tick labels are not clipped at the bottom.
        camera: { eye: { x: 1.5, y: 1.5, z: 1.2 } },
        xaxis: { title: { text: options.xTitle ?? "w₁" } },
        yaxis: { title: { text: options.yTitle ?? "w₂" } },
        zaxis: { title: { text: zTitle } },
      },
      showlegend: true,
      legend: { x: 0, y: 1 },
    },
    config: { responsive: true, displaylogo: false },
  };
  const fallback = new VegaLiteChart(contourSpec(s, { ...options, width: 360, height: 320 }, log), describeSurface("contour", s, options, log), { raster: true });
  return new PlotlyChart(figure, fallback, describeSurface("surface3d", s, options, log));
}
