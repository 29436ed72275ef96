/** Optimizers and learning-rate schedules. */
import { Optimizer } from "./optimizer.js";
import { SGD, Adam, AdamW, RMSprop, Adagrad } from "./optimizers.js";
import { ExponentialDecay, StepDecay, CosineDecay, PiecewiseConstantDecay, type LearningRateSchedule } from "./schedules.js";

export { Optimizer, type OptimizerArgs } from "./optimizer.js";
export { SGD, Adam, AdamW, RMSprop, Adagrad, type SGDArgs, type AdamArgs, type RMSpropArgs, type AdagradArgs } from "./optimizers.js";
export { ExponentialDecay, StepDecay, CosineDecay, PiecewiseConstantDecay, schedules, type LearningRateSchedule } from "./schedules.js";

const norm = (s: string) => s.replace(/[_\-\s]/g, "").toLowerCase();
const FACTORIES: Record<string, (c: Record<string, unknown>) => Optimizer> = {
  sgd: (c) => new SGD(c), adam: (c) => new Adam(c), adamw: (c) => new AdamW(c), rmsprop: (c) => new RMSprop(c), adagrad: (c) => new Adagrad(c),
};
const SCHEDULES: Record<string, (c: Record<string, unknown>) => LearningRateSchedule> = {
  exponentialdecay: (c) => new ExponentialDecay(c as unknown as ConstructorParameters<typeof ExponentialDecay>[0]),
  stepdecay: (c) => new StepDecay(c as unknown as ConstructorParameters<typeof StepDecay>[0]),
  cosinedecay: (c) => new CosineDecay(c as unknown as ConstructorParameters<typeof CosineDecay>[0]),
  piecewiseconstantdecay: (c) => {
    const keys = Object.keys(c);
    const b = keys.filter((k) => k.startsWith("boundary")).map((k) => c[k] as number);
    const v = keys.filter((k) => k.startsWith("value")).map((k) => c[k] as number);
    return new PiecewiseConstantDecay(b, v);
  },
};

export type OptimizerIdentifier = string | Optimizer;

/** An optimizer from a name ('adam', 'sgd', 'rmsprop', 'adagrad', 'adamw'; default hyperparameters) or an instance. */
export function getOptimizer(id: OptimizerIdentifier, config: Record<string, unknown> = {}): Optimizer {
  if (id instanceof Optimizer) return id;
  const f = FACTORIES[norm(id)];
  if (!f) throw new Error(`unknown optimizer '${id}'; known: sgd, adam, adamw, rmsprop, adagrad, or pass an instance like new Adam({learningRate: 1e-3})`);
  const c = { ...config };
  const lr = c.learningRate as { className?: string; config?: Record<string, unknown> } | undefined;
  if (lr && typeof lr === "object" && lr.className) {
    const s = SCHEDULES[norm(lr.className)];
    if (!s) throw new Error(`unknown learning-rate schedule '${lr.className}'`);
    c.learningRate = s(lr.config ?? {});
  }
  for (const k of Object.keys(c)) if (c[k] === undefined || c[k] === null) delete c[k];
  return f(c);
}
