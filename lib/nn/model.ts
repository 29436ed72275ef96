/**
 * Model and Sequential: compile / fit / evaluate / predict in Keras' words. Each training step runs
 * in one tidy() (memory stays flat across epochs); the running loss and metrics accumulate on the
 * device and are read only when progress or a callback needs them. fit stops after the current
 * batch, weights consistent, on `model.stopTraining = true`, Ctrl-C (outside notebooks) or the
 * notebook kernel's interrupt flag.
 */
import { Tensor, type NestedArray } from "../tensor.js";
import type { TypedArray } from "../dtype.js";
import * as E from "../ops/elementwise.js";
import { mean } from "../ops/reduce.js";
import { tensor, zeros } from "../ops/creation.js";
import { argmax } from "../ops/reduce.js";
import { concat, gather } from "../ops/movement.js";
import { generator } from "../ops/random.js";
import { keep, tidy } from "../memory.js";
import { noGrad } from "../autograd/mode.js";
import { getBackend } from "../backend/registry.js";
import { fmt } from "../shape.js";
import { Layer, type CallOptions, type Shape } from "./layer.js";
import { getLoss, type Loss, type LossIdentifier } from "./losses.js";
import { getMetric, type Metric, type MetricIdentifier } from "./metrics.js";
import { getOptimizer, type Optimizer, type OptimizerIdentifier } from "../optim/index.js";
import { History, type CallbackHooks } from "./callbacks.js";
import { ProgressReporter, displayBridge, formatLogs, progressMode, type Logs } from "./progress.js";
import { summaryData, summaryHTML, summaryText } from "./summary.js";
import { uniqueName } from "./identifiers.js";
import { serializeLayer, type LayerConfig } from "./registry.js";

export type InputData = Tensor | NestedArray | TypedArray;

/** What fit/evaluate accept instead of tensors: an async iterable of `{xs, ys}` batches (lib/data's Dataset). */
export interface BatchSource {
  [Symbol.asyncIterator](): AsyncIterator<{ xs: Tensor; ys?: Tensor }>;
  readonly size?: number;
}

export interface CompileArgs {
  /** 'adam', 'sgd', 'rmsprop' (Keras' default), 'adagrad', 'adamw', or an Optimizer. */
  optimizer?: OptimizerIdentifier;
  /** 'sparse_categorical_crossentropy', 'binary_crossentropy', 'mse', ..., a Loss, or (yTrue, yPred) => loss. */
  loss: LossIdentifier;
  /** 'accuracy', 'mse', 'mae', 'precision', 'recall', 'auc', Metric objects or (yTrue, yPred) => per-example values. */
  metrics?: MetricIdentifier[];
}

export interface FitArgs {
  epochs?: number;
  /** Default 32. Ignored for datasets (they are batched already). */
  batchSize?: number;
  /** Fraction of the data (taken from the end, before shuffling, like Keras) held out for validation. */
  validationSplit?: number;
  validationData?: [InputData, InputData] | BatchSource;
  validationBatchSize?: number;
  /** Reshuffle the training examples every epoch (default true). */
  shuffle?: boolean;
  /** Weight of each class in the loss: `{0: 1, 1: 5}`. */
  classWeight?: Record<number, number>;
  /** Epoch to start counting from (to resume training). */
  initialEpoch?: number;
  callbacks?: CallbackHooks[];
  /** 0 silent, 1 progress bar (one line per epoch when not a terminal), 2 one line per epoch. */
  verbose?: 0 | 1 | 2 | "auto";
  /** Read the running loss every N batches for batch callbacks (default 1 on cpu, 20 on a GPU); the progress display reads only when it redraws. */
  logEvery?: number;
}

export interface EvaluateArgs {
  batchSize?: number;
  verbose?: 0 | 1;
}

const isSource = (x: unknown): x is BatchSource =>
  !!x && typeof x === "object" && !(x instanceof Tensor) && typeof (x as BatchSource)[Symbol.asyncIterator] === "function";

function toTensor(x: InputData, what: string, float: boolean): Tensor {
  if (x instanceof Tensor) return x;
  try {
    const t = tensor(x as NestedArray);
    return float && t.dtype !== "float32" ? castToFloat(t) : t;
  } catch (e) {
    throw new Error(`${what}: could not turn the data into a tensor: ${(e as Error).message}`);
  }
}
function castToFloat(t: Tensor): Tensor {
  const c = t.cast("float32");
  t.dispose();
  return c;
}

const interruptSymbol = Symbol.for("dawnet.interrupt");
const kernelInterrupted = () => (globalThis as Record<symbol, unknown>)[interruptSymbol] === true;
const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

/**
 * A model: layers plus training. Subclass it and implement `call` (layers kept as properties are
 * found automatically), or use Sequential.
 */
export class Model {
  name: string;
  /** Set to true (e.g. from a callback) to end fit() after the current batch. */
  stopTraining = false;
  optimizer: Optimizer | null = null;
  loss: Loss | null = null;
  /** The metric identifiers given to compile. */
  metricIds: MetricIdentifier[] = [];
  /** @internal */ compileConfig: { optimizer: unknown; loss: unknown; metrics: unknown } | null = null;
  private trainMetrics: Metric[] = [];
  private lossSum: Tensor | null = null;

  constructor(args: { name?: string } = {}) {
    this.name = args.name ?? uniqueName(this.constructor.name === "Sequential" ? "sequential" : "model");
  }

  /** The layers, in order (for subclassed models: the Layer-valued properties). */
  get layers(): Layer[] {
    const out: Layer[] = [];
    for (const v of Object.values(this)) {
      if (v instanceof Layer) out.push(v);
      else if (Array.isArray(v)) for (const x of v) if (x instanceof Layer) out.push(x);
    }
    return out;
  }

  /** The forward computation. Sequential runs its layers; subclasses override. */
  call(_x: Tensor, _opts: CallOptions = {}): Tensor {
    throw new Error(`${this.name}: a subclassed Model must implement call(x, {training})`);
  }

  /** Runs the model on x (builds it on first use). */
  apply(x: Tensor, opts: CallOptions = {}): Tensor {
    return this.call(x, opts);
  }

  /** The forward pass for the loss: logits too when the last layer ends in softmax/sigmoid. */
  protected forwardWithLogits(x: Tensor, training: boolean): { output: Tensor; logits: Tensor | null; activation: string | null } {
    return { output: this.call(x, { training }), logits: null, activation: null };
  }

  get built(): boolean {
    const ls = this.layers;
    return ls.length > 0 && ls.every((l) => l.built);
  }

  /** Creates the weights for inputs of `inputShape` (batch axis first, null for the batch). */
  build(inputShape: Shape): void {
    noGrad(() => tidy(() => { this.call(zeros(inputShape.map((d) => d ?? 1))); }));
  }

  get weights(): Tensor[] {
    return this.layers.flatMap((l) => l.weights);
  }
  get trainableWeights(): Tensor[] {
    return this.layers.flatMap((l) => l.trainableWeights);
  }
  get nonTrainableWeights(): Tensor[] {
    return this.layers.flatMap((l) => l.nonTrainableWeights);
  }
  /** Copies of all weights (dispose them when done). */
  getWeights(): Tensor[] {
    return this.weights.map((w) => w.clone());
  }
  /** Replaces all weights (same order and shapes as `weights`). */
  setWeights(values: readonly Tensor[]): void {
    const ws = this.weights;
    if (values.length !== ws.length) throw new Error(`${this.name}.setWeights: the model has ${ws.length} weights, got ${values.length}`);
    let i = 0;
    for (const l of this.layers) {
      const n = l.weights.length;
      l.setWeights(values.slice(i, i + n));
      i += n;
    }
  }

  protected requireBuilt(op: string): void {
    if (!this.built) {
      throw new Error(`${this.name}.${op}: the model is not built yet; give the first layer an inputShape (e.g. new Dense(10, {inputShape: [8]})), call model.build([null, ...shape]) or fit it on data first`);
    }
  }

  countParams(): number {
    this.requireBuilt("countParams");
    return this.layers.reduce((n, l) => n + l.countParams(), 0);
  }

  /** Keras' summary table as a string. */
  summaryText(lineLength = 65): string {
    this.requireBuilt("summary");
    return summaryText(summaryData(this.name, this.layers), lineLength);
  }
  /** Prints Keras' summary table (layers, output shapes, parameter counts). */
  summary(lineLength = 65, print: (line: string) => void = console.log): void {
    print(this.summaryText(lineLength));
  }
  toString(): string {
    return this.built ? this.summaryText() : `${this.constructor.name} '${this.name}' with ${this.layers.length} layers (not built yet)`;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
  /** In Jupyter: the summary as an HTML table. */
  [Symbol.for("jupyter.mimebundle")](): Record<string, string> {
    if (!this.built) return { "text/plain": this.toString() };
    const d = summaryData(this.name, this.layers);
    return { "text/html": summaryHTML(d), "text/plain": summaryText(d) };
  }

  // ---------------------------------------------------------------- compile

  /** Chooses the optimizer, the loss and the metrics. */
  compile(args: CompileArgs): void {
    if (!args || args.loss === undefined) throw new Error(`${this.name}.compile: a loss is required, e.g. compile({optimizer: "adam", loss: "sparse_categorical_crossentropy", metrics: ["accuracy"]})`);
    this.optimizer?.dispose();
    this.optimizer = getOptimizer(args.optimizer ?? "rmsprop");
    this.loss = getLoss(args.loss);
    this.metricIds = [...(args.metrics ?? [])];
    for (const m of this.metricIds) this.makeMetric(m); // validate names now, not at the first batch
    this.compileConfig = {
      optimizer: { className: this.optimizer.className, config: this.optimizer.getConfig() },
      loss: typeof args.loss === "string" ? args.loss : typeof args.loss === "function" ? null : { className: this.loss.className, config: this.loss.getConfig() },
      metrics: this.metricIds.map((m) => (typeof m === "string" ? m : null)),
    };
  }

  private makeMetric(id: MetricIdentifier): Metric {
    const width = this.outputWidth();
    return getMetric(id, this.loss?.kind ?? "custom", width);
  }
  private outputWidth(): number | null {
    const last = this.layers.at(-1);
    return last?.outputShape?.at(-1) ?? null;
  }
  private requireCompiled(op: string): { optimizer: Optimizer; loss: Loss } {
    if (!this.optimizer || !this.loss) throw new Error(`${this.name}.${op}: call compile({optimizer, loss, metrics}) first`);
    return { optimizer: this.optimizer, loss: this.loss };
  }

  // ---------------------------------------------------------------- one step

  /** The training loss for a batch: data loss (from logits where possible) + regularization. */
  private lossOf(yTrue: Tensor, fw: { output: Tensor; logits: Tensor | null; activation: string | null }, sampleWeight: Tensor | null): Tensor {
    const loss = this.loss!;
    const logitsMatch = fw.logits && !loss.fromLogits &&
      ((fw.activation === "softmax" && (loss.kind === "categorical" || loss.kind === "sparse_categorical")) || (fw.activation === "sigmoid" && loss.kind === "binary"));
    const perExample = logitsMatch ? loss.perExample(yTrue, fw.logits!, true) : loss.perExample(yTrue, fw.output);
    let l = sampleWeight && perExample.ndim === 1 ? mean(E.mul(perExample, sampleWeight)) : mean(perExample);
    for (const layer of this.layers) for (const r of layer.regularizationLosses()) l = E.add(l, r);
    return l;
  }

  /** One optimizer step (synchronous, tidy). Adds to the running loss and metrics. */
  private trainStep(x: Tensor, y: Tensor, sampleWeight: Tensor | null, metrics: Metric[]): void {
    const { optimizer } = this.requireCompiled("fit");
    if (!this.built) this.build([null, ...x.shape.slice(1)]);
    const params = this.trainableWeights;
    optimizer.zeroGrad(params);
    tidy(() => {
      const fw = this.forwardWithLogits(x, true);
      const loss = this.lossOf(y, fw, sampleWeight);
      loss.backward();
      optimizer.step(params);
      optimizer.zeroGrad(params);
      noGrad(() => {
        const contrib = E.mul(loss, x.shape[0]);
        if (!this.lossSum) this.lossSum = keep(contrib);
        else this.lossSum.assign(E.add(this.lossSum, contrib));
        for (const m of metrics) m.update(y, fw.output);
      });
    });
  }

  /** Forward pass for evaluation: adds to the running loss and metrics. */
  private testStep(x: Tensor, y: Tensor, metrics: Metric[], acc: { sum: Tensor | null }): void {
    noGrad(() => tidy(() => {
      const fw = this.forwardWithLogits(x, false);
      const contrib = E.mul(this.lossOf(y, fw, null), x.shape[0]);
      if (!acc.sum) acc.sum = keep(contrib);
      else acc.sum.assign(E.add(acc.sum, contrib));
      for (const m of metrics) m.update(y, fw.output);
    }));
  }

  private async readLogs(lossSum: Tensor | null, count: number, metrics: Metric[]): Promise<Logs> {
    const logs: Logs = { loss: lossSum && count ? (await lossSum.item()) / count : NaN };
    for (const m of metrics) logs[m.name] = await m.result();
    return logs;
  }

  private resetTrainState(): void {
    this.lossSum?.dispose();
    this.lossSum = null;
    for (const m of this.trainMetrics) m.reset();
  }

  // ---------------------------------------------------------------- fit

  /**
   * Trains for `epochs` passes over (x, y) or over a dataset of `{xs, ys}` batches.
   * Returns the History (`history.history.loss`, `.val_loss`, one entry per epoch).
   */
  async fit(x: InputData | BatchSource, y?: InputData | FitArgs, args: FitArgs = {}): Promise<History> {
    if (isSource(x)) return this.fitSource(x, (y ?? {}) as FitArgs);
    if (y === undefined || (typeof y === "object" && !(y instanceof Tensor) && !Array.isArray(y) && !ArrayBuffer.isView(y))) {
      throw new Error(`${this.name}.fit: needs targets: fit(x, y, {epochs, batchSize}) (or a dataset of {xs, ys} batches: fit(ds, {epochs}))`);
    }
    this.requireCompiled("fit");
    const owned: Tensor[] = [];
    const xs = toTensor(x, "fit(x)", true), ys = toTensor(y as InputData, "fit(y)", false);
    if (xs !== x) owned.push(xs);
    if (ys !== y) owned.push(ys);
    try {
      if (xs.shape[0] !== ys.shape[0]) {
        throw new Error(`${this.name}.fit: x has ${xs.shape[0]} examples (shape ${fmt(xs.shape)}) but y has ${ys.shape[0]} (shape ${fmt(ys.shape)})`);
      }
      const batchSize = args.batchSize ?? 32;
      if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`${this.name}.fit: batchSize must be a positive integer, got ${batchSize}`);
      let xTrain = xs, yTrain = ys;
      let validation: [Tensor, Tensor] | BatchSource | null = null;
      if (args.validationData) {
        if (isSource(args.validationData)) validation = args.validationData;
        else {
          const [vx, vy] = args.validationData;
          const vxt = toTensor(vx, "fit(validationData x)", true), vyt = toTensor(vy, "fit(validationData y)", false);
          if (vxt !== vx) owned.push(vxt);
          if (vyt !== vy) owned.push(vyt);
          validation = [vxt, vyt];
        }
      } else if (args.validationSplit) {
        const s = args.validationSplit;
        if (!(s > 0 && s < 1)) throw new Error(`${this.name}.fit: validationSplit must be in (0, 1), got ${s}`);
        const n = xs.shape[0];
        const splitAt = Math.round(n * (1 - s));
        if (splitAt <= 0 || splitAt >= n) throw new Error(`${this.name}.fit: validationSplit ${s} of ${n} examples leaves an empty training or validation set`);
        xTrain = keep(xs.slice([0], [splitAt]));
        yTrain = keep(ys.slice([0], [splitAt]));
        const xv = keep(xs.slice([splitAt])), yv = keep(ys.slice([splitAt]));
        owned.push(xTrain, yTrain, xv, yv);
        validation = [xv, yv];
      }
      const n = xTrain.shape[0];
      const steps = Math.ceil(n / batchSize);
      const shuffle = args.shuffle ?? true;
      const source = (): BatchSource => ({
        size: steps,
        [Symbol.asyncIterator]: async function* () {
          const order = new Int32Array(n);
          for (let i = 0; i < n; i++) order[i] = i;
          if (shuffle) {
            const g = generator();
            for (let i = n - 1; i > 0; i--) {
              const j = Math.floor(g.uniform() * (i + 1));
              const t = order[i]; order[i] = order[j]; order[j] = t;
            }
          }
          for (let start = 0; start < n; start += batchSize) {
            const end = Math.min(n, start + batchSize);
            if (!shuffle) {
              yield { xs: xTrain.slice([start], [end - start]), ys: yTrain.slice([start], [end - start]) };
            } else {
              const idx = tensor(order.subarray(start, end), { dtype: "int32" });
              const b = { xs: gather(xTrain, idx, 0), ys: gather(yTrain, idx, 0) };
              idx.dispose();
              yield b;
            }
          }
        },
      });
      if (!this.built) this.build([null, ...xTrain.shape.slice(1)]);
      await this.checkClassLabels(ys);
      return await this.trainLoop(source, steps, args, validation, args.validationBatchSize ?? batchSize);
    } finally {
      for (const t of owned) t.dispose();
    }
  }

  /** Class ids must be in [0, classes): checked once per fit (GPU gathers would silently read zeros). */
  private async checkClassLabels(y: Tensor): Promise<void> {
    const classes = this.outputWidth();
    if (this.loss?.kind !== "sparse_categorical" || classes === null || y.size === 0) return;
    const d = await y.data();
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < d.length; i++) {
      if (d[i] < lo) lo = d[i];
      if (d[i] > hi) hi = d[i];
    }
    if (lo < 0 || hi >= classes || !Number.isInteger(lo) || !Number.isInteger(hi)) {
      throw new Error(`${this.name}.fit: labels range from ${lo} to ${hi} but the model outputs ${classes} classes (ids 0…${classes - 1}); ` +
        `check the last layer's units${lo >= 1 ? " or shift 1-based labels with y.sub(1)" : ""}`);
    }
  }

  private fitSource(ds: BatchSource, args: FitArgs): Promise<History> {
    this.requireCompiled("fit");
    let validation: [Tensor, Tensor] | BatchSource | null = null;
    if (args.validationData) {
      if (isSource(args.validationData)) validation = args.validationData;
      else validation = [toTensor(args.validationData[0], "fit(validationData x)", true), toTensor(args.validationData[1], "fit(validationData y)", false)];
    }
    if (args.validationSplit) throw new Error(`${this.name}.fit: validationSplit needs tensors; for a dataset split it first (ds.split([0.9, 0.1])) and pass validationData`);
    return this.trainLoop(() => ds, ds.size, args, validation, args.validationBatchSize ?? args.batchSize ?? 32);
  }

  private classWeights(cw: Record<number, number> | undefined, y: Tensor): Tensor | null {
    if (!cw) return null;
    const keys = Object.keys(cw).map(Number);
    const table = new Float32Array(Math.max(...keys) + 1).fill(1);
    for (const k of keys) table[k] = cw[k];
    return noGrad(() => tidy(() => {
      let labels: Tensor;
      if (y.dtype === "int32") labels = y.reshape([y.shape[0], -1]).idx(null, 0);
      else if (y.ndim > 1 && y.shape[y.ndim - 1] > 1) labels = argmax(y, -1);
      else labels = E.round(y.reshape([-1])).cast("int32");
      return gather(tensor(table), labels.reshape([-1]), 0);
    }));
  }

  private async trainLoop(source: () => BatchSource, steps: number | undefined, args: FitArgs,
    validation: [Tensor, Tensor] | BatchSource | null, validationBatchSize: number): Promise<History> {
    const epochs = args.epochs ?? 1;
    const verbose = args.verbose ?? "auto";
    const history = new History();
    // History last (as in Keras) so it records what other callbacks add to the logs (learning_rate, ...).
    const callbacks: CallbackHooks[] = [...(args.callbacks ?? []), history];
    const params = { epochs, steps, verbose };
    for (const cb of callbacks) {
      cb.setModel?.(this);
      cb.setParams?.(params);
    }
    const reporter = new ProgressReporter(progressMode(verbose), epochs, steps, undefined, { validation: validation !== null });
    await reporter.start();
    const batchBegin = callbacks.filter((c) => c.onBatchBegin);
    const batchEnd = callbacks.filter((c) => c.onBatchEnd);
    // Batch callbacks get logs every readEvery batches; the progress display reads only when it redraws.
    const readEvery = callbacks.some((c) => c.needsEveryBatch) ? 1 : Math.max(1, args.logEvery ?? (getBackend() === "cpu" ? 1 : 20));

    this.trainMetrics.forEach((m) => m.dispose());
    this.trainMetrics = this.metricIds.map((m) => this.makeMetric(m));
    this.stopTraining = false;
    let interruptedBy: string | null = null;
    let sigints = 0;
    const onSigint = () => {
      if (++sigints === 1) {
        interruptedBy = "Ctrl-C";
        this.stopTraining = true;
      } else {
        process.off("SIGINT", onSigint);
        process.kill(process.pid, "SIGINT");
      }
    };
    const useSigint = !displayBridge();
    if (useSigint) process.on("SIGINT", onSigint);
    let lastYield = performance.now();

    try {
      for (const cb of callbacks) await cb.onTrainBegin?.({});
      for (let epoch = args.initialEpoch ?? 0; epoch < epochs; epoch++) {
        this.resetTrainState();
        for (const cb of callbacks) await cb.onEpochBegin?.(epoch, {});
        reporter.onEpochBegin(epoch);
        let step = 0, seen = 0;
        let batchLogs: Logs = {};
        for await (const batch of source()) {
          try {
            for (const cb of batchBegin) await cb.onBatchBegin!(step, { batch: step, size: batch.xs.shape[0] });
            if (!batch.ys) throw new Error(`${this.name}.fit: the dataset's batches have no targets (ys); fit needs {xs, ys}`);
            const sw = this.classWeights(args.classWeight, batch.ys);
            this.trainStep(batch.xs, batch.ys, sw, this.trainMetrics);
            sw?.dispose();
            seen += batch.xs.shape[0];
          } finally {
            batch.xs.dispose();
            batch.ys?.dispose();
          }
          step++;
          let fresh: Logs | null = null;
          if ((batchEnd.length > 0 && (step % readEvery === 0 || step === steps)) || reporter.due()) {
            fresh = await this.readLogs(this.lossSum, seen, this.trainMetrics);
            batchLogs = fresh;
          }
          const drawing = reporter.onBatchEnd(step - 1, fresh, step);
          if (drawing) await drawing;
          for (const cb of batchEnd) await cb.onBatchEnd!(step - 1, { ...batchLogs });
          if (kernelInterrupted()) {
            // The kernel resets the flag when the cell ends (kernel/README.md): resetting it here would let
            // the rest of the cell, e.g. the next fit() in a loop, keep training.
            interruptedBy = "the kernel's interrupt";
            this.stopTraining = true;
          }
          if (this.stopTraining) break;
          if (performance.now() - lastYield > 50) {
            await yieldToEventLoop(); // lets Ctrl-C and kernel interrupts in
            lastYield = performance.now();
          }
        }
        const logs = await this.readLogs(this.lossSum, seen, this.trainMetrics);
        if (validation && !interruptedBy) {
          const v = await this.evaluateInternal(validation, validationBatchSize);
          for (const [k, val] of Object.entries(v)) logs[`val_${k}`] = val;
        }
        for (const cb of callbacks) await cb.onEpochEnd?.(epoch, logs);
        const drawing = reporter.onEpochEnd(epoch, logs, step);
        if (drawing) await drawing;
        if (this.stopTraining) {
          if (interruptedBy) reporter.note(`Training interrupted by ${interruptedBy} at epoch ${epoch + 1}, batch ${step}; the weights are those after that batch.`);
          break;
        }
      }
      for (const cb of callbacks) await cb.onTrainEnd?.({});
    } finally {
      if (useSigint) process.off("SIGINT", onSigint);
      this.resetTrainState();
      await reporter.finish();
    }
    return history;
  }

  // ---------------------------------------------------------------- evaluate / predict

  private async evaluateInternal(data: [Tensor, Tensor] | BatchSource, batchSize: number): Promise<Logs> {
    this.requireCompiled("evaluate");
    const metrics = this.metricIds.map((m) => this.makeMetric(m));
    const acc: { sum: Tensor | null } = { sum: null };
    let count = 0;
    try {
      if (isSource(data)) {
        for await (const b of data) {
          try {
            if (!b.ys) throw new Error(`${this.name}.evaluate: the dataset's batches have no targets (ys)`);
            this.testStep(b.xs, b.ys, metrics, acc);
            count += b.xs.shape[0];
          } finally {
            b.xs.dispose();
            b.ys?.dispose();
          }
        }
      } else {
        const [x, y] = data;
        if (x.shape[0] !== y.shape[0]) throw new Error(`${this.name}.evaluate: x has ${x.shape[0]} examples (shape ${fmt(x.shape)}) but y has ${y.shape[0]} (shape ${fmt(y.shape)})`);
        const n = x.shape[0];
        if (!this.built) this.build([null, ...x.shape.slice(1)]);
        for (let s = 0; s < n; s += batchSize) {
          const len = Math.min(batchSize, n - s);
          const xb = x.slice([s], [len]), yb = y.slice([s], [len]);
          this.testStep(xb, yb, metrics, acc);
          xb.dispose();
          yb.dispose();
          count += len;
        }
      }
      return await this.readLogs(acc.sum, count, metrics);
    } finally {
      acc.sum?.dispose();
      metrics.forEach((m) => m.dispose());
    }
  }

  /** Loss and metrics on (x, y) or a dataset: `{loss, accuracy, ...}`. */
  async evaluate(x: InputData | BatchSource, y?: InputData | EvaluateArgs, args: EvaluateArgs = {}): Promise<Logs> {
    const t0 = performance.now();
    let logs: Logs;
    if (isSource(x)) {
      args = (y ?? {}) as EvaluateArgs;
      logs = await this.evaluateInternal(x, args.batchSize ?? 32);
    } else {
      if (y === undefined) throw new Error(`${this.name}.evaluate: needs targets: evaluate(x, y)`);
      const xs = toTensor(x, "evaluate(x)", true), ys = toTensor(y as InputData, "evaluate(y)", false);
      try {
        logs = await this.evaluateInternal([xs, ys], args.batchSize ?? 32);
      } finally {
        if (xs !== x) xs.dispose();
        if (ys !== y) ys.dispose();
      }
    }
    const verbose = args.verbose ?? (displayBridge() ? 0 : 1);
    if (verbose) console.log(`evaluate - ${((performance.now() - t0) / 1000).toFixed(1)}s - ${formatLogs(logs)}`);
    return logs;
  }

  /** The model's outputs for x, computed in batches of `batchSize` (default 32). */
  predict(x: InputData, args: { batchSize?: number } = {}): Tensor {
    const xs = toTensor(x, "predict(x)", true);
    try {
      const bs = args.batchSize ?? 32;
      const n = xs.shape[0];
      if (!this.built) this.build([null, ...xs.shape.slice(1)]);
      return noGrad(() => {
        if (n <= bs) return tidy(() => this.call(xs, { training: false }));
        const parts: Tensor[] = [];
        for (let s = 0; s < n; s += bs) {
          parts.push(tidy(() => this.call(xs.slice([s], [Math.min(bs, n - s)]), { training: false })));
        }
        const out = concat(parts, 0);
        parts.forEach((p) => p.dispose());
        return out;
      });
    } finally {
      if (xs !== x) xs.dispose();
    }
  }

  /** Outputs for one batch (no batching). */
  predictOnBatch(x: InputData): Tensor {
    const xs = toTensor(x, "predictOnBatch(x)", true);
    try {
      if (!this.built) this.build([null, ...xs.shape.slice(1)]);
      return noGrad(() => tidy(() => this.call(xs, { training: false })));
    } finally {
      if (xs !== x) xs.dispose();
    }
  }

  /** One optimizer step on one batch; resolves with the batch's loss and metrics. */
  async trainOnBatch(x: InputData, y: InputData, args: { classWeight?: Record<number, number> } = {}): Promise<Logs> {
    this.requireCompiled("trainOnBatch");
    const xs = toTensor(x, "trainOnBatch(x)", true), ys = toTensor(y, "trainOnBatch(y)", false);
    const metrics = this.metricIds.map((m) => this.makeMetric(m));
    const saved = this.lossSum;
    this.lossSum = null;
    try {
      const sw = this.classWeights(args.classWeight, ys);
      this.trainStep(xs, ys, sw, metrics);
      sw?.dispose();
      return await this.readLogs(this.lossSum, xs.shape[0], metrics);
    } finally {
      (this.lossSum as Tensor | null)?.dispose();
      this.lossSum = saved;
      metrics.forEach((m) => m.dispose());
      if (xs !== x) xs.dispose();
      if (ys !== y) ys.dispose();
    }
  }

  /** Loss and metrics of one batch, without training. */
  async testOnBatch(x: InputData, y: InputData): Promise<Logs> {
    const xs = toTensor(x, "testOnBatch(x)", true), ys = toTensor(y, "testOnBatch(y)", false);
    try {
      return await this.evaluateInternal([xs, ys], Math.max(1, xs.shape[0]));
    } finally {
      if (xs !== x) xs.dispose();
      if (ys !== y) ys.dispose();
    }
  }

  // ---------------------------------------------------------------- saving

  /** Writes `<dir>/config.json` (architecture, compile settings) and `<dir>/model.safetensors` (weights). */
  async save(dir: string): Promise<void> {
    const io = await import("../io/model-io.js");
    await io.saveModel(this, dir);
  }

  /** Architecture as JSON (Sequential only; subclassed models save weights with saveWeights). */
  getConfig(): { name: string; layers: LayerConfig[] } {
    throw new Error(`${this.name}: a subclassed Model has no architecture config; save its weights with model.saveWeights(path) and rebuild it in code`);
  }

  /** Writes only the weights (safetensors); load them into the same architecture with loadWeights. */
  async saveWeights(path: string): Promise<void> {
    const io = await import("../io/model-io.js");
    await io.saveWeights(this, path);
  }
  async loadWeights(path: string): Promise<void> {
    const io = await import("../io/model-io.js");
    await io.loadWeights(this, path);
  }

  /** Frees weights and optimizer state. */
  dispose(): void {
    for (const l of this.layers) l.dispose();
    this.optimizer?.dispose();
    this.resetTrainState();
    this.trainMetrics.forEach((m) => m.dispose());
  }
}

/** A linear stack of layers: `new Sequential([new Flatten({inputShape: [28, 28]}), new Dense(10, {activation: "softmax"})])`. */
export class Sequential extends Model {
  private readonly stack: Layer[] = [];

  constructor(layers: Layer[] = [], args: { name?: string } = {}) {
    super(args);
    for (const l of layers) this.add(l);
  }

  override get layers(): Layer[] {
    return [...this.stack];
  }

  /** Appends a layer (built right away when the input shape is known). */
  add(layer: Layer): void {
    if (!(layer instanceof Layer)) throw new TypeError(`${this.name}.add: expected a Layer (e.g. new Dense(10)), got ${layer === null ? "null" : typeof layer}`);
    if (this.stack.some((l) => l.name === layer.name)) {
      throw new Error(`${this.name}.add: the model already has a layer named '${layer.name}'; layer names must be unique (pass {name: "..."})`);
    }
    if (this.stack.length > 0 && layer.batchInputShape && !(this.stack.length === 1 && this.stack[0].className === "InputLayer")) {
      throw new Error(`${this.name}.add: only the first layer takes inputShape/inputDim (layer '${layer.name}' is number ${this.stack.length + 1})`);
    }
    this.stack.push(layer);
    const first = this.stack[0];
    if (first.batchInputShape) this.buildLayers(first.batchInputShape);
  }

  /** Removes the last layer. */
  pop(): Layer {
    const l = this.stack.pop();
    if (!l) throw new Error(`${this.name}.pop: the model has no layers`);
    return l;
  }

  getLayer(nameOrIndex: string | number): Layer {
    const l = typeof nameOrIndex === "number" ? this.stack[nameOrIndex] : this.stack.find((x) => x.name === nameOrIndex);
    if (!l) throw new Error(`${this.name}.getLayer: no layer ${JSON.stringify(nameOrIndex)}; layers: ${this.stack.map((x) => x.name).join(", ")}`);
    return l;
  }

  private buildLayers(inputShape: Shape): void {
    let shape = inputShape;
    for (const l of this.stack) {
      if (!l.built) l.buildFor(shape);
      shape = l.outputShape!;
    }
  }

  override build(inputShape?: Shape): void {
    const shape = inputShape ?? this.stack[0]?.batchInputShape;
    if (!shape) throw new Error(`${this.name}.build: no input shape: pass one, e.g. model.build([null, 784]), or give the first layer inputShape`);
    if (this.stack.length === 0) throw new Error(`${this.name}.build: the model has no layers; add some with model.add(layer)`);
    this.buildLayers(shape);
  }

  override call(x: Tensor, opts: CallOptions = {}): Tensor {
    if (this.stack.length === 0) throw new Error(`${this.name}: the model has no layers; add some with model.add(layer)`);
    let y = x;
    for (const l of this.stack) y = l.apply(y, opts);
    return y;
  }

  protected override forwardWithLogits(x: Tensor, training: boolean) {
    let y = x;
    const n = this.stack.length;
    for (let i = 0; i < n - 1; i++) y = this.stack[i].apply(y, { training });
    return this.stack[n - 1].applyWithLogits(y, { training });
  }

  override getConfig(): { name: string; layers: LayerConfig[] } {
    return { name: this.name, layers: this.stack.map(serializeLayer) };
  }
}
