/** 2-D convolution and pooling in NHWC (Keras' layout), filters [kh, kw, cin, cout], with gradients. */
import type { Conv2dParams, Pool2dParams } from "../backend/backend.js";
import { fmt } from "../shape.js";
import { Tensor } from "../tensor.js";
import { backendOf, checkFloat, fromBuf, record } from "./core.js";
import { cast } from "./elementwise.js";
import { contiguousBase } from "./movement.js";

export type Padding = "valid" | "same" | number | readonly [readonly [number, number], readonly [number, number]];
type Pair = number | readonly [number, number];

const pair = (op: string, name: string, v: Pair): [number, number] => {
  const p: [number, number] = typeof v === "number" ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= 1)) throw new RangeError(`${op}: ${name} must be positive integers, got ${JSON.stringify(v)}`);
  return p;
};

/** Output size and leading padding along one axis (TensorFlow's rules for "same"). */
function axisGeometry(op: string, size: number, k: number, stride: number, dil: number, padding: Padding, axis: 0 | 1): { out: number; before: number } {
  const eff = dil * (k - 1) + 1;
  let before: number, after: number;
  if (padding === "valid") [before, after] = [0, 0];
  else if (padding === "same") {
    const out = Math.ceil(size / stride);
    const total = Math.max((out - 1) * stride + eff - size, 0);
    before = Math.floor(total / 2);
    after = total - before;
  } else if (typeof padding === "number") [before, after] = [padding, padding];
  else [before, after] = padding[axis];
  const out = Math.floor((size + before + after - eff) / stride) + 1;
  if (out <= 0) {
    throw new Error(`${op}: the window (${k} with dilation ${dil}) does not fit the input size ${size} with padding ${JSON.stringify(padding)}; use padding "same" or a smaller window`);
  }
  return { out, before };
}

export interface Conv2dOptions {
  strides?: Pair;
  padding?: Padding;
  dilation?: Pair;
}

/** conv2d(x [N,H,W,Cin], filter [kh,kw,Cin,Cout]) → [N,OH,OW,Cout]. */
export function conv2d(x: Tensor, filter: Tensor, opts: Conv2dOptions = {}): Tensor {
  if (x.ndim !== 4) throw new Error(`conv2d: input must be [batch, height, width, channels] (NHWC), got ${fmt(x.shape)}`);
  if (filter.ndim !== 4) throw new Error(`conv2d: filter must be [kh, kw, inChannels, outChannels], got ${fmt(filter.shape)}`);
  checkFloat("conv2d", x);
  if (x.shape[3] !== filter.shape[2]) {
    throw new Error(`conv2d: input has ${x.shape[3]} channels but the filter expects ${filter.shape[2]} (input ${fmt(x.shape)}, filter ${fmt(filter.shape)})`);
  }
  const [sh, sw] = pair("conv2d", "strides", opts.strides ?? 1);
  const [dh, dw] = pair("conv2d", "dilation", opts.dilation ?? 1);
  const padding = opts.padding ?? "valid";
  const [n, h, w, cin] = x.shape;
  const [kh, kw, , cout] = filter.shape;
  const gy = axisGeometry("conv2d", h, kh, sh, dh, padding, 0);
  const gx = axisGeometry("conv2d", w, kw, sw, dw, padding, 1);
  const p: Conv2dParams = { n, h, w, cin, kh, kw, cout, oh: gy.out, ow: gx.out, strideH: sh, strideW: sw, dilationH: dh, dilationW: dw, padTop: gy.before, padLeft: gx.before };
  const b = backendOf("conv2d", x, filter);
  const f = filter.dtype === x.dtype ? filter : cast(filter, x.dtype);
  const xc = contiguousBase(x), fc = contiguousBase(f);
  const y = fromBuf(b, b.conv2d(xc.storage("conv2d").buf!, fc.storage("conv2d").buf!, x.dtype, p), [n, p.oh, p.ow, cout], x.dtype);
  return record(y, "conv2d", [x, f], (g) => {
    const gc = contiguousBase(g);
    const gb = gc.storage("conv2d").buf!;
    const dx = x.requiresGrad ? fromBuf(b, b.conv2dGradInput(gb, fc.storage("conv2d").buf!, g.dtype, p), x.shape, g.dtype) : null;
    const df = f.requiresGrad ? fromBuf(b, b.conv2dGradFilter(xc.storage("conv2d").buf!, gb, g.dtype, p), f.shape, g.dtype) : null;
    if (gc !== g) gc.dispose();
    return [dx, df];
  });
}

export interface Pool2dOptions {
  strides?: Pair;
  padding?: "valid" | "same";
}

function pool(op: "max" | "avg", x: Tensor, poolSize: Pair, opts: Pool2dOptions): Tensor {
  const name = op === "max" ? "maxPool2d" : "avgPool2d";
  if (x.ndim !== 4) throw new Error(`${name}: input must be [batch, height, width, channels] (NHWC), got ${fmt(x.shape)}`);
  checkFloat(name, x);
  const [kh, kw] = pair(name, "poolSize", poolSize);
  const [sh, sw] = pair(name, "strides", opts.strides ?? [kh, kw]);
  const padding = opts.padding ?? "valid";
  const [n, h, w, c] = x.shape;
  const gy = axisGeometry(name, h, kh, sh, 1, padding, 0);
  const gx = axisGeometry(name, w, kw, sw, 1, padding, 1);
  const p: Pool2dParams = { n, h, w, c, kh, kw, oh: gy.out, ow: gx.out, strideH: sh, strideW: sw, padTop: gy.before, padLeft: gx.before };
  const b = backendOf(name, x);
  const xc = contiguousBase(x);
  const y = fromBuf(b, b.pool2d(op, xc.storage(name).buf!, x.dtype, p), [n, p.oh, p.ow, c], x.dtype);
  return record(y, name, [x], (g) => {
    const gc = contiguousBase(g);
    const dx = fromBuf(b, b.pool2dGrad(op, xc.storage(name).buf!, gc.storage(name).buf!, g.dtype, p), x.shape, g.dtype);
    if (gc !== g) gc.dispose();
    return [dx];
  });
}

/** Max over windows of `poolSize` (strides default to the window, padding "valid"). */
export const maxPool2d = (x: Tensor, poolSize: Pair = 2, opts: Pool2dOptions = {}) => pool("max", x, poolSize, opts);
/** Mean over windows; with padding "same" the border windows average only real pixels (like Keras). */
export const avgPool2d = (x: Tensor, poolSize: Pair = 2, opts: Pool2dOptions = {}) => pool("avg", x, poolSize, opts);
