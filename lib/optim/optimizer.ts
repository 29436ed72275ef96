/**
 * Optimizer base: gradient clipping, weight decay hook, learning-rate schedules and per-parameter
 * state. Updates are written into the parameters in place (`param.assign`), inside tidy/noGrad, so
 * a training loop neither leaks nor records the update. With `fused` (the default) each parameter's
 * update is one host loop on the CPU backend and one kernel on backends with `optimizerStep` (webgpu);
 * otherwise, and where those do not apply, it is a chain of elementwise tensor ops. For custom loops:
 *
 *   loss.backward(); opt.step(model.trainableWeights); opt.zeroGrad(model.trainableWeights);
 *   // or, with gradients from grad()/valueAndGrad(): opt.applyGradients([[g, w], ...])
 */
import type { Tensor } from "../tensor.js";
import type { OptimizerRule } from "../backend/backend.js";
import { fromBuf } from "../ops/core.js";
import * as E from "../ops/elementwise.js";
import { sum } from "../ops/reduce.js";
import { tensor, zerosLike } from "../ops/creation.js";
import { keep, tidy } from "../memory.js";
import { noGrad } from "../autograd/mode.js";
import { fmt } from "../shape.js";
import type { LearningRateSchedule } from "./schedules.js";

export interface OptimizerArgs {
  learningRate?: number | LearningRateSchedule | ((step: number) => number);
  /** L2 penalty added to the gradient (PyTorch's weight_decay); AdamW decays the weights directly. */
  weightDecay?: number;
  /** Rescale each gradient whose L2 norm exceeds this (Keras' clipnorm). */
  clipNorm?: number;
  /** Rescale all gradients together when their joint L2 norm exceeds this (Keras' global_clipnorm). */
  globalClipNorm?: number;
  /** Clip every gradient element to [−clipValue, clipValue]. */
  clipValue?: number;
  name?: string;
  /**
   * Update each parameter in one fused step instead of a chain of tensor ops (default true; the result is
   * the same rule, in float32 like the op chain): a host loop on the CPU backend, one kernel per parameter
   * on webgpu (float32 parameters and contiguous float32 gradients; others take the op chain).
   */
  fused?: boolean;
}

/** Host state of the fused CPU path: named float32 arrays per parameter. */
export type HostSlots = (name: string, init?: number) => Float32Array;

export abstract class Optimizer {
  abstract readonly className: string;
  /** Number of updates applied so far. */
  iterations = 0;
  readonly weightDecay: number;
  readonly clipNorm?: number;
  readonly globalClipNorm?: number;
  readonly clipValue?: number;
  private lr: number | LearningRateSchedule | ((step: number) => number);
  readonly fused: boolean;
  private readonly slots = new Map<Tensor, Map<string, Tensor>>();
  private readonly hostSlots = new Map<Tensor, Map<string, Float32Array>>();

  constructor(args: OptimizerArgs, defaultLearningRate: number) {
    this.lr = args.learningRate ?? defaultLearningRate;
    this.weightDecay = args.weightDecay ?? 0;
    this.clipNorm = args.clipNorm;
    this.globalClipNorm = args.globalClipNorm;
    this.clipValue = args.clipValue;
    this.fused = args.fused ?? true;
  }

  /** The learning rate of the next update (a schedule evaluated at `iterations`). */
  get learningRate(): number {
    if (typeof this.lr === "number") return this.lr;
    return typeof this.lr === "function" ? this.lr(this.iterations) : this.lr.call(this.iterations);
  }
  /** Sets a constant learning rate (callbacks like ReduceLROnPlateau do this). */
  set learningRate(v: number) {
    if (!(v >= 0) || !Number.isFinite(v)) throw new Error(`${this.className}: learning rate must be a finite number ≥ 0, got ${v}`);
    this.lr = v;
  }
  /** The schedule, when the learning rate is one. */
  get schedule(): LearningRateSchedule | ((step: number) => number) | null {
    return typeof this.lr === "number" ? null : this.lr;
  }

  /** Updates each parameter that has a `.grad` (after `loss.backward()`). */
  step(params: readonly Tensor[]): void {
    this.applyGradients(params.filter((p) => p.grad).map((p) => [p.grad!, p] as [Tensor, Tensor]));
  }

  /** Clears `.grad` of the parameters. */
  zeroGrad(params: readonly Tensor[]): void {
    for (const p of params) p.zeroGrad();
  }

  /** Applies `[gradient, parameter]` pairs (Keras' apply_gradients). */
  applyGradients(pairs: readonly (readonly [Tensor, Tensor])[]): void {
    for (const [g, p] of pairs) {
      if (g.shape.length !== p.shape.length || g.shape.some((d, i) => d !== p.shape[i])) {
        throw new Error(`${this.className}.applyGradients: gradient of shape ${fmt(g.shape)} for parameter ${p.name ? `'${p.name}' ` : ""}of shape ${fmt(p.shape)}`);
      }
    }
    const lr = this.learningRate;
    const t = this.iterations + 1;
    noGrad(() => tidy(() => {
      let grads = pairs.map(([g]) => g);
      if (this.clipValue !== undefined) grads = grads.map((g) => E.clip(g, -this.clipValue!, this.clipValue!));
      if (this.clipNorm !== undefined) grads = grads.map((g) => E.mul(g, this.clipFactor(E.sqrt(sum(E.square(g))), this.clipNorm!)));
      if (this.globalClipNorm !== undefined && grads.length) {
        const total = E.sqrt(grads.map((g) => sum(E.square(g))).reduce((a, b) => E.add(a, b)));
        const f = this.clipFactor(total, this.globalClipNorm);
        grads = grads.map((g) => E.mul(g, f));
      }
      pairs.forEach(([, p], i) => {
        if (this.fused && p.dtype === "float32" && p.backend === "cpu" && this.hostUpdate) this.fusedStep(p, grads[i], lr, t);
        else if (!(this.fused && this.deviceStep(p, grads[i], lr, t))) this.update(p, grads[i], lr, t);
      });
    }));
    this.iterations++;
  }

  /** min(1, maxNorm / norm) as a tensor, without reading the norm back. */
  private clipFactor(norm: Tensor, maxNorm: number): Tensor {
    return E.div(maxNorm, E.maximum(norm, maxNorm));
  }

  /** Writes one parameter's update (called inside tidy + noGrad). `t` is the 1-based step number. */
  protected abstract update(param: Tensor, grad: Tensor, lr: number, t: number): void;

  /**
   * The same rule as `update` as one loop over host arrays (the CPU backend): p and g are copies
   * of the parameter and gradient; write the new parameter into p.
   */
  protected hostUpdate?(p: Float32Array, g: Float32Array, slots: HostSlots, lr: number, t: number): void;

  /**
   * The same rule as `update` as one backend kernel (Backend.optimizerStep): this step's hyperparameters and
   * the state slots the kernel updates, in OptimizerRule's order.
   */
  protected deviceRule?(param: Tensor, lr: number, t: number): { rule: OptimizerRule; state: Tensor[] };

  /**
   * One kernel for the whole update when the backend has one and the operands allow it; false otherwise
   * (the caller runs the op chain). The parameter gets a new buffer through `assign`, like the op chain, so
   * views sharing the old storage (detach, reshape, transpose) keep the old values. The state slots are
   * written in place: they belong to this optimizer, and one that shares its storage is first given its own copy.
   */
  private deviceStep(param: Tensor, grad: Tensor, lr: number, t: number): boolean {
    if (!this.deviceRule || param.dtype !== "float32" || grad.dtype !== "float32" || param.size === 0) return false;
    const backend = param.storage("optimizer step").backend;
    if (!backend.optimizerStep || grad.storage("optimizer step").backend !== backend || !dense(param) || !dense(grad)) return false;
    const { rule, state } = this.deviceRule(param, lr, t);
    for (const s of state) if (!dense(s) || s.storage("optimizer step").refs !== 1) s.assign(s.clone());
    const out = backend.optimizerStep(rule, param.storage("optimizer step").buf!, grad.storage("optimizer step").buf!,
      state.map((s) => s.storage("optimizer step").buf!), param.size);
    if (!out) return false;
    param.assign(fromBuf(backend, out, param.shape, "float32"));
    return true;
  }

  private fusedStep(param: Tensor, grad: Tensor, lr: number, t: number): void {
    let m = this.hostSlots.get(param);
    if (!m) this.hostSlots.set(param, (m = new Map()));
    const slots: HostSlots = (name, init = 0) => {
      let a = m!.get(name);
      if (!a) m!.set(name, (a = new Float32Array(param.size).fill(init)));
      return a;
    };
    const p = param.dataSync() as Float32Array;
    const g = (grad.dtype === "float32" ? grad : grad.cast("float32")).dataSync() as Float32Array;
    this.hostUpdate!(p, g, slots, lr, t);
    param.assign(tensor(p, { shape: [...param.shape] }));
  }

  /** A per-parameter state tensor (created as zeros, or `init`), kept across steps. */
  protected slot(param: Tensor, name: string, init?: () => Tensor): Tensor {
    let m = this.slots.get(param);
    if (!m) this.slots.set(param, (m = new Map()));
    let s = m.get(name);
    if (!s) {
      s = keep(init ? init() : zerosLike(param));
      m.set(name, s);
    }
    return s;
  }

  /** Hyperparameters (saved with the model). */
  getConfig(): Record<string, unknown> {
    const lr = this.lr;
    return {
      learningRate: typeof lr === "number" ? lr : typeof lr === "function" ? this.learningRate : { className: lr.className, config: lr.getConfig() },
      weightDecay: this.weightDecay, clipNorm: this.clipNorm, globalClipNorm: this.globalClipNorm, clipValue: this.clipValue,
    };
  }

  /** Frees the optimizer state (moments, velocities). */
  dispose(): void {
    for (const m of this.slots.values()) for (const t of m.values()) t.dispose();
    this.slots.clear();
    this.hostSlots.clear();
  }
}

/** Contiguous from element 0 of its storage: a kernel can bind the buffer as the tensor. */
function dense(t: Tensor): boolean {
  return t.isContiguous && t._offset === 0;
}
