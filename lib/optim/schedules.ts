/** Learning-rate schedules: the rate as a function of the optimizer's step count (Keras' definitions). */

export interface LearningRateSchedule {
  readonly className: string;
  /** Learning rate at optimizer step `step` (0-based: the first update uses step 0). */
  call(step: number): number;
  getConfig(): Record<string, number | boolean>;
}

/** lr0 · rate^(step / decaySteps) (floored exponent when staircase). */
export class ExponentialDecay implements LearningRateSchedule {
  readonly className = "ExponentialDecay";
  readonly initialLearningRate: number; readonly decaySteps: number; readonly decayRate: number; readonly staircase: boolean;
  constructor(opts: { initialLearningRate: number; decaySteps: number; decayRate: number; staircase?: boolean }) {
    if (!(opts.decaySteps > 0)) throw new Error(`ExponentialDecay: decaySteps must be > 0, got ${opts.decaySteps}`);
    this.initialLearningRate = opts.initialLearningRate; this.decaySteps = opts.decaySteps; this.decayRate = opts.decayRate; this.staircase = opts.staircase ?? false;
  }
  call(step: number): number {
    const p = step / this.decaySteps;
    return this.initialLearningRate * Math.pow(this.decayRate, this.staircase ? Math.floor(p) : p);
  }
  getConfig() {
    return { initialLearningRate: this.initialLearningRate, decaySteps: this.decaySteps, decayRate: this.decayRate, staircase: this.staircase };
  }
}

/** lr0 · gamma^floor(step / stepSize), like PyTorch's StepLR counted in optimizer steps. */
export class StepDecay implements LearningRateSchedule {
  readonly className = "StepDecay";
  readonly initialLearningRate: number; readonly stepSize: number; readonly gamma: number;
  constructor(opts: { initialLearningRate: number; stepSize: number; gamma?: number }) {
    if (!(opts.stepSize > 0)) throw new Error(`StepDecay: stepSize must be > 0, got ${opts.stepSize}`);
    this.initialLearningRate = opts.initialLearningRate; this.stepSize = opts.stepSize; this.gamma = opts.gamma ?? 0.1;
  }
  call(step: number): number {
    return this.initialLearningRate * Math.pow(this.gamma, Math.floor(step / this.stepSize));
  }
  getConfig() {
    return { initialLearningRate: this.initialLearningRate, stepSize: this.stepSize, gamma: this.gamma };
  }
}

/** Cosine from lr0 down to lr0·alpha over decaySteps (after optional linear warmup), then constant (Keras' CosineDecay). */
export class CosineDecay implements LearningRateSchedule {
  readonly className = "CosineDecay";
  readonly initialLearningRate: number; readonly decaySteps: number; readonly alpha: number; readonly warmupSteps: number; readonly warmupTarget: number;
  constructor(opts: { initialLearningRate: number; decaySteps: number; alpha?: number; warmupSteps?: number; warmupTarget?: number }) {
    if (!(opts.decaySteps > 0)) throw new Error(`CosineDecay: decaySteps must be > 0, got ${opts.decaySteps}`);
    this.initialLearningRate = opts.initialLearningRate; this.decaySteps = opts.decaySteps; this.alpha = opts.alpha ?? 0;
    this.warmupSteps = opts.warmupSteps ?? 0; this.warmupTarget = opts.warmupTarget ?? opts.initialLearningRate;
  }
  call(step: number): number {
    if (step < this.warmupSteps) return this.initialLearningRate + (this.warmupTarget - this.initialLearningRate) * (step / this.warmupSteps);
    const start = this.warmupSteps > 0 ? this.warmupTarget : this.initialLearningRate;
    const s = Math.min(step - this.warmupSteps, this.decaySteps);
    const cosine = 0.5 * (1 + Math.cos(Math.PI * s / this.decaySteps));
    return start * ((1 - this.alpha) * cosine + this.alpha);
  }
  getConfig() {
    return { initialLearningRate: this.initialLearningRate, decaySteps: this.decaySteps, alpha: this.alpha, warmupSteps: this.warmupSteps, warmupTarget: this.warmupTarget };
  }
}

/** Constant pieces: values[i] while step < boundaries[i] (values has one more entry than boundaries). */
export class PiecewiseConstantDecay implements LearningRateSchedule {
  readonly className = "PiecewiseConstantDecay";
  constructor(readonly boundaries: number[], readonly values: number[]) {
    if (values.length !== boundaries.length + 1) throw new Error(`PiecewiseConstantDecay: needs one more value than boundaries, got ${values.length} values and ${boundaries.length} boundaries`);
  }
  call(step: number): number {
    const i = this.boundaries.findIndex((b) => step <= b);
    return this.values[i === -1 ? this.values.length - 1 : i];
  }
  getConfig() {
    return Object.fromEntries([...this.boundaries.map((b, i) => [`boundary${i}`, b]), ...this.values.map((v, i) => [`value${i}`, v])]);
  }
}

export const schedules = {
  exponentialDecay: (opts: ConstructorParameters<typeof ExponentialDecay>[0]) => new ExponentialDecay(opts),
  stepDecay: (opts: ConstructorParameters<typeof StepDecay>[0]) => new StepDecay(opts),
  cosineDecay: (opts: ConstructorParameters<typeof CosineDecay>[0]) => new CosineDecay(opts),
  piecewiseConstantDecay: (boundaries: number[], values: number[]) => new PiecewiseConstantDecay(boundaries, values),
};
