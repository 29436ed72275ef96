/**
 * Recurrent layers over [batch, steps, features]: SimpleRNN, LSTM, GRU with Keras' weight layout
 * (kernel [features, k·units], recurrent_kernel [units, k·units], gates in Keras order) and
 * `returnSequences` for stacking. The input projection of all steps is one matmul.
 */
import type { Tensor } from "../../tensor.js";
import * as E from "../../ops/elementwise.js";
import { matmul } from "../../ops/linalg.js";
import { ones, zeros } from "../../ops/creation.js";
import { concat, split, stack } from "../../ops/movement.js";
import { fmt } from "../../shape.js";
import { Layer, type LayerArgs, type Shape } from "../layer.js";
import { activationName, getActivation, type ActivationFn, type ActivationIdentifier } from "../activations.js";
import { Initializer, getInitializer, serializeInitializer, type InitializerIdentifier } from "../initializers.js";
import { getRegularizer, serializeRegularizer, type Regularizer, type RegularizerIdentifier } from "../regularizers.js";
import { registerLayer } from "../registry.js";

export interface RNNArgs extends LayerArgs {
  activation?: ActivationIdentifier;
  recurrentActivation?: ActivationIdentifier;
  useBias?: boolean;
  /** Return the output of every step [batch, steps, units] (to stack recurrent layers) instead of the last [batch, units]. */
  returnSequences?: boolean;
  /** Process the sequence last step first. */
  goBackwards?: boolean;
  kernelInitializer?: InitializerIdentifier;
  recurrentInitializer?: InitializerIdentifier;
  biasInitializer?: InitializerIdentifier;
  kernelRegularizer?: RegularizerIdentifier;
  recurrentRegularizer?: RegularizerIdentifier;
  biasRegularizer?: RegularizerIdentifier;
}

abstract class RNNBase extends Layer {
  readonly units: number;
  readonly returnSequences: boolean;
  readonly goBackwards: boolean;
  readonly useBias: boolean;
  readonly activationId: ActivationIdentifier;
  readonly recurrentActivationId: ActivationIdentifier;
  protected readonly act: ActivationFn;
  protected readonly recAct: ActivationFn;
  readonly kernelInitializer: Initializer;
  readonly recurrentInitializer: Initializer;
  readonly biasInitializer: Initializer;
  readonly kernelRegularizer: Regularizer | null;
  readonly recurrentRegularizer: Regularizer | null;
  readonly biasRegularizer: Regularizer | null;
  kernel!: Tensor;
  recurrentKernel!: Tensor;
  bias: Tensor | null = null;
  /** Gates per step: 1 (SimpleRNN), 4 (LSTM), 3 (GRU). */
  protected abstract readonly gates: number;

  constructor(units: number, args: RNNArgs) {
    super(args);
    if (!Number.isInteger(units) || units <= 0) throw new Error(`${this.className}: units must be a positive integer, got ${units}`);
    this.units = units;
    this.returnSequences = args.returnSequences ?? false;
    this.goBackwards = args.goBackwards ?? false;
    this.useBias = args.useBias ?? true;
    this.activationId = args.activation === undefined ? "tanh" : args.activation;
    this.recurrentActivationId = args.recurrentActivation ?? "sigmoid";
    this.act = getActivation(this.activationId);
    this.recAct = getActivation(this.recurrentActivationId);
    this.kernelInitializer = getInitializer(args.kernelInitializer ?? "glorot_uniform");
    this.recurrentInitializer = getInitializer(args.recurrentInitializer ?? "orthogonal");
    this.biasInitializer = getInitializer(args.biasInitializer ?? "zeros");
    this.kernelRegularizer = getRegularizer(args.kernelRegularizer);
    this.recurrentRegularizer = getRegularizer(args.recurrentRegularizer);
    this.biasRegularizer = getRegularizer(args.biasRegularizer);
  }

  override build(inputShape: Shape): void {
    const f = inputShape.at(-1);
    if (inputShape.length !== 3 || f === null || f === undefined) {
      throw new Error(`${this.name} (${this.className}): expects input [batch, steps, features] with known features, got ${fmt(inputShape.map((d) => d ?? -1))}` +
        (inputShape.length === 2 ? "; add a feature axis (x.reshape([batch, steps, 1])) or an Embedding layer first" : ""));
    }
    const k = this.gates * this.units;
    this.kernel = this.addWeight("kernel", [f, k], this.kernelInitializer, { regularizer: this.kernelRegularizer });
    this.recurrentKernel = this.addWeight("recurrent_kernel", [this.units, k], this.recurrentInitializer, { regularizer: this.recurrentRegularizer });
    if (this.useBias) this.bias = this.addWeight("bias", this.biasShape(), this.biasInit(), { regularizer: this.biasRegularizer });
  }
  protected biasInit(): Initializer {
    return this.biasInitializer;
  }
  protected biasShape(): number[] {
    return [this.gates * this.units];
  }
  protected override checkedAxes(): "last" {
    return "last";
  }
  override computeOutputShape(s: Shape): Shape {
    return this.returnSequences ? [s[0], s[1], this.units] : [s[0], this.units];
  }

  /** x·kernel (+ input bias) for all steps at once: [batch, steps, gates·units]. */
  protected inputProjection(x: Tensor, bias: Tensor | null): Tensor {
    const [b, t, f] = x.shape;
    const xw = matmul(x.reshape([b * t, f]), this.kernel).reshape([b, t, this.gates * this.units]);
    return bias ? E.add(xw, bias) : xw;
  }

  /** Runs `step` over time; collects outputs per `returnSequences`. */
  protected scan(xw: Tensor, step: (xt: Tensor) => Tensor): Tensor {
    const steps = xw.shape[1];
    const outs: Tensor[] = [];
    let last: Tensor | null = null;
    for (let i = 0; i < steps; i++) {
      const t = this.goBackwards ? steps - 1 - i : i;
      last = step(xw.idx(null, t));
      if (this.returnSequences) outs.push(last);
    }
    if (!last) throw new Error(`${this.name} (${this.className}): got a sequence with 0 steps`);
    return this.returnSequences ? stack(outs, 1) : last;
  }

  override getConfig(): Record<string, unknown> {
    const act = activationName(this.activationId), rec = activationName(this.recurrentActivationId);
    if (act === null || rec === null) throw new Error(`${this.name}: its activation is an unregistered function; register it with registerActivation(name, fn) to save the model`);
    return {
      ...super.getConfig(), units: this.units, activation: act, recurrentActivation: rec, useBias: this.useBias,
      returnSequences: this.returnSequences, goBackwards: this.goBackwards,
      kernelInitializer: serializeInitializer(this.kernelInitializer), recurrentInitializer: serializeInitializer(this.recurrentInitializer),
      biasInitializer: serializeInitializer(this.biasInitializer), kernelRegularizer: serializeRegularizer(this.kernelRegularizer),
      recurrentRegularizer: serializeRegularizer(this.recurrentRegularizer), biasRegularizer: serializeRegularizer(this.biasRegularizer),
    };
  }
}

/** h_t = activation(x_t·W + h_{t−1}·U + b). */
export class SimpleRNN extends RNNBase {
  protected readonly gates = 1;
  constructor(units: number, args: RNNArgs = {}) {
    super(units, args);
  }
  call(x: Tensor): Tensor {
    let h = zeros([x.shape[0], this.units]);
    return this.scan(this.inputProjection(x, this.bias), (xt) => (h = this.act(E.add(xt, matmul(h, this.recurrentKernel)))));
  }
}
registerLayer("SimpleRNN", (c) => new SimpleRNN(c.units as number, c as RNNArgs));

/** LSTM with gates in Keras order i, f, c, o; forget-gate bias starts at 1 (unitForgetBias). */
export class LSTM extends RNNBase {
  protected readonly gates = 4;
  readonly unitForgetBias: boolean;
  constructor(units: number, args: RNNArgs & { unitForgetBias?: boolean } = {}) {
    super(units, args);
    this.unitForgetBias = args.unitForgetBias ?? true;
  }
  protected override biasInit(): Initializer {
    return this.unitForgetBias ? new UnitForgetBias(this.biasInitializer) : this.biasInitializer;
  }
  call(x: Tensor): Tensor {
    const b = x.shape[0];
    let h = zeros([b, this.units]);
    let c = zeros([b, this.units]);
    return this.scan(this.inputProjection(x, this.bias), (xt) => {
      const [i, f, g, o] = split(E.add(xt, matmul(h, this.recurrentKernel)), 4, 1);
      c = E.add(E.mul(this.recAct(f), c), E.mul(this.recAct(i), this.act(g)));
      h = E.mul(this.recAct(o), this.act(c));
      return h;
    });
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), unitForgetBias: this.unitForgetBias };
  }
}
registerLayer("LSTM", (c) => new LSTM(c.units as number, c as RNNArgs));

/** LSTM bias: the bias initializer everywhere except ones on the forget gate's quarter [units, 2·units). */
class UnitForgetBias extends Initializer {
  readonly className = "UnitForgetBias";
  constructor(private readonly base: Initializer) {
    super();
  }
  call(shape: readonly number[]): Tensor {
    const u = shape[0] / 4;
    const [i, , c, o] = split(this.base.call(shape), 4, 0);
    return concat([i, ones([u]), c, o], 0);
  }
}

/**
 * GRU as Keras' default (reset_after=True, = PyTorch's GRU): gates z, r, h;
 * h̃ = tanh(x·W_h + b_h + r ⊙ (h·U_h + b'_h)), h_t = z ⊙ h_{t−1} + (1 − z) ⊙ h̃. Bias [2, 3·units]: input and recurrent.
 */
export class GRU extends RNNBase {
  protected readonly gates = 3;
  constructor(units: number, args: RNNArgs = {}) {
    super(units, args);
  }
  protected override biasShape(): number[] {
    return [2, 3 * this.units];
  }
  call(x: Tensor): Tensor {
    const [inBias, recBias] = this.bias ? split(this.bias, 2, 0).map((t) => t.reshape([3 * this.units])) : [null, null];
    let h = zeros([x.shape[0], this.units]);
    return this.scan(this.inputProjection(x, inBias), (xt) => {
      let hu = matmul(h, this.recurrentKernel);
      if (recBias) hu = E.add(hu, recBias);
      const [xz, xr, xh] = split(xt, 3, 1);
      const [hz, hr, hh] = split(hu, 3, 1);
      const z = this.recAct(E.add(xz, hz));
      const r = this.recAct(E.add(xr, hr));
      const cand = this.act(E.add(xh, E.mul(r, hh)));
      h = E.add(E.mul(z, h), E.mul(E.sub(1, z), cand));
      return h;
    });
  }
}
registerLayer("GRU", (c) => new GRU(c.units as number, c as RNNArgs));
