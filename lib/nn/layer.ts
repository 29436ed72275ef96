/**
 * Layer: the unit models are built from. A layer creates its weights in `build(inputShape)` with
 * `addWeight`, computes in `call(x, {training})`, and knows its input shape once built, so that a
 * wrong input fails with the layer's name and both shapes. Custom layers subclass it:
 *
 *   class Scale extends Layer {
 *     w!: Tensor;
 *     override build(inputShape: Shape) { this.w = this.addWeight("w", [inputShape.at(-1)!], "ones"); }
 *     call(x: Tensor) { return x.mul(this.w); }
 *   }
 */
import type { Tensor } from "../tensor.js";
import { keep, tidy } from "../memory.js";
import { noGrad } from "../autograd/mode.js";
import { zeros } from "../ops/creation.js";
import { fmt } from "../shape.js";
import { getActivation, activationName, type ActivationFn, type ActivationIdentifier } from "./activations.js";
import { getInitializer, type InitializerIdentifier } from "./initializers.js";
import { applyRegularizer, getRegularizer, type Regularizer, type RegularizerIdentifier } from "./regularizers.js";
import { snakeCase, uniqueName } from "./identifiers.js";

/** A shape with the batch axis first; null where a size is not fixed (always the batch). */
export type Shape = (number | null)[];

export interface LayerArgs {
  name?: string;
  /** Shape of one example (no batch axis), for the first layer of a model: `inputShape: [28, 28]`. */
  inputShape?: readonly number[];
  /** Shorthand for `inputShape: [inputDim]`. */
  inputDim?: number;
  /** Fixed batch size of the input (rarely needed). */
  batchSize?: number;
  trainable?: boolean;
}

export interface LayerWeight {
  /** Name inside the layer: "kernel", "bias", "moving_mean", ... */
  name: string;
  value: Tensor;
  trainable: boolean;
  regularizer: Regularizer | null;
}

export interface CallOptions {
  training?: boolean;
}

export function formatShape(shape: readonly (number | null)[]): string {
  return `(${shape.map((d) => (d === null ? "None" : String(d))).join(", ")}${shape.length === 1 ? "," : ""})`;
}

export abstract class Layer {
  name: string;
  /** Whether the optimizer updates this layer's weights. */
  trainable: boolean;
  built = false;
  /** Input shape given at construction (batch axis first, null batch), if any. */
  readonly batchInputShape: Shape | null;
  /** Input and output shapes, known once built. */
  inputShape: Shape | null = null;
  outputShape: Shape | null = null;
  /** @internal */ readonly _weights: LayerWeight[] = [];

  constructor(args: LayerArgs = {}) {
    this.name = args.name ?? uniqueName(snakeCase(this.className));
    this.trainable = args.trainable ?? true;
    const shape = args.inputShape ?? (args.inputDim !== undefined ? [args.inputDim] : undefined);
    if (shape) {
      if (!shape.every((d) => Number.isInteger(d) && d > 0)) {
        throw new Error(`${this.name} (${this.className}): inputShape must be positive integers (one example, no batch axis), got [${shape.join(", ")}]`);
      }
      this.batchInputShape = [args.batchSize ?? null, ...shape];
    } else this.batchInputShape = null;
  }

  /** The class name used in summaries and saved configs. */
  get className(): string {
    return this.constructor.name;
  }

  /** Creates the weights for an input of `inputShape` (batch axis first). Override in layers with weights. */
  build(_inputShape: Shape): void {}

  /** The computation. `training` is true inside fit (Dropout and BatchNormalization behave differently). */
  abstract call(x: Tensor, opts?: CallOptions): Tensor;

  /** Output shape for an input shape; the default runs the layer once on zeros with batch 1. */
  computeOutputShape(inputShape: Shape): Shape {
    const probe = inputShape.map((d) => d ?? 1);
    const out = noGrad(() => tidy(() => [...this.call(zeros(probe), { training: false }).shape]));
    return [inputShape[0], ...out.slice(1)];
  }

  /**
   * Which input axes must keep the sizes the layer was built for: "all" (default) or only the
   * last (layers that work on any leading shape, like Dense).
   */
  protected checkedAxes(): "all" | "last" | "none" {
    return "all";
  }

  /** Creates a weight (kept across tidy scopes) named `<layer>/<name>`. */
  addWeight(name: string, shape: readonly number[], initializer: InitializerIdentifier = "glorot_uniform",
    opts: { trainable?: boolean; regularizer?: RegularizerIdentifier | null } = {}): Tensor {
    if (this._weights.some((w) => w.name === name)) throw new Error(`${this.name}.addWeight: a weight named '${name}' already exists`);
    const value = keep(noGrad(() => getInitializer(initializer).call(shape)));
    value.name = `${this.name}/${name}`;
    const trainable = opts.trainable ?? true;
    value.requiresGrad = trainable && this.trainable;
    this._weights.push({ name, value, trainable, regularizer: getRegularizer(opts.regularizer) });
    return value;
  }

  /** Builds the layer for `inputShape` (batch first) unless already built. */
  buildFor(inputShape: Shape): void {
    if (this.built) return;
    if (this.batchInputShape) this.checkShape(this.batchInputShape, inputShape, "all");
    this.build(inputShape);
    this.inputShape = [...inputShape];
    this.built = true;
    this.outputShape = this.computeOutputShape(inputShape);
  }

  private checkShape(expected: Shape, got: readonly (number | null)[], axes: "all" | "last" | "none"): void {
    if (axes === "none") return;
    const bad = axes === "all"
      ? expected.length !== got.length || expected.some((d, i) => i > 0 && d !== null && got[i] !== null && d !== got[i])
      : expected.at(-1) !== got.at(-1);
    if (bad) {
      throw new Error(`${this.name} (${this.className}): expected input of shape ${formatShape(expected)} but got ${fmt(got.map((d) => d ?? -1))}` +
        (axes === "all" && expected.length !== got.length ? ` (rank ${expected.length} ≠ ${got.length})` : "") +
        "; check the inputShape of the first layer and the shape of your data");
    }
  }

  /** Builds on first use, checks the input shape, and runs `call`. */
  apply(x: Tensor, opts: CallOptions = {}): Tensor {
    this.prepare(x);
    return this.call(x, { training: opts.training ?? false });
  }

  /** Builds for x's shape on first use, else checks x against the built input shape. */
  protected prepare(x: Tensor): void {
    if (!this.built) this.buildFor([null, ...x.shape.slice(1)]);
    else if (this.inputShape) this.checkShape(this.inputShape, x.shape, this.checkedAxes());
  }

  /** Like apply, but for layers ending in softmax/sigmoid also the values before the activation (for stable losses). */
  applyWithLogits(x: Tensor, opts: CallOptions = {}): { output: Tensor; logits: Tensor | null; activation: string | null } {
    return { output: this.apply(x, opts), logits: null, activation: null };
  }

  get weights(): Tensor[] {
    return this._weights.map((w) => w.value);
  }
  get trainableWeights(): Tensor[] {
    return this.trainable ? this._weights.filter((w) => w.trainable).map((w) => w.value) : [];
  }
  get nonTrainableWeights(): Tensor[] {
    return this._weights.filter((w) => !this.trainable || !w.trainable).map((w) => w.value);
  }
  /** Turns training of this layer's weights on or off (e.g. to freeze a pretrained layer). */
  setTrainable(on: boolean): void {
    this.trainable = on;
    for (const w of this._weights) w.value.requiresGrad = on && w.trainable;
  }

  countParams(): number {
    return this._weights.reduce((n, w) => n + w.value.size, 0);
  }

  /** Copies of the weight values, in creation order. */
  async getWeights(): Promise<Float32Array[]> {
    return Promise.all(this._weights.map(async (w) => Float32Array.from(await w.value.data())));
  }

  /** Replaces the weight values (same order and shapes as `weights`). */
  setWeights(values: readonly Tensor[]): void {
    if (values.length !== this._weights.length) {
      throw new Error(`${this.name}.setWeights: the layer has ${this._weights.length} weights (${this._weights.map((w) => w.name).join(", ")}), got ${values.length} values`);
    }
    values.forEach((v, i) => {
      const w = this._weights[i];
      if (v.shape.length !== w.value.shape.length || v.shape.some((d, j) => d !== w.value.shape[j])) {
        throw new Error(`${this.name}.setWeights: weight '${w.name}' has shape ${fmt(w.value.shape)}, the value ${fmt(v.shape)}`);
      }
      noGrad(() => tidy(() => { w.value.assign(v.dtype === w.value.dtype ? v.contiguous() : v.cast(w.value.dtype)); }));
    });
  }

  /** Regularization penalties of this layer's weights (scalars), to add to the loss. */
  regularizationLosses(): Tensor[] {
    return this._weights.filter((w) => w.regularizer).map((w) => applyRegularizer(w.regularizer!, w.value));
  }

  /** Constructor arguments to rebuild the layer (saved in the model's config). */
  getConfig(): Record<string, unknown> {
    const c: Record<string, unknown> = { name: this.name, trainable: this.trainable };
    if (this.batchInputShape) c.batchInputShape = this.batchInputShape;
    return c;
  }

  /** Frees the weights. */
  dispose(): void {
    for (const w of this._weights) w.value.dispose();
  }

  toString(): string {
    return `${this.className} '${this.name}'${this.outputShape ? ` → ${formatShape(this.outputShape)}` : ""}, ${this.countParams()} params`;
  }
}

/** Base for layers with an optional activation applied after a linear part (Dense, Conv). */
export abstract class ActivatedLayer extends Layer {
  readonly activation: ActivationFn;
  readonly activationId: ActivationIdentifier;
  /** The activation's saved name (null for an unregistered function). */
  private readonly activationKey: string | null;

  constructor(args: LayerArgs & { activation?: ActivationIdentifier }) {
    super(args);
    this.activationId = args.activation ?? null;
    this.activation = getActivation(args.activation);
    this.activationKey = activationName(this.activationId);
  }

  /** The layer before its activation. */
  abstract callLinear(x: Tensor, opts?: CallOptions): Tensor;

  call(x: Tensor, opts: CallOptions = {}): Tensor {
    const y = this.callLinear(x, opts);
    return this.activationKey === "linear" ? y : this.activation(y);
  }

  override applyWithLogits(x: Tensor, opts: CallOptions = {}): { output: Tensor; logits: Tensor | null; activation: string | null } {
    const name = this.activationKey;
    if (name !== "softmax" && name !== "sigmoid") return super.applyWithLogits(x, opts);
    this.prepare(x);
    const logits = this.callLinear(x, { training: opts.training ?? false });
    return { output: this.activation(logits), logits, activation: name };
  }

  override getConfig(): Record<string, unknown> {
    const name = this.activationKey;
    if (name === null) {
      throw new Error(`${this.name}: its activation is an unregistered function; register it with registerActivation(name, fn) to save the model`);
    }
    return { ...super.getConfig(), activation: name };
  }
}
