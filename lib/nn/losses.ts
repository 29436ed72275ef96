/**
 * Losses with Keras' definitions. Each gives a per-example loss [batch] (the mean over the last axis
 * where Keras takes it); models average it over the batch. Crossentropies take `fromLogits`; on
 * probabilities they clip to [1e-7, 1 − 1e-7] like Keras, and a model whose last layer is softmax/
 * sigmoid computes them from the logits instead (exact and stable: no NaN on confident predictions).
 */
import type { Tensor } from "../tensor.js";
import * as E from "../ops/elementwise.js";
import { mean, sum, logSoftmax } from "../ops/reduce.js";
import { checkIndexTensor, gather } from "../ops/movement.js";
import { arange } from "../ops/creation.js";
import { fmt } from "../shape.js";
import { lookup, normalizeName, snakeCase } from "./identifiers.js";

export const EPSILON = 1e-7;

export type LossFunction = (yTrue: Tensor, yPred: Tensor) => Tensor;
/** Which family a loss belongs to: decides the accuracy metric and the logits shortcut. */
export type LossKind = "sparse_categorical" | "categorical" | "binary" | "regression" | "custom";

/** Float labels shaped like yPred: [b] next to [b, 1] gains the axis, ints become floats. */
export function alignTargets(yTrue: Tensor, yPred: Tensor, op: string): Tensor {
  let y = yTrue.dtype === yPred.dtype ? yTrue : E.cast(yTrue, yPred.dtype);
  if (y.ndim === yPred.ndim - 1 && yPred.shape[yPred.ndim - 1] === 1) y = y.reshape([...y.shape, 1]);
  else if (y.ndim === yPred.ndim + 1 && y.shape[y.ndim - 1] === 1) y = y.reshape(y.shape.slice(0, -1));
  if (y.ndim !== yPred.ndim || y.shape.some((d, i) => d !== yPred.shape[i])) {
    throw new Error(`${op}: targets of shape ${fmt(yTrue.shape)} do not match predictions of shape ${fmt(yPred.shape)}` +
      (yPred.shape.at(-1)! > 1 && yTrue.ndim === yPred.ndim - 1 ? "; for integer class labels use loss 'sparse_categorical_crossentropy'" : ""));
  }
  return y;
}

/** Integer labels [batch, ...] for sparse losses ([b, 1] is accepted for [b]). */
export function sparseLabels(yTrue: Tensor, yPred: Tensor, op: string): Tensor {
  let y = yTrue;
  if (y.ndim === yPred.ndim && y.shape[y.ndim - 1] === 1) y = y.reshape(y.shape.slice(0, -1));
  if (y.ndim !== yPred.ndim - 1 || y.shape.some((d, i) => d !== yPred.shape[i])) {
    throw new Error(`${op}: labels of shape ${fmt(yTrue.shape)} do not fit predictions of shape ${fmt(yPred.shape)} (expected ${fmt(yPred.shape.slice(0, -1))} class ids)` +
      (yTrue.ndim === yPred.ndim && yTrue.shape.at(-1) === yPred.shape.at(-1) ? "; these look one-hot: use loss 'categorical_crossentropy'" : ""));
  }
  return y.dtype === "int32" ? y : E.cast(y, "int32");
}

export interface LossOptions {
  fromLogits?: boolean;
  /** For categorical/binary crossentropy: mix the targets with the uniform distribution. */
  labelSmoothing?: number;
  name?: string;
}

/** A loss object (like keras.losses.X): call(yTrue, yPred) → scalar mean; perExample → [batch]. */
export class Loss {
  readonly fromLogits: boolean;
  readonly labelSmoothing: number;
  readonly name: string;
  constructor(readonly kind: LossKind, readonly className: string, private readonly fn: (yTrue: Tensor, yPred: Tensor, fromLogits: boolean, smoothing: number) => Tensor,
    opts: LossOptions = {}, readonly extra: Record<string, number> = {}) {
    this.fromLogits = opts.fromLogits ?? false;
    this.labelSmoothing = opts.labelSmoothing ?? 0;
    this.name = opts.name ?? snakeCase(className);
  }
  /** Loss of each example: [batch] (reduced over the remaining axes). */
  perExample(yTrue: Tensor, yPred: Tensor, fromLogits = this.fromLogits): Tensor {
    const l = this.fn(yTrue, yPred, fromLogits, this.labelSmoothing);
    return l.ndim > 1 ? mean(l, l.shape.slice(1).map((_, i) => i + 1)) : l;
  }
  /** Mean loss over the batch (a scalar). */
  call(yTrue: Tensor, yPred: Tensor): Tensor {
    return mean(this.perExample(yTrue, yPred));
  }
  getConfig(): Record<string, unknown> {
    return { fromLogits: this.fromLogits, labelSmoothing: this.labelSmoothing, name: this.name, ...this.extra };
  }
}

const mseFn = (yt: Tensor, yp: Tensor) => mean(E.square(E.sub(yp, alignTargets(yt, yp, "meanSquaredError"))), -1);
const maeFn = (yt: Tensor, yp: Tensor) => mean(E.abs(E.sub(yp, alignTargets(yt, yp, "meanAbsoluteError"))), -1);
function huberFn(delta: number) {
  return (yt: Tensor, yp: Tensor) => {
    const a = E.abs(E.sub(yp, alignTargets(yt, yp, "huber")));
    const quad = E.minimum(a, delta);
    // 0.5·q² + δ·(|e| − q): quadratic inside δ, linear outside (Keras' formula).
    return mean(E.add(E.mul(E.square(quad), 0.5), E.mul(E.sub(a, quad), delta)), -1);
  };
}
function binaryCE(yt: Tensor, yp: Tensor, fromLogits: boolean, smoothing: number): Tensor {
  let y = alignTargets(yt, yp, "binaryCrossentropy");
  if (smoothing) y = E.add(E.mul(y, 1 - smoothing), 0.5 * smoothing);
  if (fromLogits) {
    // max(z, 0) − z·y + log(1 + exp(−|z|)): exact for any z.
    return mean(E.add(E.sub(E.relu(yp), E.mul(yp, y)), E.log1p(E.exp(E.neg(E.abs(yp))))), -1);
  }
  const p = E.clip(yp, EPSILON, 1 - EPSILON);
  return mean(E.neg(E.add(E.mul(y, E.log(p)), E.mul(E.sub(1, y), E.log(E.sub(1, p))))), -1);
}
function categoricalCE(yt: Tensor, yp: Tensor, fromLogits: boolean, smoothing: number): Tensor {
  let y = alignTargets(yt, yp, "categoricalCrossentropy");
  if (smoothing) y = E.add(E.mul(y, 1 - smoothing), smoothing / yp.shape[yp.ndim - 1]);
  if (fromLogits) return E.neg(sum(E.mul(y, logSoftmax(yp, -1)), -1));
  const p = E.clip(E.div(yp, sum(yp, -1, true)), EPSILON, 1 - EPSILON);
  return E.neg(sum(E.mul(y, E.log(p)), -1));
}
function sparseCategoricalCE(yt: Tensor, yp: Tensor, fromLogits: boolean): Tensor {
  const labels = sparseLabels(yt, yp, "sparseCategoricalCrossentropy");
  const logp = fromLogits ? logSoftmax(yp, -1) : E.log(E.clip(E.div(yp, sum(yp, -1, true)), EPSILON, 1 - EPSILON));
  return E.neg(pickClass(logp, labels));
}

/** values[..., labels[...]]: each row's entry at its class id, by one gather on the flattened values. */
function pickClass(values: Tensor, labels: Tensor): Tensor {
  const c = values.shape[values.ndim - 1];
  const rows = labels.size;
  if (labels.size && (labels.shape.length !== values.ndim - 1)) throw new Error(`sparseCategoricalCrossentropy: labels ${fmt(labels.shape)} do not fit ${fmt(values.shape)}`);
  // The flat index of a label ≥ c would land in the next row: check labels against the class count itself.
  checkIndexTensor("sparseCategoricalCrossentropy", labels, c, values.shape, values.ndim - 1);
  const flatIdx = E.add(E.mul(arange(0, rows, 1, "int32"), c), labels.reshape([rows]));
  return gather(values.reshape([rows * c]), flatIdx, 0).reshape([...labels.shape]);
}

export const meanSquaredError = (opts: LossOptions = {}) => new Loss("regression", "MeanSquaredError", mseFn, opts);
export const meanAbsoluteError = (opts: LossOptions = {}) => new Loss("regression", "MeanAbsoluteError", maeFn, opts);
export const huber = (opts: LossOptions & { delta?: number } = {}) => new Loss("regression", "Huber", huberFn(opts.delta ?? 1), opts, { delta: opts.delta ?? 1 });
export const binaryCrossentropy = (opts: LossOptions = {}) => new Loss("binary", "BinaryCrossentropy", binaryCE, opts);
export const categoricalCrossentropy = (opts: LossOptions = {}) => new Loss("categorical", "CategoricalCrossentropy", categoricalCE, opts);
export const sparseCategoricalCrossentropy = (opts: LossOptions = {}) => new Loss("sparse_categorical", "SparseCategoricalCrossentropy", sparseCategoricalCE, opts);

/** keras.losses-style namespace: `losses.sparseCategoricalCrossentropy({fromLogits: true})`. */
export const losses = {
  meanSquaredError, mse: meanSquaredError, meanAbsoluteError, mae: meanAbsoluteError, huber,
  binaryCrossentropy, categoricalCrossentropy, sparseCategoricalCrossentropy,
};

const FACTORIES: Record<string, (c: Record<string, unknown>) => Loss> = {
  meanSquaredError: (c) => meanSquaredError(c), mse: (c) => meanSquaredError(c),
  meanAbsoluteError: (c) => meanAbsoluteError(c), mae: (c) => meanAbsoluteError(c),
  huber: (c) => huber(c), huberLoss: (c) => huber(c),
  binaryCrossentropy: (c) => binaryCrossentropy(c), categoricalCrossentropy: (c) => categoricalCrossentropy(c),
  sparseCategoricalCrossentropy: (c) => sparseCategoricalCrossentropy(c),
};
const registry = new Map(Object.entries(FACTORIES).map(([k, f]) => [normalizeName(k), f]));

export type LossIdentifier = string | Loss | LossFunction;

/** A Loss from a name ('sparse_categorical_crossentropy', 'mse'), a Loss, or a function (yTrue, yPred) → loss. */
export function getLoss(id: LossIdentifier, config: Record<string, unknown> = {}): Loss {
  if (id instanceof Loss) return id;
  if (typeof id === "function") {
    const fn = id;
    return new Loss("custom", fn.name || "custom_loss", (yt, yp) => fn(yt, yp), { name: fn.name || "custom_loss" });
  }
  return lookup("loss", registry, id, () => Object.keys(FACTORIES).map(snakeCase))(config);
}
