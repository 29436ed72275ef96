/**
 * Preprocessing: scalers fitted on training data and applied unchanged to test data (so test
 * statistics never leak into training), and a seeded, optionally stratified train/test split.
 */
import type { Tensor, Axis } from "../tensor.js";
import { keep, tidy } from "../memory.js";
import { asHost, toTensor, type HostArray } from "./host.js";
import { createRng, permutation } from "./prng.js";

/** A transform fitted on training data. Holds its statistics as tensors; `dispose()` frees them. */
export interface FittedScaler {
  /** Apply to any tensor whose trailing shape matches the data it was fitted on. Returns a new tensor. */
  transform(x: Tensor): Tensor;
  /** Undo `transform` (e.g. to report predictions in the original units). */
  inverseTransform(x: Tensor): Tensor;
  dispose(): void;
}

/** Mean and standard deviation per feature (broadcastable, keepdims shape). */
export interface StandardScaler extends FittedScaler {
  mean: Tensor;
  std: Tensor;
}

/** Minimum and maximum per feature (broadcastable, keepdims shape) and the target range. */
export interface MinMaxScaler extends FittedScaler {
  min: Tensor;
  max: Tensor;
  range: [number, number];
}

function checkFloat(op: string, x: Tensor): void {
  if (x.shape.length === 0 || x.shape[0] < 1) throw new Error(`${op}: need at least one example along axis 0; got shape [${x.shape.join(", ")}]`);
}

/**
 * Fit a standardizer: per-feature mean and (population) standard deviation over `axis` (default 0,
 * the example axis; `null` for one global mean/std). Features with zero spread get std 1, so they
 * map to 0 instead of NaN.
 *
 * @example
 * const scaler = standardize(xTrain);
 * const xTrainS = scaler.transform(xTrain), xTestS = scaler.transform(xTest); // test uses train's mean/std
 */
export function standardize(x: Tensor, opts: { axis?: Axis } = {}): StandardScaler {
  checkFloat("standardize", x);
  const axis = opts.axis === undefined ? 0 : opts.axis;
  const { mean, std } = tidy(() => {
    const xf = x.dtype === "float32" ? x : x.cast("float32");
    const mean = xf.mean(axis, true);
    const spread = xf.sub(mean).square().mean(axis, true).sqrt();
    const std = spread.add(spread.eq(0).cast("float32")); // zero spread → 1
    return { mean, std };
  });
  keep(mean);
  keep(std);
  return {
    mean,
    std,
    transform: (t) => tidy(() => (t.dtype === "float32" ? t : t.cast("float32")).sub(mean).div(std)),
    inverseTransform: (t) => tidy(() => t.mul(std).add(mean)),
    dispose: () => {
      mean.dispose();
      std.dispose();
    },
  };
}

/**
 * Fit a min–max scaler mapping each feature's training range to `range` (default [0, 1]), over `axis`
 * (default 0; `null` for one global min/max). Constant features map to range[0].
 *
 * @example
 * const scaler = normalize(xTrain); const xTestN = scaler.transform(xTest); // may fall outside [0,1]
 */
export function normalize(x: Tensor, opts: { axis?: Axis; range?: [number, number] } = {}): MinMaxScaler {
  checkFloat("normalize", x);
  const axis = opts.axis === undefined ? 0 : opts.axis;
  const range = opts.range ?? [0, 1];
  if (!(range[1] > range[0])) throw new Error(`normalize: range must be [low, high] with high > low, got [${range.join(", ")}]`);
  const { min, max, width } = tidy(() => {
    const xf = x.dtype === "float32" ? x : x.cast("float32");
    const min = xf.min(axis, true);
    const max = xf.max(axis, true);
    const w = max.sub(min);
    return { min, max, width: w.add(w.eq(0).cast("float32")) }; // zero width → 1
  });
  keep(min);
  keep(max);
  keep(width);
  const scale = range[1] - range[0];
  return {
    min,
    max,
    range,
    transform: (t) => tidy(() => (t.dtype === "float32" ? t : t.cast("float32")).sub(min).div(width).mul(scale).add(range[0])),
    inverseTransform: (t) => tidy(() => t.sub(range[0]).div(scale).mul(width).add(min)),
    dispose: () => {
      min.dispose();
      max.dispose();
      width.dispose();
    },
  };
}

export interface TrainTestSplitOptions {
  /** Fraction of examples for the test set (0 < f < 1), or a count (integer ≥ 1). Default 0.25. */
  testSize?: number;
  /** Seed of the shuffle (default 0): the same seed gives the same split. */
  seed?: number;
  /** Labels to stratify by (int32 [N]), or `true` for `y`. Each class keeps its proportion in both parts. */
  stratify?: Tensor | boolean;
  /** Shuffle before splitting (default true). false: the test set is the last examples. */
  shuffle?: boolean;
}

/** Gather rows of a host array into a new host array. */
function gatherRows(h: HostArray, rows: Int32Array | number[]): HostArray {
  const rowSize = h.shape.slice(1).reduce((a, b) => a * b, 1);
  const out = h.dtype === "int32" ? new Int32Array(rows.length * rowSize) : new Float32Array(rows.length * rowSize);
  for (let i = 0; i < rows.length; i++) out.set(h.data.subarray(rows[i] * rowSize, (rows[i] + 1) * rowSize), i * rowSize);
  return { dtype: h.dtype, shape: [rows.length, ...h.shape.slice(1)], data: out };
}

/**
 * Split examples (rows along axis 0) into train and test sets, shuffled with a seed, optionally
 * stratified. Async because it reads the tensors back. Returns new tensors; the inputs are untouched.
 *
 * @example
 * const { xTrain, xTest, yTrain, yTest } = await trainTestSplit(x, y, { testSize: 0.2, seed: 42, stratify: y });
 */
export async function trainTestSplit(x: Tensor, y: Tensor, opts?: TrainTestSplitOptions): Promise<{ xTrain: Tensor; xTest: Tensor; yTrain: Tensor; yTest: Tensor }>;
export async function trainTestSplit(x: Tensor, y?: undefined, opts?: TrainTestSplitOptions): Promise<{ xTrain: Tensor; xTest: Tensor }>;
export async function trainTestSplit(x: Tensor, y: Tensor | undefined, opts: TrainTestSplitOptions = {}): Promise<{ xTrain: Tensor; xTest: Tensor; yTrain?: Tensor; yTest?: Tensor }> {
  const n = x.shape[0];
  if (x.shape.length === 0 || !(n >= 2)) throw new Error(`trainTestSplit: x needs at least 2 examples along axis 0; got shape [${x.shape.join(", ")}]`);
  if (y && y.shape[0] !== n) throw new Error(`trainTestSplit: x has ${n} examples but y has shape [${y.shape.join(", ")}]; first dimensions must match`);
  const testSize = opts.testSize ?? 0.25;
  const nTest = testSize < 1 ? Math.round(testSize * n) : testSize;
  if (!(testSize > 0) || !Number.isInteger(nTest) || nTest < 1 || nTest >= n) {
    throw new Error(`trainTestSplit: testSize must be a fraction in (0, 1) or a count in 1…${n - 1} leaving both parts non-empty; got ${testSize} (${nTest} of ${n})`);
  }
  const rng = createRng(opts.seed ?? 0);
  let testRows: number[] = [], trainRows: number[] = [];
  const strata = opts.stratify === true ? y : opts.stratify || undefined;
  if (opts.stratify === true && !y) throw new Error(`trainTestSplit: stratify: true needs labels y (or pass the labels tensor as stratify)`);
  if (strata) {
    if (strata.shape.length !== 1 || strata.shape[0] !== n) {
      throw new Error(`trainTestSplit: stratify needs one label per example, shape [${n}]; got [${strata.shape.join(", ")}]`);
    }
    const labels = await strata.data();
    const byClass = new Map<number, number[]>();
    labels.forEach((c, i) => {
      const list = byClass.get(c) ?? [];
      list.push(i);
      byClass.set(c, list);
    });
    // Give each class round(share × nTest) test rows, then fix rounding so the total is exactly nTest.
    const classes = [...byClass.keys()].sort((a, b) => a - b);
    const quota = classes.map((c) => Math.round((byClass.get(c)!.length * nTest) / n));
    let diff = nTest - quota.reduce((a, b) => a + b, 0);
    for (let k = 0, tries = 0; diff !== 0 && tries < 4 * classes.length; k = (k + 1) % classes.length, tries++) {
      const size = byClass.get(classes[k])!.length;
      if (diff > 0 && quota[k] < size) (quota[k]++, diff--, (tries = 0));
      else if (diff < 0 && quota[k] > 0) (quota[k]--, diff++, (tries = 0));
    }
    classes.forEach((c, k) => {
      const rows = byClass.get(c)!;
      const p = permutation(rows.length, rng);
      for (let j = 0; j < rows.length; j++) (j < quota[k] ? testRows : trainRows).push(rows[p[j]]);
    });
    const order = (rows: number[]) => Array.from(permutation(rows.length, rng), (j) => rows[j]);
    testRows = order(testRows);
    trainRows = order(trainRows);
  } else {
    const p = opts.shuffle === false ? Int32Array.from({ length: n }, (_, i) => i) : permutation(n, rng);
    trainRows = Array.from(p.subarray(0, n - nTest));
    testRows = Array.from(p.subarray(n - nTest));
  }
  const xh = asHost(await x.data(), x.shape, x.dtype);
  const out: { xTrain: Tensor; xTest: Tensor; yTrain?: Tensor; yTest?: Tensor } = {
    xTrain: toTensor(gatherRows(xh, trainRows)),
    xTest: toTensor(gatherRows(xh, testRows)),
  };
  if (y) {
    const yh = asHost(await y.data(), y.shape, y.dtype);
    out.yTrain = toTensor(gatherRows(yh, trainRows));
    out.yTest = toTensor(gatherRows(yh, testRows));
  }
  return out;
}
