// Pictures: imageGrid (inputs with true/predicted labels, filters, feature maps, reconstructions)
// and gradCamOverlay. Each picture is a PNG drawn in Node, placed by a vega-lite image mark.
import { VegaLiteChart, chartPromise, type ChartPromise } from "./chart.js";
import { isReadableTensor, minMax, toDense, type ArrayInput, type Dense } from "./data.js";
import { colorLut, rgbaDataUrl } from "./raster.js";
import type { VegaLiteSpec } from "./render.js";

/** One picture of a grid: RGBA pixels and its caption. */
export interface Tile {
  rgba: Uint8Array;
  width: number;
  height: number;
  title?: string;
  /** Drawn with a red caption and border (a misclassified input). */
  mistake?: boolean;
  /** Row group name (e.g. "input", "reconstruction"), shown left of the group's first row. */
  group?: string;
}

export type ImageNormalization = "global" | "each" | [number, number];
export type ImageColorScale = "greys" | "diverging" | "viridis" | "inferno" | "jet";

export interface ImageGridOptions {
  /** True class per image (indices or names); with `predictions`, mistakes are marked red. */
  labels?: ArrayInput | readonly (string | number)[];
  /** Predicted class per image: indices, names, or scores [N, K] (argmax is taken). */
  predictions?: ArrayInput | readonly (string | number)[];
  /** Names for class indices in labels/predictions. */
  classNames?: readonly string[];
  /** Captions (override the label text). */
  titles?: readonly string[];
  /** Images per row (default: up to 10). */
  cols?: number;
  /** Value range mapped to black..white: one range for all images ("global", default), per image ("each"), or fixed. */
  normalize?: ImageNormalization;
  /** Colors for single-channel images (default "greys"; "diverging" is symmetric around 0, for filters). */
  colorScale?: ImageColorScale;
  /** Input is [N, C, H, W] instead of [N, H, W, C]. */
  channelsFirst?: boolean;
  /** Display size in pixels of each image's longer side (default: at least 56). */
  imageSize?: number;
  /** Most images drawn (default 100). */
  maxImages?: number;
  title?: string;
}

interface Stack {
  count: number;
  height: number;
  width: number;
  channels: number;
  values: Float64Array; // [N, H, W, C]
}

/** [N,H,W] | [N,H,W,C] | [H,W] (| channels-first) → a [N,H,W,C] stack. */
function toStack(d: Dense, channelsFirst: boolean, what: string): Stack {
  const s = d.shape;
  if (s.length === 2) return { count: 1, height: s[0], width: s[1], channels: 1, values: d.values };
  if (s.length === 3) return { count: s[0], height: s[1], width: s[2], channels: 1, values: d.values };
  if (s.length === 4) {
    if (!channelsFirst) {
      if (![1, 3, 4].includes(s[3])) {
        throw new RangeError(`${what}: images [N, H, W, C] need C in 1, 3, 4; got shape [${s.join(",")}] (pass {channelsFirst: true} for [N, C, H, W], or show channels separately with featureMaps)`);
      }
      return { count: s[0], height: s[1], width: s[2], channels: s[3], values: d.values };
    }
    const [n, c, h, w] = s;
    if (![1, 3, 4].includes(c)) throw new RangeError(`${what}: channels-first images [N, C, H, W] need C in 1, 3, 4; got shape [${s.join(",")}]`);
    const out = new Float64Array(d.values.length);
    for (let i = 0; i < n; i++)
      for (let ch = 0; ch < c; ch++)
        for (let p = 0; p < h * w; p++) out[(i * h * w + p) * c + ch] = d.values[(i * c + ch) * h * w + p];
    return { count: n, height: h, width: w, channels: c, values: out };
  }
  throw new RangeError(`${what}: expected images [N, H, W], [N, H, W, C] or one image [H, W], got shape [${s.join(",")}]`);
}

/** RGBA pixels of image `i` of a stack, values in [lo, hi] mapped to 0..255 (single channel through `lut`). */
function stackImageRgba(stack: Stack, i: number, lo: number, hi: number, lut: Uint8Array): Uint8Array {
  const { height, width, channels, values } = stack;
  const n = height * width;
  const out = new Uint8Array(n * 4);
  const span = hi > lo ? hi - lo : 1;
  const base = i * n * channels;
  const level = (v: number) => Math.max(0, Math.min(255, Math.round(((v - lo) / span) * 255)));
  for (let p = 0; p < n; p++) {
    if (channels === 1) {
      const k = level(values[base + p]);
      out[p * 4] = lut[k * 3];
      out[p * 4 + 1] = lut[k * 3 + 1];
      out[p * 4 + 2] = lut[k * 3 + 2];
      out[p * 4 + 3] = 255;
    } else {
      for (let c = 0; c < 3; c++) out[p * 4 + c] = level(values[base + p * channels + c]);
      out[p * 4 + 3] = channels === 4 ? level(values[base + p * channels + 3]) : 255;
    }
  }
  return out;
}

function rangeOf(values: Float64Array, start: number, end: number): [number, number] {
  return minMax(values.subarray(start, end));
}

function lutFor(scale: ImageColorScale): { lut: Uint8Array; symmetric: boolean } {
  if (scale === "diverging") return { lut: colorLut("redblue", true), symmetric: true };
  return { lut: colorLut(scale), symmetric: false };
}

/** Tiles for every image of a stack under one normalization. */
function stackTiles(stack: Stack, options: ImageGridOptions, limit: number): Tile[] {
  const { lut, symmetric } = lutFor(options.colorScale ?? "greys");
  const per = stack.height * stack.width * stack.channels;
  const norm = options.normalize ?? "global";
  const range = (i: number): [number, number] => {
    let r: [number, number];
    if (Array.isArray(norm)) r = [norm[0], norm[1]];
    else if (norm === "each") r = rangeOf(stack.values, i * per, (i + 1) * per);
    else r = rangeOf(stack.values, 0, Math.min(stack.count, limit) * per);
    // Data already in [0, 1] or [0, 255] keeps its natural black and white points.
    if (norm === "global" && !symmetric) {
      if (r[0] >= 0 && r[1] <= 1) r = [0, 1];
      else if (r[0] >= 0 && r[1] <= 255 && r[1] > 1) r = [0, 255];
    }
    if (symmetric) {
      const m = Math.max(Math.abs(r[0]), Math.abs(r[1])) || 1;
      r = [-m, m];
    }
    return r;
  };
  const tiles: Tile[] = [];
  for (let i = 0; i < Math.min(stack.count, limit); i++) {
    const [lo, hi] = range(i);
    tiles.push({ rgba: stackImageRgba(stack, i, lo, hi, lut), width: stack.width, height: stack.height });
  }
  return tiles;
}

async function labelTexts(x: ImageGridOptions["labels"], classNames: readonly string[] | undefined, what: string): Promise<string[] | undefined> {
  if (x === undefined) return undefined;
  if (Array.isArray(x) && x.some((v) => typeof v === "string")) return (x as (string | number)[]).map(String);
  const d = await toDense(x as ArrayInput, what);
  let indices: number[];
  if (d.shape.length === 2 && d.shape[1] > 1) {
    const [n, k] = d.shape;
    indices = [];
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (d.values[i * k + j] > d.values[i * k + best]) best = j;
      indices.push(best);
    }
  } else indices = Array.from(d.values);
  return indices.map((v) => (classNames && Number.isInteger(v) && classNames[v] !== undefined ? classNames[v] : String(v)));
}

const GAP = 6;
const CAPTION = 16;
const CAPTION_LINE = 13;
const MAX_CAPTION_WIDTH = 158;

/** A caption's lines: "prediction (label)" splits before the parenthesis. */
function captionText(title: string): string[] {
  const m = title.match(/^(.+?) (\(.+\))$/);
  return (m ? [m[1], m[2]] : [title]).map((line) => {
    if (textWidth(line) <= MAX_CAPTION_WIDTH) return line;
    const chars = [...line];
    while (chars.length > 1 && textWidth(chars.join("") + "…") > MAX_CAPTION_WIDTH) chars.pop();
    return chars.join("") + "…";
  });
}

/** Approximate width in px of 11-px sans-serif text (DejaVu Sans / Helvetica average advance). */
function textWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += /[iljtf.,:;'|!()\[\] ]/.test(ch) ? 3.6 : /[mwMW]/.test(ch) ? 9.5 : /[A-Z]/.test(ch) ? 7.6 : 6.4;
  return w;
}

/** A vega-lite spec that places tiles on a grid (pixel coordinates, no axes), captions above each. */
export function tileGridSpec(tiles: Tile[], options: { cols?: number; imageSize?: number; title?: string; note?: string }): VegaLiteSpec {
  if (tiles.length === 0) throw new RangeError("imageGrid: no images to draw");
  const groups = [...new Set(tiles.map((t) => t.group).filter((g): g is string => g !== undefined))];
  const cols = options.cols ?? Math.min(10, Math.max(...groups.map((g) => tiles.filter((t) => t.group === g).length), groups.length ? 0 : tiles.length));
  const maxW = Math.max(...tiles.map((t) => t.width));
  const maxH = Math.max(...tiles.map((t) => t.height));
  const scale = (options.imageSize ?? Math.max(56, Math.min(maxW, 160))) / Math.max(maxW, maxH);
  const cellH = Math.round(maxH * scale);
  // Captions: a mistake's "prediction (label)" on two lines; columns widen to the longest line
  // (up to 160 px), so class names like "T-shirt/top" are not cut at MNIST's 56-px tiles.
  const captionLines = tiles.map((t) => (t.title ? captionText(t.title) : []));
  const lineCount = Math.max(0, ...captionLines.map((l) => l.length));
  const longest = Math.max(0, ...captionLines.flat().map(textWidth));
  const cellW = Math.max(Math.round(maxW * scale), Math.ceil(longest) + 8);
  const captionH = lineCount ? CAPTION + (lineCount - 1) * CAPTION_LINE : 0;
  const left = groups.length ? 8 + Math.min(140, 7 * Math.max(...groups.map((g) => g.length))) : 0;
  const images: Record<string, unknown>[] = [];
  const captions: Record<string, unknown>[] = [];
  const groupLabels: Record<string, unknown>[] = [];
  let row = 0;
  const byGroup = groups.length ? groups.map((g) => tiles.filter((t) => t.group === g)) : [tiles];
  for (let g = 0; g < byGroup.length; g++) {
    const list = byGroup[g];
    const firstRow = row;
    list.forEach((t, i) => {
      const r = firstRow + Math.floor(i / cols);
      const c = i % cols;
      const w0 = Math.round(t.width * scale);
      const x = left + c * (cellW + GAP) + Math.floor((cellW - w0) / 2);
      const y = r * (cellH + captionH + GAP) + captionH;
      const w = Math.round(t.width * scale);
      const h = Math.round(t.height * scale);
      images.push({ x, y, x2: x + w, y2: y + h, url: rgbaDataUrl(t.rgba, t.width, t.height, Math.max(w, h)), mistake: !!t.mistake });
      if (t.title) {
        const lines = captionText(t.title);
        captions.push({ x: x + w / 2, y: y - 3 - (lines.length - 1) * CAPTION_LINE, text: lines.length === 1 ? lines[0] : lines, mistake: !!t.mistake });
      }
      row = Math.max(row, r + 1);
    });
    if (groups.length) groupLabels.push({ x: left - 8, y: firstRow * (cellH + captionH + GAP) + captionH + cellH / 2, text: groups[g] });
  }
  const width = left + cols * (cellW + GAP) - GAP;
  const height = row * (cellH + captionH + GAP) - GAP;
  const px = (field: string) => ({ field, type: "quantitative", scale: null });
  const layer: Record<string, unknown>[] = [
    {
      data: { values: images },
      mark: { type: "image", aspect: false, smooth: false, aria: false },
      encoding: { x: px("x"), x2: { field: "x2" }, y: px("y"), y2: { field: "y2" }, url: { field: "url", type: "nominal" } },
    },
  ];
  if (images.some((i) => i.mistake)) {
    layer.push({
      data: { values: images.filter((i) => i.mistake).map(({ x, y, x2, y2 }) => ({ x, y, x2, y2 })) },
      mark: { type: "rect", fill: null, stroke: "#d62728", strokeWidth: 2.5 },
      encoding: { x: px("x"), x2: { field: "x2" }, y: px("y"), y2: { field: "y2" } },
    });
  }
  if (captions.length) {
    layer.push({
      data: { values: captions },
      // No vega "limit": without a canvas vega estimates 0.8 em per character and would cut most names;
      // captionText shortens lines past the widest column instead.
      mark: { type: "text", baseline: "bottom", align: "center", fontSize: 11, lineHeight: CAPTION_LINE },
      encoding: {
        x: px("x"),
        y: px("y"),
        text: { field: "text" },
        color: { condition: { test: "datum.mistake", value: "#d62728" }, value: "#222" },
      },
    });
  }
  if (groupLabels.length) {
    layer.push({
      data: { values: groupLabels },
      mark: { type: "text", align: "right", baseline: "middle", fontSize: 12, fontWeight: "bold" },
      encoding: { x: px("x"), y: px("y"), text: { field: "text" } },
    });
  }
  return {
    title: options.title ? { text: options.title, subtitle: options.note } : options.note ? { text: "", subtitle: options.note } : undefined,
    width,
    height,
    layer,
    config: { view: { stroke: null } },
  };
}

export type ImagesInput = ArrayInput | { [group: string]: ArrayInput };

function isGroupRecord(x: ImagesInput): x is { [group: string]: ArrayInput } {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !ArrayBuffer.isView(x) && !isReadableTensor(x);
}

/**
 * A grid of images: `imageGrid(x, {labels, predictions, classNames, cols})` marks mistakes in red;
 * `imageGrid({input: x, reconstruction: y}, {cols: 8})` shows named groups row by row, side by side.
 */
export function imageGrid(images: ImagesInput, options: ImageGridOptions = {}): ChartPromise<VegaLiteChart> {
  return chartPromise(async () => {
    const limit = options.maxImages ?? 100;
    const tiles: Tile[] = [];
    const groups = isGroupRecord(images) ? Object.entries(images) : [[undefined, images] as const];
    let total = 0;
    for (const [group, input] of groups) {
      const stack = toStack(await toDense(input, `imageGrid${group ? `(${group})` : ""}`), options.channelsFirst ?? false, "imageGrid");
      total += stack.count;
      for (const t of stackTiles(stack, options, limit)) tiles.push({ ...t, group: group ?? undefined });
    }
    const labels = await labelTexts(options.labels, options.classNames, "imageGrid(labels)");
    const preds = await labelTexts(options.predictions, options.classNames, "imageGrid(predictions)");
    let mistakes = 0;
    tiles.forEach((t, i) => {
      const label = labels?.[i];
      const pred = preds?.[i];
      if (label !== undefined && pred !== undefined) {
        t.mistake = label !== pred;
        t.title = t.mistake ? `${pred} (${label})` : pred;
        if (t.mistake) mistakes++;
      } else t.title = pred ?? label;
      if (options.titles?.[i] !== undefined) t.title = options.titles[i];
    });
    const note = labels && preds ? `predicted (true label); ${mistakes} of ${Math.min(labels.length, tiles.length)} wrong, in red` : undefined;
    const spec = tileGridSpec(tiles, { cols: options.cols, imageSize: options.imageSize, title: options.title, note });
    const shape = `${tiles.length}${total > tiles.length ? ` of ${total}` : ""} images ${tiles[0].height}×${tiles[0].width}`;
    return new VegaLiteChart(spec, `imageGrid(${shape}${labels && preds ? `, ${mistakes} mistakes` : ""})`, { raster: true });
  });
}

export interface FilterOptions extends Omit<ImageGridOptions, "labels" | "predictions" | "channelsFirst"> {
  /** Weight layout: "HWIO" ([kh, kw, in, out], Keras, default) or "OIHW" ([out, in, kh, kw], PyTorch). */
  layout?: "HWIO" | "OIHW";
}

/** Conv filters as pictures: RGB when there are 3 input channels, else the mean over input channels (diverging colors). */
export function convFilters(weight: ArrayInput, options: FilterOptions = {}): ChartPromise<VegaLiteChart> {
  return chartPromise(async () => {
    const d = await toDense(weight, "convFilters");
    if (d.shape.length !== 4) throw new RangeError(`convFilters: expected a 4-D conv weight, got shape [${d.shape.join(",")}]`);
    const layout = options.layout ?? "HWIO";
    const [kh, kw, cin, cout] = layout === "HWIO" ? d.shape : [d.shape[2], d.shape[3], d.shape[1], d.shape[0]];
    const at = (y: number, x: number, i: number, o: number) =>
      layout === "HWIO" ? d.values[((y * kw + x) * cin + i) * cout + o] : d.values[((o * cin + i) * kh + y) * kw + x];
    const rgb = cin === 3;
    const channels = rgb ? 3 : 1;
    const values = new Float64Array(cout * kh * kw * channels);
    for (let o = 0; o < cout; o++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) {
          const p = ((o * kh + y) * kw + x) * channels;
          if (rgb) for (let i = 0; i < 3; i++) values[p + i] = at(y, x, i, o);
          else {
            let s = 0;
            for (let i = 0; i < cin; i++) s += at(y, x, i, o);
            values[p] = s / cin;
          }
        }
    const stack: Stack = { count: cout, height: kh, width: kw, channels, values };
    const opts: ImageGridOptions = { normalize: "each", colorScale: rgb ? "greys" : "diverging", ...options };
    const tiles = stackTiles(stack, opts, options.maxImages ?? 256);
    tiles.forEach((t, i) => (t.title = options.titles?.[i] ?? `#${i}`));
    const note = rgb ? "RGB, each filter scaled to its own range" : `mean over ${cin} input channel${cin > 1 ? "s" : ""}; blue < 0 < red`;
    return new VegaLiteChart(tileGridSpec(tiles, { cols: options.cols, imageSize: options.imageSize ?? 48, title: options.title ?? `${cout} filters ${kh}×${kw}`, note }), `convFilters(${cout} filters ${kh}×${kw}×${cin})`, { raster: true });
  });
}

/** Activations of one sample per channel: [H, W, C], [1, H, W, C] (or channels-first with {channelsFirst: true}). */
export function featureMaps(activations: ArrayInput, options: ImageGridOptions = {}): ChartPromise<VegaLiteChart> {
  return chartPromise(async () => {
    const d = await toDense(activations, "featureMaps");
    let s = d.shape;
    if (s.length === 4 && s[0] === 1) s = s.slice(1);
    if (s.length !== 3) throw new RangeError(`featureMaps: expected one sample's activations [H, W, C] or [1, H, W, C], got shape [${d.shape.join(",")}]`);
    const [h, w, c] = options.channelsFirst ? [s[1], s[2], s[0]] : s;
    const values = new Float64Array(d.values.length);
    for (let ch = 0; ch < c; ch++)
      for (let p = 0; p < h * w; p++) values[ch * h * w + p] = options.channelsFirst ? d.values[ch * h * w + p] : d.values[p * c + ch];
    const stack: Stack = { count: c, height: h, width: w, channels: 1, values };
    const opts: ImageGridOptions = { normalize: "each", colorScale: "viridis", ...options };
    const tiles = stackTiles(stack, opts, options.maxImages ?? 64);
    tiles.forEach((t, i) => (t.title = options.titles?.[i] ?? `ch ${i}`));
    return new VegaLiteChart(tileGridSpec(tiles, { cols: options.cols, imageSize: options.imageSize, title: options.title ?? `feature maps ${h}×${w}×${c}`, note: "each channel scaled to its own range" }), `featureMaps(${c} channels ${h}×${w})`, { raster: true });
  });
}

export interface GradCamOptions {
  /** Opacity of the heatmap over the image (default 0.45). */
  alpha?: number;
  colorScale?: "jet" | "inferno" | "viridis";
  /** Image is [C, H, W]. */
  channelsFirst?: boolean;
  /** Show image | heatmap | overlay (default) or the overlay alone. */
  panels?: boolean;
  title?: string;
  imageSize?: number;
}

/** Bilinear resize of an [h, w] map to [H, W] (align corners off, like most frameworks' upsampling). */
export function resizeBilinear(src: Float64Array, h: number, w: number, H: number, W: number): Float64Array {
  const out = new Float64Array(H * W);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(h - 1, Math.max(0, ((y + 0.5) * h) / H - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(h - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < W; x++) {
      const sx = Math.min(w - 1, Math.max(0, ((x + 0.5) * w) / W - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(w - 1, x0 + 1);
      const fx = sx - x0;
      const top = src[y0 * w + x0] * (1 - fx) + src[y0 * w + x1] * fx;
      const bottom = src[y1 * w + x0] * (1 - fx) + src[y1 * w + x1] * fx;
      out[y * W + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/**
 * Grad-CAM picture: `heatmap` (class-activation map [h, w], any scale; negatives clipped at 0 as in
 * Grad-CAM's ReLU) upsampled to the image size, colored and blended over `image` ([H, W] or [H, W, C]).
 */
export function gradCamOverlay(image: ArrayInput, heatmap: ArrayInput, options: GradCamOptions = {}): ChartPromise<VegaLiteChart> {
  return chartPromise(async () => {
    const imgDense = await toDense(image, "gradCamOverlay(image)");
    // One image: [H, W], [H, W, C] (C in 1, 3, 4), [1, H, W] or [1, H, W, C]; a leading batch of 1 is dropped.
    let shape = imgDense.shape[0] === 1 && imgDense.shape.length === 4 ? imgDense.shape.slice(1) : imgDense.shape;
    if (shape.length === 3 && ![1, 3, 4].includes(shape[options.channelsFirst ? 0 : 2]) && shape[0] === 1) shape = shape.slice(1);
    const stack = toStack({ values: imgDense.values, shape: shape.length === 3 ? [1, ...shape] : shape }, options.channelsFirst ?? false, "gradCamOverlay(image)");
    if (stack.count !== 1) throw new RangeError(`gradCamOverlay: expected one image [H, W] or [H, W, C], got shape [${imgDense.shape.join(",")}]`);
    const camDense = await toDense(heatmap, "gradCamOverlay(heatmap)");
    const camShape = camDense.shape.filter((n) => n !== 1);
    if (camShape.length !== 2) throw new RangeError(`gradCamOverlay: expected a 2-D heatmap [h, w], got shape [${camDense.shape.join(",")}]`);
    const [h, w] = camShape;
    const { height: H, width: W } = stack;
    const cam = resizeBilinear(Float64Array.from(camDense.values, (v) => Math.max(0, v)), h, w, H, W);
    const [, camMax] = minMax(cam);
    const lut = colorLut(options.colorScale ?? "jet");
    const imageRgba = stackTiles(stack, { normalize: "global" }, 1)[0].rgba;
    const camRgba = new Uint8Array(H * W * 4);
    const overlay = new Uint8Array(H * W * 4);
    const alpha = options.alpha ?? 0.45;
    for (let p = 0; p < H * W; p++) {
      const k = Math.round((camMax > 0 ? cam[p] / camMax : 0) * 255);
      for (let c = 0; c < 3; c++) {
        camRgba[p * 4 + c] = lut[k * 3 + c];
        overlay[p * 4 + c] = Math.round((1 - alpha) * imageRgba[p * 4 + c] + alpha * lut[k * 3 + c]);
      }
      camRgba[p * 4 + 3] = 255;
      overlay[p * 4 + 3] = 255;
    }
    const tiles: Tile[] = [{ rgba: overlay, width: W, height: H, title: "overlay" }];
    if (options.panels ?? true) {
      tiles.unshift({ rgba: imageRgba, width: W, height: H, title: "image" }, { rgba: camRgba, width: W, height: H, title: `heatmap ${h}×${w}` });
    }
    const spec = tileGridSpec(tiles, { cols: tiles.length, imageSize: options.imageSize ?? Math.max(160, Math.min(W, 320)), title: options.title ?? "Grad-CAM" });
    return new VegaLiteChart(spec, `gradCamOverlay(image ${H}×${W}, heatmap ${h}×${w}, max ${camMax.toPrecision(3)})`, { raster: true });
  });
}

