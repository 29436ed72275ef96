// Pixels drawn in Node: color maps that match vega's schemes, and PNG data URLs for image marks.
// Large matrices and images go into a chart as one PNG (a 128×128 heatmap as SVG rects is ~3 MiB).
import { encode } from "fast-png";

/** Color maps by vega scheme name; control points sampled from the same d3 schemes so PNG and legend agree. */
const SCHEMES: Record<string, string[]> = {
  viridis: ["#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c", "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725"],
  // vega "redblue" runs red → white → blue; diverging charts use it reversed (negative blue, positive red).
  redblue: ["#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7", "#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061"],
  blues: ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"],
  greys: ["#000000", "#ffffff"],
  inferno: ["#000004", "#160b39", "#420a68", "#6a176e", "#932667", "#bc3754", "#dd513a", "#f37819", "#fca50a", "#f6d746", "#fcffa4"],
  jet: ["#00007f", "#0000ff", "#007fff", "#00ffff", "#7fff7f", "#ffff00", "#ff7f00", "#ff0000", "#7f0000"],
};

/** vega-lite's default categorical palette ("tableau10"), used for class colors in PNGs and marks alike. */
export const CATEGORY_COLORS = ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac"];

export type SchemeName = keyof typeof SCHEMES;

export function hexToRgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** 256-entry RGB lookup table for a scheme (linear between control points). */
export function colorLut(scheme: string, reverse = false): Uint8Array {
  const stops = SCHEMES[scheme];
  if (!stops) throw new RangeError(`colorLut: unknown scheme "${scheme}"; known: ${Object.keys(SCHEMES).join(", ")}`);
  const rgb = (reverse ? [...stops].reverse() : stops).map(hexToRgb);
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (rgb.length - 1);
    const k = Math.min(Math.floor(t), rgb.length - 2);
    const f = t - k;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(rgb[k][c] * (1 - f) + rgb[k + 1][c] * f);
  }
  return lut;
}

/** RGBA pixels of an [rows, cols] matrix mapped through `lut` over [lo, hi]; NaN cells are transparent. */
export function matrixToRgba(values: ArrayLike<number>, rows: number, cols: number, lo: number, hi: number, lut: Uint8Array): Uint8Array {
  const out = new Uint8Array(rows * cols * 4);
  const span = hi > lo ? hi - lo : 1;
  for (let i = 0; i < rows * cols; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    const k = Math.max(0, Math.min(255, Math.round(((v - lo) / span) * 255)));
    out[i * 4] = lut[k * 3];
    out[i * 4 + 1] = lut[k * 3 + 1];
    out[i * 4 + 2] = lut[k * 3 + 2];
    out[i * 4 + 3] = 255;
  }
  return out;
}

/** Nearest-neighbour upscaling by an integer factor, so viewers that smooth images keep cells crisp. */
export function upscaleRgba(rgba: Uint8Array, width: number, height: number, factor: number): { data: Uint8Array; width: number; height: number } {
  if (factor <= 1) return { data: rgba, width, height };
  const w2 = width * factor;
  const h2 = height * factor;
  const out = new Uint8Array(w2 * h2 * 4);
  const src = new Uint32Array(rgba.buffer, rgba.byteOffset, width * height);
  const dst = new Uint32Array(out.buffer);
  for (let y = 0; y < h2; y++) {
    const row = Math.floor(y / factor) * width;
    for (let x = 0; x < w2; x++) dst[y * w2 + x] = src[row + Math.floor(x / factor)];
  }
  return { data: out, width: w2, height: h2 };
}

export function encodePng(rgba: Uint8Array, width: number, height: number): Uint8Array {
  return encode({ width, height, data: rgba, channels: 4, depth: 8 });
}

/**
 * PNG data URL of RGBA pixels. Image marks are drawn unsmoothed (vega's smooth: false); small images are
 * still upscaled (to at most 128 px on the longer side) for viewers that smooth anyway, at little cost.
 */
export function rgbaDataUrl(rgba: Uint8Array, width: number, height: number, minSize = 0): string {
  const factor = Math.max(1, Math.min(16, Math.ceil(Math.min(minSize, 128) / Math.max(width, height))));
  const big = upscaleRgba(rgba, width, height, factor);
  return "data:image/png;base64," + Buffer.from(encodePng(big.data, big.width, big.height)).toString("base64");
}
