/**
 * Training callbacks (Keras' hooks and built-ins). Any object with some of the hooks works:
 * `{ onEpochEnd: (epoch, logs) => console.log(epoch, logs.loss) }`. Hooks may be async.
 */
import type { Tensor } from "../tensor.js";
import { keep, tidy } from "../memory.js";
import type { Logs } from "./progress.js";

/** What callbacks see of the model (the Model class implements it). */
export interface TrainingModel {
  stopTraining: boolean;
  readonly weights: Tensor[];
  optimizer: { learningRate: number } | null;
  save(dir: string): Promise<void>;
}

export interface CallbackHooks {
  onTrainBegin?(logs?: Logs): void | Promise<void>;
  onTrainEnd?(logs?: Logs): void | Promise<void>;
  onEpochBegin?(epoch: number, logs?: Logs): void | Promise<void>;
  onEpochEnd?(epoch: number, logs?: Logs): void | Promise<void>;
  /** `batch` is the index within the epoch. Batch logs hold running epoch averages, refreshed when read from the device. */
  onBatchBegin?(batch: number, logs?: Logs): void | Promise<void>;
  onBatchEnd?(batch: number, logs?: Logs): void | Promise<void>;
  /** Ask fit to read the running loss after every batch (else every `logEvery` batches on a GPU). */
  readonly needsEveryBatch?: boolean;
  setModel?(model: TrainingModel): void;
  setParams?(params: TrainingParams): void;
}

export interface TrainingParams {
  epochs: number;
  steps: number | undefined;
  verbose: number | "auto";
}

/** Base class for callbacks: `this.model` and `this.params` are set before training starts. */
export class Callback implements CallbackHooks {
  model!: TrainingModel;
  params!: TrainingParams;
  setModel(model: TrainingModel): void {
    this.model = model;
  }
  setParams(params: TrainingParams): void {
    this.params = params;
  }
}

type Mode = "min" | "max" | "auto";
function better(mode: Mode, monitor: string, minDelta: number): (current: number, best: number) => boolean {
  const m = mode === "auto" ? (/acc|auc|precision|recall/.test(monitor) ? "max" : "min") : mode;
  return m === "max" ? (c, b) => c - Math.abs(minDelta) > b : (c, b) => c + Math.abs(minDelta) < b;
}
function initialBest(mode: Mode, monitor: string): number {
  const m = mode === "auto" ? (/acc|auc|precision|recall/.test(monitor) ? "max" : "min") : mode;
  return m === "max" ? -Infinity : Infinity;
}

const warned = new Set<string>();
function monitored(owner: string, monitor: string, logs: Logs | undefined): number | undefined {
  const v = logs?.[monitor];
  if (v === undefined && !warned.has(owner + monitor)) {
    warned.add(owner + monitor);
    console.warn(`${owner}: '${monitor}' is not in the logs (available: ${Object.keys(logs ?? {}).join(", ") || "none"}); ` +
      (monitor.startsWith("val_") ? "pass validationData or validationSplit to fit, or monitor 'loss'" : "check the metric name"));
  }
  return v;
}

export interface EarlyStoppingArgs {
  monitor?: string;
  minDelta?: number;
  patience?: number;
  mode?: Mode;
  baseline?: number;
  /** At the end of training, put back the weights of the best epoch. */
  restoreBestWeights?: boolean;
  startFromEpoch?: number;
  verbose?: number;
}
/** Stops training when `monitor` (default 'val_loss') has not improved for `patience` epochs. */
export class EarlyStopping extends Callback {
  readonly monitor: string;
  readonly patience: number;
  readonly restoreBestWeights: boolean;
  private readonly isBetter: (c: number, b: number) => boolean;
  private readonly args: EarlyStoppingArgs;
  best = Infinity;
  wait = 0;
  bestEpoch = -1;
  /** Epoch at which training was stopped (−1: ran to the end). */
  stoppedEpoch = -1;
  private bestWeights: Tensor[] | null = null;

  constructor(args: EarlyStoppingArgs = {}) {
    super();
    this.args = args;
    this.monitor = args.monitor ?? "val_loss";
    this.patience = args.patience ?? 0;
    this.restoreBestWeights = args.restoreBestWeights ?? false;
    this.isBetter = better(args.mode ?? "auto", this.monitor, args.minDelta ?? 0);
  }
  onTrainBegin(): void {
    this.wait = 0;
    this.stoppedEpoch = -1;
    this.bestEpoch = -1;
    this.best = this.args.baseline ?? initialBest(this.args.mode ?? "auto", this.monitor);
    this.dropBest();
  }
  onEpochEnd(epoch: number, logs?: Logs): void {
    const v = monitored("EarlyStopping", this.monitor, logs);
    if (v === undefined || epoch < (this.args.startFromEpoch ?? 0)) return;
    this.wait++;
    if (this.isBetter(v, this.best)) {
      this.best = v;
      this.bestEpoch = epoch;
      this.wait = 0;
      if (this.restoreBestWeights) {
        this.dropBest();
        this.bestWeights = tidy(() => this.model.weights.map((w) => keep(w.clone())));
      }
    }
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      this.model.stopTraining = true;
    }
  }
  onTrainEnd(): void {
    if (this.restoreBestWeights && this.bestWeights) {
      const ws = this.model.weights;
      this.bestWeights.forEach((b, i) => ws[i].assign(b));
      if ((this.args.verbose ?? 0) > 0) console.log(`EarlyStopping: restored the weights of epoch ${this.bestEpoch + 1} (${this.monitor} ${this.best})`);
    }
    this.dropBest();
  }
  private dropBest(): void {
    this.bestWeights?.forEach((t) => t.dispose());
    this.bestWeights = null;
  }
}

export interface ModelCheckpointArgs {
  monitor?: string;
  /** Save only when `monitor` improved. */
  saveBestOnly?: boolean;
  mode?: Mode;
  verbose?: number;
}
/** Saves the model after each epoch to `filepath` ('{epoch}' and '{val_loss:.2f}'-style fields are filled in). */
export class ModelCheckpoint extends Callback {
  readonly monitor: string;
  readonly saveBestOnly: boolean;
  private best: number;
  private readonly isBetter: (c: number, b: number) => boolean;
  /** Paths written so far. */
  readonly saved: string[] = [];
  constructor(readonly filepath: string, private readonly args: ModelCheckpointArgs = {}) {
    super();
    this.monitor = args.monitor ?? "val_loss";
    this.saveBestOnly = args.saveBestOnly ?? false;
    this.best = initialBest(args.mode ?? "auto", this.monitor);
    this.isBetter = better(args.mode ?? "auto", this.monitor, 0);
  }
  async onEpochEnd(epoch: number, logs: Logs = {}): Promise<void> {
    if (this.saveBestOnly) {
      const v = monitored("ModelCheckpoint", this.monitor, logs);
      if (v === undefined || !this.isBetter(v, this.best)) return;
      this.best = v;
    }
    const path = this.filepath.replace(/\{(\w+)(?::[^}]*?\.(\d+)f)?(?::0?(\d+)d)?\}/g, (whole, key: string, decimals?: string, width?: string) => {
      const value = key === "epoch" ? epoch + 1 : logs[key];
      if (value === undefined) return whole;
      if (decimals !== undefined) return value.toFixed(Number(decimals));
      if (width !== undefined) return String(value).padStart(Number(width), "0");
      return String(value);
    });
    await this.model.save(path);
    this.saved.push(path);
    if ((this.args.verbose ?? 0) > 0) console.log(`ModelCheckpoint: epoch ${epoch + 1}: saved the model to ${path}`);
  }
}

/** Sets the learning rate at the start of each epoch: `schedule(epoch, currentLr) → newLr`. */
export class LearningRateScheduler extends Callback {
  constructor(private readonly schedule: (epoch: number, lr: number) => number, private readonly verbose = 0) {
    super();
  }
  onEpochBegin(epoch: number): void {
    const opt = this.model.optimizer;
    if (!opt) throw new Error("LearningRateScheduler: the model has no optimizer; call compile() first");
    const lr = this.schedule(epoch, opt.learningRate);
    if (!Number.isFinite(lr)) throw new Error(`LearningRateScheduler: the schedule returned ${lr} for epoch ${epoch}`);
    opt.learningRate = lr;
    if (this.verbose > 0) console.log(`Epoch ${epoch + 1}: LearningRateScheduler setting learning rate to ${lr}.`);
  }
  onEpochEnd(_epoch: number, logs?: Logs): void {
    if (logs && this.model.optimizer) logs.learning_rate = this.model.optimizer.learningRate;
  }
}

export interface ReduceLROnPlateauArgs {
  monitor?: string;
  factor?: number;
  patience?: number;
  mode?: Mode;
  minDelta?: number;
  cooldown?: number;
  minLr?: number;
  verbose?: number;
}
/** Multiplies the learning rate by `factor` (0.1) when `monitor` stalls for `patience` (10) epochs. */
export class ReduceLROnPlateau extends Callback {
  readonly monitor: string;
  readonly factor: number;
  readonly patience: number;
  readonly cooldown: number;
  readonly minLr: number;
  private readonly isBetter: (c: number, b: number) => boolean;
  private best: number;
  private wait = 0;
  private cooldownLeft = 0;
  constructor(private readonly args: ReduceLROnPlateauArgs = {}) {
    super();
    this.monitor = args.monitor ?? "val_loss";
    this.factor = args.factor ?? 0.1;
    if (!(this.factor < 1)) throw new Error(`ReduceLROnPlateau: factor must be < 1, got ${this.factor}`);
    this.patience = args.patience ?? 10;
    this.cooldown = args.cooldown ?? 0;
    this.minLr = args.minLr ?? 0;
    this.isBetter = better(args.mode ?? "auto", this.monitor, args.minDelta ?? 1e-4);
    this.best = initialBest(args.mode ?? "auto", this.monitor);
  }
  onTrainBegin(): void {
    this.best = initialBest(this.args.mode ?? "auto", this.monitor);
    this.wait = 0;
    this.cooldownLeft = 0;
  }
  onEpochEnd(epoch: number, logs?: Logs): void {
    const opt = this.model.optimizer;
    if (logs && opt) logs.learning_rate = opt.learningRate;
    const v = monitored("ReduceLROnPlateau", this.monitor, logs);
    if (v === undefined || !opt) return;
    if (this.cooldownLeft > 0) {
      this.cooldownLeft--;
      this.wait = 0;
    }
    if (this.isBetter(v, this.best)) {
      this.best = v;
      this.wait = 0;
    } else if (this.cooldownLeft <= 0 && ++this.wait >= this.patience) {
      const old = opt.learningRate;
      if (old > this.minLr) {
        const lr = Math.max(old * this.factor, this.minLr);
        opt.learningRate = lr;
        if ((this.args.verbose ?? 0) > 0) console.log(`Epoch ${epoch + 1}: ReduceLROnPlateau reducing learning rate to ${lr}.`);
        this.cooldownLeft = this.cooldown;
        this.wait = 0;
      }
    }
  }
}

/** Stops training as soon as a read loss is NaN or infinite. */
export class TerminateOnNaN extends Callback {
  readonly needsEveryBatch = true;
  terminatedAt: number | null = null;
  onBatchEnd(batch: number, logs?: Logs): void {
    const l = logs?.loss;
    if (l !== undefined && !Number.isFinite(l)) {
      console.warn(`TerminateOnNaN: batch ${batch}: invalid loss ${l}, terminating training`);
      this.terminatedAt = batch;
      this.model.stopTraining = true;
    }
  }
  onEpochEnd(epoch: number, logs?: Logs): void {
    const l = logs?.loss;
    if (l !== undefined && !Number.isFinite(l)) this.model.stopTraining = true;
    void epoch;
  }
}

/** Per-epoch logs of a fit() run: `history.history.loss`, `history.history.val_accuracy`, `history.epoch`. */
export class History extends Callback {
  history: Record<string, number[]> = {};
  epoch: number[] = [];
  onEpochEnd(epoch: number, logs: Logs = {}): void {
    this.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs)) (this.history[k] ??= []).push(v);
  }
  override toString(): string {
    const last = Object.entries(this.history).map(([k, v]) => `${k}: ${v[v.length - 1]?.toFixed(4)}`).join(", ");
    return `History(${this.epoch.length} epochs${last ? `; last: ${last}` : ""})`;
  }
  /** In a notebook, a History shows as its loss curves. */
  [Symbol.for("jupyter.mimebundle")](): Promise<Record<string, unknown>> {
    return import("../viz/loss.js").then((m) => m.lossCurve({ history: this.history, epoch: this.epoch }).mimeBundle());
  }
}
