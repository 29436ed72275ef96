/** Convolution and pooling layers (NHWC / NWC, like Keras' channels_last). */
import type { Tensor } from "../../tensor.js";
import * as E from "../../ops/elementwise.js";
import { conv2d, maxPool2d, avgPool2d } from "../../ops/conv.js";
import { max, mean } from "../../ops/reduce.js";
import { fmt } from "../../shape.js";
import { ActivatedLayer, Layer, type LayerArgs, type Shape } from "../layer.js";
import type { ActivationIdentifier } from "../activations.js";
import { getInitializer, serializeInitializer, type Initializer, type InitializerIdentifier } from "../initializers.js";
import { getRegularizer, serializeRegularizer, type Regularizer, type RegularizerIdentifier } from "../regularizers.js";
import { registerLayer } from "../registry.js";

type Pair = number | readonly [number, number];
const pair = (v: Pair): [number, number] => (typeof v === "number" ? [v, v] : [v[0], v[1]]);

/** Output size along one axis for "valid"/"same" padding (TensorFlow's rule). */
function convOut(size: number | null, k: number, stride: number, dilation: number, padding: "valid" | "same"): number | null {
  if (size === null) return null;
  if (padding === "same") return Math.ceil(size / stride);
  return Math.floor((size - (dilation * (k - 1) + 1)) / stride) + 1;
}

export interface ConvArgs extends LayerArgs {
  strides?: Pair;
  padding?: "valid" | "same";
  dilationRate?: Pair;
  activation?: ActivationIdentifier;
  useBias?: boolean;
  kernelInitializer?: InitializerIdentifier;
  biasInitializer?: InitializerIdentifier;
  kernelRegularizer?: RegularizerIdentifier;
  biasRegularizer?: RegularizerIdentifier;
}

abstract class ConvBase extends ActivatedLayer {
  readonly filters: number;
  readonly padding: "valid" | "same";
  readonly useBias: boolean;
  readonly kernelInitializer: Initializer;
  readonly biasInitializer: Initializer;
  readonly kernelRegularizer: Regularizer | null;
  readonly biasRegularizer: Regularizer | null;
  kernel!: Tensor;
  bias: Tensor | null = null;

  constructor(filters: number, args: ConvArgs) {
    super(args);
    if (!Number.isInteger(filters) || filters <= 0) throw new Error(`${this.className}: filters must be a positive integer, got ${filters}`);
    this.filters = filters;
    this.padding = args.padding ?? "valid";
    if (this.padding !== "valid" && this.padding !== "same") throw new Error(`${this.className}: padding must be "valid" or "same", got ${JSON.stringify(args.padding)}`);
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = getInitializer(args.kernelInitializer ?? "glorot_uniform");
    this.biasInitializer = getInitializer(args.biasInitializer ?? "zeros");
    this.kernelRegularizer = getRegularizer(args.kernelRegularizer);
    this.biasRegularizer = getRegularizer(args.biasRegularizer);
  }

  protected makeWeights(kernelShape: number[]): void {
    this.kernel = this.addWeight("kernel", kernelShape, this.kernelInitializer, { regularizer: this.kernelRegularizer });
    if (this.useBias) this.bias = this.addWeight("bias", [this.filters], this.biasInitializer, { regularizer: this.biasRegularizer });
  }

  protected channelsOf(inputShape: Shape, rank: number): number {
    const c = inputShape.at(-1);
    if (inputShape.length !== rank || c === null || c === undefined) {
      throw new Error(`${this.name} (${this.className}): expects input of rank ${rank} (batch, ${rank === 4 ? "height, width" : "steps"}, channels) with known channels, got ${fmt(inputShape.map((d) => d ?? -1))}` +
        (rank === 4 && inputShape.length === 3 ? "; add a channel axis, e.g. inputShape: [28, 28, 1] and x.reshape([-1, 28, 28, 1])" : ""));
    }
    return c;
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(), filters: this.filters, padding: this.padding, useBias: this.useBias,
      kernelInitializer: serializeInitializer(this.kernelInitializer), biasInitializer: serializeInitializer(this.biasInitializer),
      kernelRegularizer: serializeRegularizer(this.kernelRegularizer), biasRegularizer: serializeRegularizer(this.biasRegularizer),
    };
  }
}

/** 2-D convolution over [batch, height, width, channels]; kernel [kh, kw, inChannels, filters]. */
export class Conv2D extends ConvBase {
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly dilationRate: [number, number];

  constructor(filters: number, kernelSize: Pair, args: ConvArgs = {}) {
    super(filters, args);
    this.kernelSize = pair(kernelSize);
    this.strides = pair(args.strides ?? 1);
    this.dilationRate = pair(args.dilationRate ?? 1);
  }
  override build(inputShape: Shape): void {
    this.makeWeights([...this.kernelSize, this.channelsOf(inputShape, 4), this.filters]);
  }
  override computeOutputShape(s: Shape): Shape {
    return [s[0], convOut(s[1], this.kernelSize[0], this.strides[0], this.dilationRate[0], this.padding),
      convOut(s[2], this.kernelSize[1], this.strides[1], this.dilationRate[1], this.padding), this.filters];
  }
  callLinear(x: Tensor): Tensor {
    const y = conv2d(x, this.kernel, { strides: this.strides, padding: this.padding, dilation: this.dilationRate });
    return this.bias ? E.add(y, this.bias) : y;
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), kernelSize: this.kernelSize, strides: this.strides, dilationRate: this.dilationRate };
  }
}
registerLayer("Conv2D", (c) => new Conv2D(c.filters as number, c.kernelSize as [number, number], c as ConvArgs));

/** 1-D convolution over [batch, steps, channels]; kernel [k, inChannels, filters]. */
export class Conv1D extends ConvBase {
  readonly kernelSize: number;
  readonly strides: number;
  readonly dilationRate: number;

  constructor(filters: number, kernelSize: number, args: Omit<ConvArgs, "strides" | "dilationRate"> & { strides?: number; dilationRate?: number } = {}) {
    super(filters, args);
    this.kernelSize = kernelSize;
    this.strides = args.strides ?? 1;
    this.dilationRate = args.dilationRate ?? 1;
  }
  override build(inputShape: Shape): void {
    this.makeWeights([this.kernelSize, this.channelsOf(inputShape, 3), this.filters]);
  }
  override computeOutputShape(s: Shape): Shape {
    return [s[0], convOut(s[1], this.kernelSize, this.strides, this.dilationRate, this.padding), this.filters];
  }
  callLinear(x: Tensor): Tensor {
    // A 1-D convolution is a 2-D one over an image of height 1.
    const [n, t, c] = x.shape;
    const k = this.kernel.reshape([1, this.kernelSize, c, this.filters]);
    const y2 = conv2d(x.reshape([n, 1, t, c]), k, { strides: [1, this.strides], padding: this.padding, dilation: [1, this.dilationRate] });
    const y = y2.reshape([n, y2.shape[2], this.filters]);
    return this.bias ? E.add(y, this.bias) : y;
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), kernelSize: this.kernelSize, strides: this.strides, dilationRate: this.dilationRate };
  }
}
registerLayer("Conv1D", (c) => new Conv1D(c.filters as number, c.kernelSize as number, c as ConstructorParameters<typeof Conv1D>[2]));

export interface PoolArgs extends LayerArgs {
  strides?: Pair;
  padding?: "valid" | "same";
}

abstract class Pool2D extends Layer {
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: "valid" | "same";
  constructor(poolSize: Pair, args: PoolArgs) {
    super(args);
    this.poolSize = pair(poolSize);
    this.strides = pair(args.strides ?? this.poolSize);
    this.padding = args.padding ?? "valid";
  }
  override computeOutputShape(s: Shape): Shape {
    if (s.length !== 4) throw new Error(`${this.name} (${this.className}): expects input of rank 4 (batch, height, width, channels), got ${fmt(s.map((d) => d ?? -1))}`);
    return [s[0], convOut(s[1], this.poolSize[0], this.strides[0], 1, this.padding), convOut(s[2], this.poolSize[1], this.strides[1], 1, this.padding), s[3]];
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), poolSize: this.poolSize, strides: this.strides, padding: this.padding };
  }
}

/** Max over poolSize windows (default 2×2, strides = poolSize). */
export class MaxPooling2D extends Pool2D {
  constructor(poolSize: Pair = 2, args: PoolArgs = {}) {
    super(poolSize, args);
  }
  call(x: Tensor): Tensor {
    return maxPool2d(x, this.poolSize, { strides: this.strides, padding: this.padding });
  }
}
registerLayer("MaxPooling2D", (c) => new MaxPooling2D(c.poolSize as [number, number], c as PoolArgs));

/** Mean over poolSize windows (default 2×2, strides = poolSize). */
export class AveragePooling2D extends Pool2D {
  constructor(poolSize: Pair = 2, args: PoolArgs = {}) {
    super(poolSize, args);
  }
  call(x: Tensor): Tensor {
    return avgPool2d(x, this.poolSize, { strides: this.strides, padding: this.padding });
  }
}
registerLayer("AveragePooling2D", (c) => new AveragePooling2D(c.poolSize as [number, number], c as PoolArgs));

abstract class Pool1D extends Layer {
  readonly poolSize: number;
  readonly strides: number;
  readonly padding: "valid" | "same";
  constructor(poolSize: number, args: Omit<PoolArgs, "strides"> & { strides?: number }) {
    super(args);
    this.poolSize = poolSize;
    this.strides = args.strides ?? poolSize;
    this.padding = args.padding ?? "valid";
  }
  override computeOutputShape(s: Shape): Shape {
    return [s[0], convOut(s[1], this.poolSize, this.strides, 1, this.padding), s[2]];
  }
  protected pool1d(x: Tensor, f: typeof maxPool2d): Tensor {
    const [n, t, c] = x.shape;
    const y = f(x.reshape([n, 1, t, c]), [1, this.poolSize], { strides: [1, this.strides], padding: this.padding });
    return y.reshape([n, y.shape[2], c]);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), poolSize: this.poolSize, strides: this.strides, padding: this.padding };
  }
}
export class MaxPooling1D extends Pool1D {
  constructor(poolSize = 2, args: ConstructorParameters<typeof Pool1D>[1] = {}) {
    super(poolSize, args);
  }
  call(x: Tensor): Tensor {
    return this.pool1d(x, maxPool2d);
  }
}
registerLayer("MaxPooling1D", (c) => new MaxPooling1D(c.poolSize as number, c));
export class AveragePooling1D extends Pool1D {
  constructor(poolSize = 2, args: ConstructorParameters<typeof Pool1D>[1] = {}) {
    super(poolSize, args);
  }
  call(x: Tensor): Tensor {
    return this.pool1d(x, avgPool2d);
  }
}
registerLayer("AveragePooling1D", (c) => new AveragePooling1D(c.poolSize as number, c));

/** Mean over all spatial axes: [batch, h, w, c] → [batch, c] (or [batch, steps, c] → [batch, c] for the 1-D one). */
export class GlobalAveragePooling2D extends Layer {
  call(x: Tensor): Tensor {
    return mean(x, [1, 2]);
  }
  override computeOutputShape(s: Shape): Shape {
    return [s[0], s[3]];
  }
}
registerLayer("GlobalAveragePooling2D", (c) => new GlobalAveragePooling2D(c));
export class GlobalMaxPooling2D extends Layer {
  call(x: Tensor): Tensor {
    return max(x, [1, 2]);
  }
  override computeOutputShape(s: Shape): Shape {
    return [s[0], s[3]];
  }
}
registerLayer("GlobalMaxPooling2D", (c) => new GlobalMaxPooling2D(c));
export class GlobalAveragePooling1D extends Layer {
  call(x: Tensor): Tensor {
    return mean(x, 1);
  }
  override computeOutputShape(s: Shape): Shape {
    return [s[0], s[2]];
  }
}
registerLayer("GlobalAveragePooling1D", (c) => new GlobalAveragePooling1D(c));
export class GlobalMaxPooling1D extends Layer {
  call(x: Tensor): Tensor {
    return max(x, 1);
  }
  override computeOutputShape(s: Shape): Shape {
    return [s[0], s[2]];
  }
}
registerLayer("GlobalMaxPooling1D", (c) => new GlobalMaxPooling1D(c));
