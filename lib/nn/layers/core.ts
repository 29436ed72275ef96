/** Dense, Activation, Flatten, Reshape, Dropout, InputLayer. */
import type { Tensor } from "../../tensor.js";
import * as E from "../../ops/elementwise.js";
import { matmul, matmulHalf, type MatmulPrecision } from "../../ops/linalg.js";
import { rand } from "../../ops/creation.js";
import { fmt } from "../../shape.js";
import { ActivatedLayer, Layer, type CallOptions, type LayerArgs, type Shape } from "../layer.js";
import { activationName, getActivation, type ActivationIdentifier } from "../activations.js";
import { getInitializer, serializeInitializer, type Initializer, type InitializerIdentifier } from "../initializers.js";
import { getRegularizer, serializeRegularizer, type Regularizer, type RegularizerIdentifier } from "../regularizers.js";
import { registerLayer } from "../registry.js";

export interface DenseArgs extends LayerArgs {
  activation?: ActivationIdentifier;
  useBias?: boolean;
  kernelInitializer?: InitializerIdentifier;
  biasInitializer?: InitializerIdentifier;
  kernelRegularizer?: RegularizerIdentifier;
  biasRegularizer?: RegularizerIdentifier;
  /**
   * "float16": x·kernel runs as matmulHalf: both operands rounded to float16, float32 accumulation (on
   * webgpu the operands are read as float16). The kernel, the bias and the output stay float32,
   * gradients are straight-through. Default "float32".
   */
  precision?: MatmulPrecision;
}

/** Fully connected layer: activation(x·kernel + bias), on the last axis of x. */
export class Dense extends ActivatedLayer {
  readonly units: number;
  readonly useBias: boolean;
  readonly kernelInitializer: Initializer;
  readonly biasInitializer: Initializer;
  readonly kernelRegularizer: Regularizer | null;
  readonly biasRegularizer: Regularizer | null;
  readonly precision: MatmulPrecision;
  kernel!: Tensor;
  bias: Tensor | null = null;

  constructor(units: number, args: DenseArgs = {}) {
    super(args);
    if (!Number.isInteger(units) || units <= 0) throw new Error(`Dense: units must be a positive integer, got ${units}`);
    this.units = units;
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = getInitializer(args.kernelInitializer ?? "glorot_uniform");
    this.biasInitializer = getInitializer(args.biasInitializer ?? "zeros");
    this.kernelRegularizer = getRegularizer(args.kernelRegularizer);
    this.biasRegularizer = getRegularizer(args.biasRegularizer);
    const precision = args.precision ?? "float32";
    if (precision !== "float32" && precision !== "float16") {
      throw new Error(`Dense: precision must be "float32" or "float16", got ${JSON.stringify(precision)}`);
    }
    this.precision = precision;
  }

  override build(inputShape: Shape): void {
    const inDim = inputShape.at(-1);
    if (inputShape.length < 2 || inDim === null || inDim === undefined) {
      throw new Error(`${this.name} (Dense): needs an input with a known last dimension, got ${fmt(inputShape.map((d) => d ?? -1))}`);
    }
    this.kernel = this.addWeight("kernel", [inDim, this.units], this.kernelInitializer, { regularizer: this.kernelRegularizer });
    if (this.useBias) this.bias = this.addWeight("bias", [this.units], this.biasInitializer, { regularizer: this.biasRegularizer });
  }

  protected override checkedAxes(): "last" {
    return "last";
  }

  override computeOutputShape(inputShape: Shape): Shape {
    return [...inputShape.slice(0, -1), this.units];
  }

  callLinear(x: Tensor): Tensor {
    let y: Tensor;
    const product = this.precision === "float16" ? matmulHalf : matmul;
    if (x.ndim === 2) y = product(x, this.kernel);
    else {
      const lead = x.shape.slice(0, -1);
      y = product(x.reshape([-1, x.shape[x.ndim - 1]]), this.kernel).reshape([...lead, this.units]);
    }
    return this.bias ? E.add(y, this.bias) : y;
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(), units: this.units, useBias: this.useBias,
      kernelInitializer: serializeInitializer(this.kernelInitializer), biasInitializer: serializeInitializer(this.biasInitializer),
      kernelRegularizer: serializeRegularizer(this.kernelRegularizer), biasRegularizer: serializeRegularizer(this.biasRegularizer),
      precision: this.precision,
    };
  }
}
registerLayer("Dense", (c) => new Dense(c.units as number, c));

/** Applies an activation function: `new Activation("softmax")`. */
export class Activation extends Layer {
  readonly activationId: ActivationIdentifier;
  constructor(activation: ActivationIdentifier, args: LayerArgs = {}) {
    super(args);
    getActivation(activation);
    this.activationId = activation;
  }
  call(x: Tensor): Tensor {
    return getActivation(this.activationId)(x);
  }
  override computeOutputShape(inputShape: Shape): Shape {
    return inputShape;
  }
  protected override checkedAxes(): "none" {
    return "none";
  }
  override applyWithLogits(x: Tensor, opts: CallOptions = {}) {
    const name = activationName(this.activationId);
    if (name !== "softmax" && name !== "sigmoid") return super.applyWithLogits(x, opts);
    this.prepare(x);
    return { output: this.call(x), logits: x, activation: name };
  }
  override getConfig(): Record<string, unknown> {
    const name = activationName(this.activationId);
    if (name === null) throw new Error(`${this.name}: its activation is an unregistered function; register it with registerActivation(name, fn) to save the model`);
    return { ...super.getConfig(), activation: name };
  }
}
registerLayer("Activation", (c) => new Activation(c.activation as string, c));

/** Flattens each example to one axis: [batch, ...] → [batch, product]. */
export class Flatten extends Layer {
  constructor(args: LayerArgs = {}) {
    super(args);
  }
  call(x: Tensor): Tensor {
    return x.reshape([x.shape[0], -1]);
  }
  override computeOutputShape(inputShape: Shape): Shape {
    const rest = inputShape.slice(1);
    return [inputShape[0], rest.some((d) => d === null) ? null : rest.reduce<number>((a, b) => a * (b as number), 1)];
  }
}
registerLayer("Flatten", (c) => new Flatten(c));

/** Reshapes each example to `targetShape` (one entry may be -1). */
export class Reshape extends Layer {
  readonly targetShape: number[];
  constructor(targetShape: readonly number[], args: LayerArgs = {}) {
    super(args);
    this.targetShape = [...targetShape];
  }
  call(x: Tensor): Tensor {
    const n = x.size / Math.max(1, x.shape[0]);
    const known = this.targetShape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const okay = this.targetShape.includes(-1) ? n % known === 0 : n === known;
    if (!okay) throw new Error(`${this.name} (Reshape): cannot reshape examples of shape ${fmt(x.shape.slice(1))} (${n} values) to ${fmt(this.targetShape)}`);
    return x.reshape([x.shape[0], ...this.targetShape]);
  }
  override computeOutputShape(inputShape: Shape): Shape {
    const rest = inputShape.slice(1) as number[];
    const n = rest.reduce((a, b) => a * b, 1);
    const known = this.targetShape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    return [inputShape[0], ...this.targetShape.map((d) => (d === -1 ? n / known : d))];
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), targetShape: this.targetShape };
  }
}
registerLayer("Reshape", (c) => new Reshape(c.targetShape as number[], c));

/** Zeroes a fraction `rate` of the inputs during training and scales the rest by 1/(1-rate); identity otherwise. */
export class Dropout extends Layer {
  readonly rate: number;
  /** Masks come from the global generator: seed it with manualSeed() for repeatable runs. */
  constructor(rate: number, args: LayerArgs = {}) {
    super(args);
    if (!(rate >= 0 && rate < 1)) throw new Error(`Dropout: rate must be in [0, 1), got ${rate}`);
    this.rate = rate;
  }
  call(x: Tensor, opts: CallOptions = {}): Tensor {
    if (!opts.training || this.rate === 0) return x;
    const keepMask = E.ge(rand(x.shape), this.rate);
    return E.where(keepMask, E.div(x, 1 - this.rate), 0);
  }
  override computeOutputShape(inputShape: Shape): Shape {
    return inputShape;
  }
  protected override checkedAxes(): "none" {
    return "none";
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), rate: this.rate };
  }
}
registerLayer("Dropout", (c) => new Dropout(c.rate as number, c));

/** Declares the model's input shape as a layer of its own: `new InputLayer({inputShape: [28, 28]})` or `Input({shape: [28, 28]})`. */
export class InputLayer extends Layer {
  constructor(args: LayerArgs) {
    super(args);
    if (!this.batchInputShape) throw new Error("InputLayer: needs inputShape (the shape of one example), e.g. new InputLayer({inputShape: [28, 28]})");
  }
  call(x: Tensor): Tensor {
    return x;
  }
  override computeOutputShape(inputShape: Shape): Shape {
    return inputShape;
  }
}
registerLayer("InputLayer", (c) => new InputLayer(c));

/** Keras' `Input(shape=...)` for the first entry of a Sequential list. */
export function Input(opts: { shape: readonly number[]; batchSize?: number; name?: string }): InputLayer {
  return new InputLayer({ inputShape: opts.shape, batchSize: opts.batchSize, name: opts.name });
}
