/** BatchNormalization and LayerNormalization over the last axis (channels last), with Keras' defaults. */
import type { Tensor } from "../../tensor.js";
import * as E from "../../ops/elementwise.js";
import { mean } from "../../ops/reduce.js";
import { noGrad } from "../../autograd/mode.js";
import { fmt } from "../../shape.js";
import { Layer, type CallOptions, type LayerArgs, type Shape } from "../layer.js";
import { getInitializer, serializeInitializer, type Initializer, type InitializerIdentifier } from "../initializers.js";
import { registerLayer } from "../registry.js";

export interface NormalizationArgs extends LayerArgs {
  /** Only the last axis (-1) is supported: features/channels last, as Keras' default. */
  axis?: number;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  betaInitializer?: InitializerIdentifier;
  gammaInitializer?: InitializerIdentifier;
}

function checkAxis(layer: Layer, axis: number | undefined): void {
  if (axis !== undefined && axis !== -1) {
    throw new Error(`${layer.name} (${layer.className}): only axis -1 (the last, channels-last) is supported, got ${axis}; transpose the input so the normalized axis is last`);
  }
}

function lastDim(layer: Layer, s: Shape): number {
  const d = s.at(-1);
  if (d === null || d === undefined) throw new Error(`${layer.name} (${layer.className}): needs a known last dimension, got ${fmt(s.map((v) => v ?? -1))}`);
  return d;
}

/**
 * Normalizes each feature with the batch's mean and variance while training (and updates moving
 * averages: moving = moving·momentum + batch·(1 − momentum)); with the moving averages at inference.
 */
export class BatchNormalization extends Layer {
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly betaInitializer: Initializer;
  readonly gammaInitializer: Initializer;
  gamma: Tensor | null = null;
  beta: Tensor | null = null;
  movingMean!: Tensor;
  movingVariance!: Tensor;

  constructor(args: NormalizationArgs & { momentum?: number } = {}) {
    super(args);
    checkAxis(this, args.axis);
    this.momentum = args.momentum ?? 0.99;
    this.epsilon = args.epsilon ?? 1e-3;
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
    this.betaInitializer = getInitializer(args.betaInitializer ?? "zeros");
    this.gammaInitializer = getInitializer(args.gammaInitializer ?? "ones");
  }
  override build(inputShape: Shape): void {
    const c = lastDim(this, inputShape);
    if (this.scale) this.gamma = this.addWeight("gamma", [c], this.gammaInitializer);
    if (this.center) this.beta = this.addWeight("beta", [c], this.betaInitializer);
    this.movingMean = this.addWeight("moving_mean", [c], "zeros", { trainable: false });
    this.movingVariance = this.addWeight("moving_variance", [c], "ones", { trainable: false });
  }
  protected override checkedAxes(): "last" {
    return "last";
  }
  override computeOutputShape(s: Shape): Shape {
    return s;
  }
  call(x: Tensor, opts: CallOptions = {}): Tensor {
    let m: Tensor, v: Tensor;
    if (opts.training) {
      const axes = x.shape.slice(0, -1).map((_, i) => i);
      m = mean(x, axes);
      v = mean(E.square(E.sub(x, m)), axes);
      const mom = this.momentum;
      noGrad(() => {
        const dt = this.movingMean.dtype;
        this.movingMean.assign(E.cast(E.add(E.mul(this.movingMean, mom), E.mul(m, 1 - mom)), dt));
        this.movingVariance.assign(E.cast(E.add(E.mul(this.movingVariance, mom), E.mul(v, 1 - mom)), dt));
      });
    } else {
      m = this.movingMean;
      v = this.movingVariance;
    }
    let y = E.mul(E.sub(x, m), E.rsqrt(E.add(v, this.epsilon)));
    if (this.gamma) y = E.mul(y, this.gamma);
    if (this.beta) y = E.add(y, this.beta);
    return y;
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), axis: -1, momentum: this.momentum, epsilon: this.epsilon, center: this.center, scale: this.scale,
      betaInitializer: serializeInitializer(this.betaInitializer), gammaInitializer: serializeInitializer(this.gammaInitializer) };
  }
}
registerLayer("BatchNormalization", (c) => new BatchNormalization(c));

/** Normalizes each example over its last axis: (x − mean)/√(var + ε)·gamma + beta. */
export class LayerNormalization extends Layer {
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly betaInitializer: Initializer;
  readonly gammaInitializer: Initializer;
  gamma: Tensor | null = null;
  beta: Tensor | null = null;

  constructor(args: NormalizationArgs = {}) {
    super(args);
    checkAxis(this, args.axis);
    this.epsilon = args.epsilon ?? 1e-3;
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
    this.betaInitializer = getInitializer(args.betaInitializer ?? "zeros");
    this.gammaInitializer = getInitializer(args.gammaInitializer ?? "ones");
  }
  override build(inputShape: Shape): void {
    const c = lastDim(this, inputShape);
    if (this.scale) this.gamma = this.addWeight("gamma", [c], this.gammaInitializer);
    if (this.center) this.beta = this.addWeight("beta", [c], this.betaInitializer);
  }
  protected override checkedAxes(): "last" {
    return "last";
  }
  override computeOutputShape(s: Shape): Shape {
    return s;
  }
  call(x: Tensor): Tensor {
    const m = mean(x, -1, true);
    const d = E.sub(x, m);
    const v = mean(E.square(d), -1, true);
    let y = E.mul(d, E.rsqrt(E.add(v, this.epsilon)));
    if (this.gamma) y = E.mul(y, this.gamma);
    if (this.beta) y = E.add(y, this.beta);
    return y;
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), axis: -1, epsilon: this.epsilon, center: this.center, scale: this.scale,
      betaInitializer: serializeInitializer(this.betaInitializer), gammaInitializer: serializeInitializer(this.gammaInitializer) };
  }
}
registerLayer("LayerNormalization", (c) => new LayerNormalization(c));
