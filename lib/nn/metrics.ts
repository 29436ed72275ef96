/**
 * Stateful metrics, accumulated on the device across the batches of an epoch and read once when
 * their value is needed (so training does not wait for the device after every batch).
 * 'accuracy' is resolved like Keras: binary, categorical or sparse-categorical from the loss/shapes.
 */
import type { Tensor } from "../tensor.js";
import * as E from "../ops/elementwise.js";
import { argmax, mean, sum } from "../ops/reduce.js";
import { tensor as tensorOf } from "../ops/creation.js";
import { concat } from "../ops/movement.js";
import { keep, tidy } from "../memory.js";
import { noGrad } from "../autograd/mode.js";
import { alignTargets, sparseLabels, type LossKind } from "./losses.js";
import { normalizeName, snakeCase } from "./identifiers.js";

export abstract class Metric {
  constructor(readonly name: string) {}
  /** Adds one batch (yPred are the model's outputs: probabilities unless the loss uses logits). */
  abstract update(yTrue: Tensor, yPred: Tensor): void;
  /** The value over everything since the last reset. */
  abstract result(): Promise<number>;
  abstract reset(): void;
  /** Frees the accumulators. */
  dispose(): void {}
}

/** The mean of a per-example value; the sum lives on the device, the count on the host. */
export class MeanMetricWrapper extends Metric {
  private total: Tensor | null = null;
  private count = 0;
  constructor(name: string, private readonly fn: (yTrue: Tensor, yPred: Tensor) => Tensor) {
    super(name);
  }
  update(yTrue: Tensor, yPred: Tensor): void {
    noGrad(() => tidy(() => {
      const v = this.fn(yTrue, yPred);
      const s = v.ndim === 0 ? E.mul(v, yPred.shape[0] ?? 1) : sum(v);
      this.count += v.ndim === 0 ? yPred.shape[0] ?? 1 : v.size;
      if (!this.total) this.total = keep(s.cast("float32"));
      else this.total.assign(E.add(this.total, s));
    }));
  }
  async result(): Promise<number> {
    if (!this.total || this.count === 0) return 0;
    return (await this.total.item()) / this.count;
  }
  reset(): void {
    this.total?.dispose();
    this.total = null;
    this.count = 0;
  }
  override dispose(): void {
    this.reset();
  }
}

// ---- per-example metric functions (Keras' definitions) ----
const hits = (t: Tensor) => E.cast(t, "float32");
export function binaryAccuracy(yTrue: Tensor, yPred: Tensor, threshold = 0.5): Tensor {
  const y = alignTargets(yTrue, yPred, "binaryAccuracy");
  return mean(hits(E.eq(E.gt(yPred, threshold), E.gt(y, 0.5))), -1);
}
export function categoricalAccuracy(yTrue: Tensor, yPred: Tensor): Tensor {
  const y = alignTargets(yTrue, yPred, "categoricalAccuracy");
  return hits(E.eq(argmax(y, -1), argmax(yPred, -1)));
}
export function sparseCategoricalAccuracy(yTrue: Tensor, yPred: Tensor): Tensor {
  return hits(E.eq(sparseLabels(yTrue, yPred, "sparseCategoricalAccuracy"), argmax(yPred, -1)));
}
export const meanSquaredErrorMetric = (yTrue: Tensor, yPred: Tensor) => mean(E.square(E.sub(yPred, alignTargets(yTrue, yPred, "mse"))), -1);
export const meanAbsoluteErrorMetric = (yTrue: Tensor, yPred: Tensor) => mean(E.abs(E.sub(yPred, alignTargets(yTrue, yPred, "mae"))), -1);

/** Counts of true/false positives/negatives at thresholds, summed on the device. */
abstract class ConfusionMetric extends Metric {
  protected counts: Tensor | null = null;
  constructor(name: string, protected readonly thresholds: number[]) {
    super(name);
  }
  update(yTrue: Tensor, yPred: Tensor): void {
    noGrad(() => tidy(() => {
      const y = E.gt(alignTargets(yTrue, yPred, this.name), 0.5).reshape([-1, 1]);
      const p = yPred.reshape([-1, 1]);
      const predPos = E.gt(p, tensorOf(Float32Array.from(this.thresholds), { shape: [1, this.thresholds.length] }));
      const notY = E.logicalNot(y), notP = E.logicalNot(predPos);
      const c = [E.logicalAnd(y, predPos), E.logicalAnd(notY, predPos), E.logicalAnd(notY, notP), E.logicalAnd(y, notP)];
      const s = concat(c.map((t) => sum(E.cast(t, "float32"), 0, true)), 0); // [4, thresholds]
      if (!this.counts) this.counts = keep(s);
      else this.counts.assign(E.add(this.counts, s));
    }));
  }
  /** [tp, fp, tn, fn] per threshold, on the host. */
  protected async read(): Promise<number[][]> {
    const t = this.thresholds.length;
    if (!this.counts) return [new Array(t).fill(0), new Array(t).fill(0), new Array(t).fill(0), new Array(t).fill(0)];
    const d = await this.counts.data();
    return [0, 1, 2, 3].map((r) => Array.from(d.subarray(r * t, (r + 1) * t)));
  }
  reset(): void {
    this.counts?.dispose();
    this.counts = null;
  }
  override dispose(): void {
    this.reset();
  }
}

/** tp / (tp + fp) at threshold 0.5 (binary; every output element counts). */
export class Precision extends ConfusionMetric {
  constructor(opts: { name?: string; threshold?: number } = {}) {
    super(opts.name ?? "precision", [opts.threshold ?? 0.5]);
  }
  async result(): Promise<number> {
    const [tp, fp] = await this.read();
    return tp[0] + fp[0] > 0 ? tp[0] / (tp[0] + fp[0]) : 0;
  }
}
/** tp / (tp + fn) at threshold 0.5. */
export class Recall extends ConfusionMetric {
  constructor(opts: { name?: string; threshold?: number } = {}) {
    super(opts.name ?? "recall", [opts.threshold ?? 0.5]);
  }
  async result(): Promise<number> {
    const [tp, , , fn] = await this.read();
    return tp[0] + fn[0] > 0 ? tp[0] / (tp[0] + fn[0]) : 0;
  }
}
/**
 * Area under the ROC curve, like Keras' AUC: confusion counts at `numThresholds` evenly spaced
 * thresholds in [0, 1] (the ends nudged by 1e-7 to include every prediction), trapezoidal rule.
 */
export class AUC extends ConfusionMetric {
  constructor(opts: { name?: string; numThresholds?: number } = {}) {
    const n = opts.numThresholds ?? 200;
    const th = Array.from({ length: n }, (_, i) => (i === 0 ? -1e-7 : i === n - 1 ? 1 + 1e-7 : i / (n - 1)));
    super(opts.name ?? "auc", th);
  }
  async result(): Promise<number> {
    const [tp, fp, tn, fn] = await this.read();
    let auc = 0;
    const tpr = tp.map((v, i) => (v + fn[i] > 0 ? v / (v + fn[i]) : 0));
    const fpr = fp.map((v, i) => (v + tn[i] > 0 ? v / (v + tn[i]) : 0));
    for (let i = 0; i < tp.length - 1; i++) auc += (fpr[i] - fpr[i + 1]) * (tpr[i] + tpr[i + 1]) / 2;
    return auc;
  }
}

export type MetricIdentifier = string | Metric | ((yTrue: Tensor, yPred: Tensor) => Tensor);

/** A fresh Metric for an identifier; 'accuracy'/'acc' resolves by the loss kind (or output width when unknown). */
export function getMetric(id: MetricIdentifier, lossKind: LossKind, outputWidth: number | null): Metric {
  if (id instanceof Metric) return id;
  if (typeof id === "function") return new MeanMetricWrapper(id.name || "custom_metric", id);
  const key = normalizeName(id);
  switch (key) {
    case "accuracy":
    case "acc": {
      const kind = lossKind === "sparse_categorical" || lossKind === "categorical" || lossKind === "binary"
        ? lossKind : outputWidth === 1 ? "binary" : "sparse_or_categorical";
      if (kind === "binary") return new MeanMetricWrapper(id, (a, b) => binaryAccuracy(a, b));
      if (kind === "categorical") return new MeanMetricWrapper(id, categoricalAccuracy);
      if (kind === "sparse_categorical") return new MeanMetricWrapper(id, sparseCategoricalAccuracy);
      // Unknown loss: decide per batch from the targets' shape (one-hot vs ids), like Keras.
      return new MeanMetricWrapper(id, (a, b) => (a.ndim === b.ndim && a.shape.at(-1) === b.shape.at(-1) ? categoricalAccuracy(a, b) : sparseCategoricalAccuracy(a, b)));
    }
    case "binaryaccuracy": return new MeanMetricWrapper(snakeCase(id), (a, b) => binaryAccuracy(a, b));
    case "categoricalaccuracy": return new MeanMetricWrapper(snakeCase(id), categoricalAccuracy);
    case "sparsecategoricalaccuracy": return new MeanMetricWrapper(snakeCase(id), sparseCategoricalAccuracy);
    case "mse":
    case "meansquarederror": return new MeanMetricWrapper(id === "mse" ? "mse" : "mean_squared_error", meanSquaredErrorMetric);
    case "mae":
    case "meanabsoluteerror": return new MeanMetricWrapper(id === "mae" ? "mae" : "mean_absolute_error", meanAbsoluteErrorMetric);
    case "precision": return new Precision();
    case "recall": return new Recall();
    case "auc": return new AUC();
  }
  throw new Error(`unknown metric '${id}'; known: accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, mse, mae, precision, recall, auc, or pass a function (yTrue, yPred) => per-example values`);
}

/** keras.metrics-style namespace. */
export const metrics = {
  binaryAccuracy, categoricalAccuracy, sparseCategoricalAccuracy,
  meanSquaredError: meanSquaredErrorMetric, meanAbsoluteError: meanAbsoluteErrorMetric,
  Precision, Recall, AUC,
};

