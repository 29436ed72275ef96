/**
 * Explaining a CNN's decision: Grad-CAM (Selvaraju et al., 2017) and gradient saliency.
 * Grad-CAM weighs a conv layer's feature maps A^k by the spatial mean of ∂y^c/∂A^k and keeps the
 * positive part: L^c = ReLU(Σ_k α_k^c A^k), α_k^c = mean_ij ∂y^c/∂A^k_ij, with y^c the class score
 * before softmax. Works with any model exposing its layers in order (Sequential); no import of lib/nn.
 */
import type { Tensor } from "../tensor.js";
import { tidy, keep } from "../memory.js";
import { noGrad } from "../autograd/mode.js";
import { abs, mul, relu } from "../ops/elementwise.js";
import { argmax, max, mean, sum } from "../ops/reduce.js";
import { oneHot, reshape } from "../ops/movement.js";
import { tensor } from "../ops/creation.js";
import { fmt } from "../shape.js";
import { chartPromise, type ChartPromise } from "./chart.js";
import type { VegaLiteChart } from "./chart.js";
import { gradCamOverlay, type GradCamOptions } from "./images.js";

/** What Grad-CAM needs of a layer: the model layer API (lib/nn's Layer satisfies it). */
export interface CamLayer {
  name: string;
  readonly className: string;
  readonly outputShape?: readonly (number | null)[] | null;
  readonly weights?: Tensor[];
  apply(x: Tensor, opts?: { training?: boolean }): Tensor;
  applyWithLogits?(x: Tensor, opts?: { training?: boolean }): { output: Tensor; logits: Tensor | null };
}
export interface CamModel {
  readonly layers: CamLayer[];
}

export interface GradCamMapOptions {
  /** The conv layer to explain (name or index); default: the last layer with a 4-D output whose class name has "Conv". */
  layer?: string | number;
  /** Class per example (or one for all); default: the predicted class. */
  classIndex?: number | readonly number[];
}

function targetLayer(model: CamModel, which: string | number | undefined): number {
  const layers = model.layers;
  if (typeof which === "number") {
    if (which < 0 || which >= layers.length) throw new RangeError(`gradCam: layer index ${which} is out of range (the model has ${layers.length} layers)`);
    return which;
  }
  if (typeof which === "string") {
    const i = layers.findIndex((l) => l.name === which);
    if (i < 0) throw new Error(`gradCam: no layer named '${which}'; layers: ${layers.map((l) => l.name).join(", ")}`);
    return i;
  }
  for (let i = layers.length - 1; i >= 0; i--) {
    if (layers[i].className.includes("Conv") && layers[i].outputShape?.length === 4) return i;
  }
  throw new Error(`gradCam: the model has no Conv2D layer to explain (layers: ${layers.map((l) => l.className).join(", ")}); pass {layer}`);
}

/** Scores y^c (pre-softmax when the last layer ends in softmax/sigmoid) of the model from input x. */
function scoresFrom(layers: CamLayer[], start: number, x: Tensor): Tensor {
  let y = x;
  for (let i = start; i < layers.length - 1; i++) y = layers[i].apply(y, { training: false });
  const last = layers[layers.length - 1];
  if (last.applyWithLogits) {
    const r = last.applyWithLogits(y, { training: false });
    return r.logits ?? r.output;
  }
  return last.apply(y, { training: false });
}

/** Runs fn with the model's weights frozen, so explaining leaves their .grad untouched. */
function frozen<T>(model: CamModel, fn: () => T): T {
  const ws = model.layers.flatMap((l) => l.weights ?? []).filter((w) => w.requiresGrad);
  for (const w of ws) w.requiresGrad = false;
  try {
    return fn();
  } finally {
    for (const w of ws) w.requiresGrad = true;
  }
}

function classMask(scores: Tensor, classIndex: number | readonly number[] | undefined): { mask: Tensor; classes: Tensor } {
  const n = scores.shape[0], k = scores.shape[scores.ndim - 1];
  if (scores.ndim !== 2) throw new Error(`gradCam: the model's output must be [batch, classes], got ${fmt(scores.shape)}`);
  let classes: Tensor;
  if (classIndex === undefined) classes = argmax(scores, 1);
  else {
    const list = typeof classIndex === "number" ? new Array(n).fill(classIndex) : [...classIndex];
    if (list.length !== n) throw new Error(`gradCam: ${list.length} class indices for a batch of ${n}`);
    for (const c of list) if (!Number.isInteger(c) || c < 0 || c >= k) throw new RangeError(`gradCam: class index ${c} is out of range for ${k} classes`);
    classes = tensor(list, { dtype: "int32" });
  }
  return { mask: oneHot(classes, k, scores.dtype), classes };
}

/** Grad-CAM maps [N, h, w] (at the layer's resolution, ≥ 0) for images x [N, H, W, C], and the explained classes. */
export function gradCamMaps(model: CamModel, x: Tensor, opts: GradCamMapOptions = {}): { cam: Tensor; classes: Tensor } {
  if (x.ndim !== 4) throw new Error(`gradCam: images must be [batch, height, width, channels], got ${fmt(x.shape)}`);
  const layers = model.layers;
  const t = targetLayer(model, opts.layer);
  return frozen(model, () => tidy(() => {
    let a = x;
    noGrad(() => {
      for (let i = 0; i <= t; i++) a = layers[i].apply(a, { training: false });
    });
    if (a.ndim !== 4) throw new Error(`gradCam: layer '${layers[t].name}' outputs ${fmt(a.shape)}; pick a layer with a 4-D [batch, h, w, channels] output`);
    const A = a.detach();
    A.requiresGrad = true;
    const scores = scoresFrom(layers, t + 1, A);
    const { mask, classes } = classMask(scores, opts.classIndex);
    sum(mul(scores, mask)).backward();
    const weights = mean(A.grad!, [1, 2], true); // α_k^c: [N, 1, 1, C]
    const cam = noGrad(() => relu(sum(mul(A.detach(), weights), -1)));
    A.zeroGrad();
    return { cam: keep(cam), classes: keep(classes) };
  }));
}

/** Gradient saliency |∂y^c/∂x| (max over channels): [N, H, W]. */
export function saliencyMaps(model: CamModel, x: Tensor, opts: { classIndex?: number | readonly number[] } = {}): { saliency: Tensor; classes: Tensor } {
  if (x.ndim !== 4) throw new Error(`saliency: images must be [batch, height, width, channels], got ${fmt(x.shape)}`);
  return frozen(model, () => tidy(() => {
    const xi = x.detach();
    xi.requiresGrad = true;
    const scores = scoresFrom(model.layers, 0, xi);
    const { mask, classes } = classMask(scores, opts.classIndex);
    sum(mul(scores, mask)).backward();
    const s = noGrad(() => max(abs(xi.grad!), -1));
    xi.zeroGrad();
    return { saliency: keep(s), classes: keep(classes) };
  }));
}

/**
 * The Grad-CAM picture for one image [H, W, C] (or [1, H, W, C]): the image, the class-activation
 * heatmap and their overlay. `classIndex` defaults to the predicted class.
 */
export function gradCam(model: CamModel, image: Tensor, classIndex?: number, opts: GradCamOptions & { layer?: string | number } = {}): ChartPromise<VegaLiteChart> {
  const x = image.ndim === 3 ? reshape(image, [1, ...image.shape]) : image;
  if (x.ndim !== 4 || x.shape[0] !== 1) throw new Error(`gradCam: expected one image [H, W, C] or [1, H, W, C], got ${fmt(image.shape)}`);
  const { cam, classes } = gradCamMaps(model, x, { layer: opts.layer, classIndex });
  if (x !== image) x.dispose();
  classes.dispose();
  const chart = gradCamOverlay(image, cam, opts);
  return chartPromise(async () => {
    try {
      return await chart;
    } finally {
      cam.dispose();
    }
  });
}
