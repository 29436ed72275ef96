/**
 * SGD, Adam, AdamW, RMSprop, Adagrad: PyTorch's update rules (torch.optim, checked step by step in
 * test/optim.test.ts) with Keras' default hyperparameters (Adam lr 1e-3 and ε 1e-7, SGD lr 0.01, ...).
 */
import type { Tensor } from "../tensor.js";
import * as E from "../ops/elementwise.js";
import { fullLike } from "../ops/creation.js";
import type { OptimizerRule } from "../backend/backend.js";
import { Optimizer, type HostSlots, type OptimizerArgs } from "./optimizer.js";

/** g + weightDecay·p (L2 penalty in the gradient, as torch.optim does for all but AdamW). */
function decayed(opt: Optimizer, p: Tensor, g: Tensor): Tensor {
  return opt.weightDecay ? E.add(g, E.mul(p, opt.weightDecay)) : g;
}

export interface SGDArgs extends OptimizerArgs {
  momentum?: number;
  nesterov?: boolean;
}
/** p ← p − lr·v with v = momentum·v + g (or g + momentum·v for Nesterov); plain SGD without momentum. */
export class SGD extends Optimizer {
  readonly className = "SGD";
  readonly momentum: number;
  readonly nesterov: boolean;
  constructor(args: SGDArgs = {}) {
    super(args, 0.01);
    this.momentum = args.momentum ?? 0;
    this.nesterov = args.nesterov ?? false;
    if (this.nesterov && this.momentum <= 0) throw new Error("SGD: nesterov needs momentum > 0");
  }
  protected update(p: Tensor, grad: Tensor, lr: number): void {
    let g = decayed(this, p, grad);
    if (this.momentum) {
      const v = this.slot(p, "momentum");
      v.assign(E.add(E.mul(v, this.momentum), g));
      g = this.nesterov ? E.add(g, E.mul(v, this.momentum)) : v;
    }
    p.assign(E.sub(p, E.mul(g, lr)));
  }
  protected override hostUpdate(p: Float32Array, g: Float32Array, slots: HostSlots, lr: number): void {
    const wd = this.weightDecay, mom = this.momentum, nest = this.nesterov;
    const v = mom ? slots("momentum") : null;
    for (let i = 0; i < p.length; i++) {
      let gi = g[i] + wd * p[i];
      if (v) {
        v[i] = mom * v[i] + gi;
        gi = nest ? gi + mom * v[i] : v[i];
      }
      p[i] -= lr * gi;
    }
  }
  protected override deviceRule(p: Tensor, lr: number): { rule: OptimizerRule; state: Tensor[] } {
    return {
      rule: { kind: "sgd", lr, weightDecay: this.weightDecay, momentum: this.momentum, nesterov: this.nesterov },
      state: this.momentum ? [this.slot(p, "momentum")] : [],
    };
  }
  override getConfig() {
    return { ...super.getConfig(), momentum: this.momentum, nesterov: this.nesterov };
  }
}

export interface AdamArgs extends OptimizerArgs {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  amsgrad?: boolean;
}
/** Adam: m, v moving averages of g and g², bias-corrected; p ← p − lr·m̂/(√v̂ + ε). */
export class Adam extends Optimizer {
  readonly className: string = "Adam";
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly amsgrad: boolean;
  constructor(args: AdamArgs = {}) {
    super(args, 1e-3);
    this.beta1 = args.beta1 ?? 0.9;
    this.beta2 = args.beta2 ?? 0.999;
    this.epsilon = args.epsilon ?? 1e-7;
    this.amsgrad = args.amsgrad ?? false;
  }
  protected gradient(p: Tensor, grad: Tensor, _lr: number): Tensor {
    return decayed(this, p, grad);
  }
  protected update(p: Tensor, grad: Tensor, lr: number, t: number): void {
    const g = this.gradient(p, grad, lr);
    const m = this.slot(p, "m"), v = this.slot(p, "v");
    m.assign(E.add(E.mul(m, this.beta1), E.mul(g, 1 - this.beta1)));
    v.assign(E.add(E.mul(v, this.beta2), E.mul(E.square(g), 1 - this.beta2)));
    let vUse = v;
    if (this.amsgrad) {
      const vmax = this.slot(p, "vmax");
      vmax.assign(E.maximum(vmax, v));
      vUse = vmax;
    }
    const bc1 = 1 - Math.pow(this.beta1, t), bc2 = 1 - Math.pow(this.beta2, t);
    const denom = E.add(E.div(E.sqrt(vUse), Math.sqrt(bc2)), this.epsilon);
    p.assign(E.sub(p, E.mul(E.div(m, denom), lr / bc1)));
  }
  /** Decoupled decay factor applied to p before the step (AdamW), 1 for Adam. */
  protected decayFactor(_lr: number): number {
    return 1;
  }
  protected override hostUpdate(p: Float32Array, g: Float32Array, slots: HostSlots, lr: number, t: number): void {
    const b1 = this.beta1, b2 = this.beta2, eps = this.epsilon;
    const coupled = this.className === "AdamW" ? 0 : this.weightDecay;
    const keep = this.decayFactor(lr);
    const m = slots("m"), v = slots("v"), vmax = this.amsgrad ? slots("vmax") : null;
    const sbc2 = Math.sqrt(1 - Math.pow(b2, t)), step = lr / (1 - Math.pow(b1, t));
    for (let i = 0; i < p.length; i++) {
      const pi = p[i] * keep;
      const gi = g[i] + coupled * p[i];
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      let vi = v[i];
      if (vmax) vi = vmax[i] = Math.max(vmax[i], vi);
      p[i] = pi - step * (m[i] / (Math.sqrt(vi) / sbc2 + eps));
    }
  }
  protected override deviceRule(p: Tensor, lr: number, t: number): { rule: OptimizerRule; state: Tensor[] } {
    const decay = !this.weightDecay ? "none" : this.className === "AdamW" ? "decoupled" : "coupled";
    const state = [this.slot(p, "m"), this.slot(p, "v"), ...(this.amsgrad ? [this.slot(p, "vmax")] : [])];
    return {
      rule: {
        kind: "adam", beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, amsgrad: this.amsgrad,
        decay, weightDecay: this.weightDecay, decoupledKeep: this.decayFactor(lr),
        stepSize: lr / (1 - Math.pow(this.beta1, t)), sqrtBiasCorrection2: Math.sqrt(1 - Math.pow(this.beta2, t)),
      },
      state,
    };
  }
  override getConfig() {
    return { ...super.getConfig(), beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, amsgrad: this.amsgrad };
  }
}

/** Adam with decoupled weight decay: p ← p·(1 − lr·weightDecay) before the Adam step (default 0.004 like Keras). */
export class AdamW extends Adam {
  override readonly className = "AdamW";
  constructor(args: AdamArgs = {}) {
    super({ ...args, weightDecay: args.weightDecay ?? 0.004 });
  }
  protected override gradient(p: Tensor, grad: Tensor, lr: number): Tensor {
    if (this.weightDecay) p.assign(E.mul(p, 1 - lr * this.weightDecay));
    return grad;
  }
  protected override decayFactor(lr: number): number {
    return 1 - lr * this.weightDecay;
  }
}

export interface RMSpropArgs extends OptimizerArgs {
  /** Decay of the squared-gradient average (Keras' rho, PyTorch's alpha). */
  rho?: number;
  momentum?: number;
  epsilon?: number;
  centered?: boolean;
}
/** v = ρ·v + (1 − ρ)·g²; p ← p − lr·g/(√v + ε) (centered: v − ḡ²; with momentum: buffered). */
export class RMSprop extends Optimizer {
  readonly className = "RMSprop";
  readonly rho: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly centered: boolean;
  constructor(args: RMSpropArgs = {}) {
    super(args, 1e-3);
    this.rho = args.rho ?? 0.9;
    this.momentum = args.momentum ?? 0;
    this.epsilon = args.epsilon ?? 1e-7;
    this.centered = args.centered ?? false;
  }
  protected update(p: Tensor, grad: Tensor, lr: number): void {
    const g = decayed(this, p, grad);
    const v = this.slot(p, "v");
    v.assign(E.add(E.mul(v, this.rho), E.mul(E.square(g), 1 - this.rho)));
    let avg = v;
    if (this.centered) {
      const ga = this.slot(p, "grad_avg");
      ga.assign(E.add(E.mul(ga, this.rho), E.mul(g, 1 - this.rho)));
      avg = E.sub(v, E.square(ga));
    }
    const step = E.div(g, E.add(E.sqrt(avg), this.epsilon));
    if (this.momentum) {
      const buf = this.slot(p, "momentum");
      buf.assign(E.add(E.mul(buf, this.momentum), step));
      p.assign(E.sub(p, E.mul(buf, lr)));
    } else p.assign(E.sub(p, E.mul(step, lr)));
  }
  protected override hostUpdate(p: Float32Array, g: Float32Array, slots: HostSlots, lr: number): void {
    const rho = this.rho, eps = this.epsilon, wd = this.weightDecay, mom = this.momentum;
    const v = slots("v"), ga = this.centered ? slots("grad_avg") : null, buf = mom ? slots("momentum") : null;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] + wd * p[i];
      v[i] = rho * v[i] + (1 - rho) * gi * gi;
      let avg = v[i];
      if (ga) {
        ga[i] = rho * ga[i] + (1 - rho) * gi;
        avg -= ga[i] * ga[i];
      }
      const st = gi / (Math.sqrt(avg) + eps);
      if (buf) {
        buf[i] = mom * buf[i] + st;
        p[i] -= lr * buf[i];
      } else p[i] -= lr * st;
    }
  }
  protected override deviceRule(p: Tensor, lr: number): { rule: OptimizerRule; state: Tensor[] } {
    const state = [this.slot(p, "v"), ...(this.centered ? [this.slot(p, "grad_avg")] : []), ...(this.momentum ? [this.slot(p, "momentum")] : [])];
    return { rule: { kind: "rmsprop", lr, rho: this.rho, epsilon: this.epsilon, weightDecay: this.weightDecay, momentum: this.momentum, centered: this.centered }, state };
  }
  override getConfig() {
    return { ...super.getConfig(), rho: this.rho, momentum: this.momentum, epsilon: this.epsilon, centered: this.centered };
  }
}

export interface AdagradArgs extends OptimizerArgs {
  initialAccumulatorValue?: number;
  epsilon?: number;
}
/** s = s + g²; p ← p − lr·g/(√s + ε), s starting at 0.1 (Keras' default). */
export class Adagrad extends Optimizer {
  readonly className = "Adagrad";
  readonly initialAccumulatorValue: number;
  readonly epsilon: number;
  constructor(args: AdagradArgs = {}) {
    super(args, 1e-3);
    this.initialAccumulatorValue = args.initialAccumulatorValue ?? 0.1;
    this.epsilon = args.epsilon ?? 1e-7;
  }
  protected update(p: Tensor, grad: Tensor, lr: number): void {
    const g = decayed(this, p, grad);
    const s = this.slot(p, "accumulator", () => fullLike(p, this.initialAccumulatorValue));
    s.assign(E.add(s, E.square(g)));
    p.assign(E.sub(p, E.mul(E.div(g, E.add(E.sqrt(s), this.epsilon)), lr)));
  }
  protected override hostUpdate(p: Float32Array, g: Float32Array, slots: HostSlots, lr: number): void {
    const wd = this.weightDecay, eps = this.epsilon;
    const s = slots("accumulator", this.initialAccumulatorValue);
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] + wd * p[i];
      s[i] += gi * gi;
      p[i] -= lr * (gi / (Math.sqrt(s[i]) + eps));
    }
  }
  protected override deviceRule(p: Tensor, lr: number): { rule: OptimizerRule; state: Tensor[] } {
    const s = this.slot(p, "accumulator", () => fullLike(p, this.initialAccumulatorValue));
    return { rule: { kind: "adagrad", lr, epsilon: this.epsilon, weightDecay: this.weightDecay }, state: [s] };
  }
  override getConfig() {
    return { ...super.getConfig(), initialAccumulatorValue: this.initialAccumulatorValue, epsilon: this.epsilon };
  }
}
