/** Weight initializers with Keras' names and definitions (fans, truncated normals, orthogonal). */
import type { Tensor } from "../tensor.js";
import { tensor } from "../ops/creation.js";
import { generator, type Generator } from "../ops/random.js";
import { lookup, normalizeName, snakeCase } from "./identifiers.js";

/** Fan-in and fan-out of a weight shape as Keras computes them ([in, out] or [...kernel, in, out]). */
export function computeFans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0], fanOut: shape[0] };
  if (shape.length === 2) return { fanIn: shape[0], fanOut: shape[1] };
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[shape.length - 2] * receptive, fanOut: shape[shape.length - 1] * receptive };
}

export interface InitializerConfig {
  [key: string]: number | string | undefined;
}

/** Produces a float32 tensor of a given shape. `className` + `getConfig()` make it serializable. */
export abstract class Initializer {
  abstract readonly className: string;
  abstract call(shape: readonly number[]): Tensor;
  getConfig(): InitializerConfig {
    return {};
  }
}

function fill(shape: readonly number[], f: (i: number) => number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = f(i);
  return tensor(a, { shape: [...shape] });
}

function rng(seed: number | undefined): Generator {
  return generator(seed);
}

/** Standard normal truncated to ±2 (redrawn outside), like tf.random.truncated_normal. */
function truncatedNormal(g: Generator): number {
  for (;;) {
    const z = g.normal();
    if (Math.abs(z) <= 2) return z;
  }
}
// Standard deviation of a standard normal truncated to [-2, 2]: dividing by it keeps the requested variance.
const TRUNCATED_STD = 0.87962566103423978;

export class Zeros extends Initializer {
  readonly className = "Zeros";
  call(shape: readonly number[]): Tensor { return fill(shape, () => 0); }
}
export class Ones extends Initializer {
  readonly className = "Ones";
  call(shape: readonly number[]): Tensor { return fill(shape, () => 1); }
}
export class Constant extends Initializer {
  readonly className = "Constant";
  constructor(readonly value = 0) { super(); }
  call(shape: readonly number[]): Tensor { return fill(shape, () => this.value); }
  override getConfig() { return { value: this.value }; }
}
export class RandomNormal extends Initializer {
  readonly className = "RandomNormal";
  readonly mean: number; readonly stddev: number; readonly seed?: number;
  constructor(opts: { mean?: number; stddev?: number; seed?: number } = {}) {
    super();
    this.mean = opts.mean ?? 0; this.stddev = opts.stddev ?? 0.05; this.seed = opts.seed;
  }
  call(shape: readonly number[]): Tensor {
    const g = rng(this.seed);
    return fill(shape, () => this.mean + this.stddev * g.normal());
  }
  override getConfig() { return { mean: this.mean, stddev: this.stddev, seed: this.seed }; }
}
export class RandomUniform extends Initializer {
  readonly className = "RandomUniform";
  readonly minval: number; readonly maxval: number; readonly seed?: number;
  constructor(opts: { minval?: number; maxval?: number; seed?: number } = {}) {
    super();
    this.minval = opts.minval ?? -0.05; this.maxval = opts.maxval ?? 0.05; this.seed = opts.seed;
  }
  call(shape: readonly number[]): Tensor {
    const g = rng(this.seed);
    return fill(shape, () => this.minval + (this.maxval - this.minval) * g.uniform());
  }
  override getConfig() { return { minval: this.minval, maxval: this.maxval, seed: this.seed }; }
}
export class TruncatedNormal extends Initializer {
  readonly className = "TruncatedNormal";
  readonly mean: number; readonly stddev: number; readonly seed?: number;
  constructor(opts: { mean?: number; stddev?: number; seed?: number } = {}) {
    super();
    this.mean = opts.mean ?? 0; this.stddev = opts.stddev ?? 0.05; this.seed = opts.seed;
  }
  call(shape: readonly number[]): Tensor {
    const g = rng(this.seed);
    return fill(shape, () => this.mean + this.stddev * truncatedNormal(g));
  }
  override getConfig() { return { mean: this.mean, stddev: this.stddev, seed: this.seed }; }
}

type FanMode = "fan_in" | "fan_out" | "fan_avg";
/** Keras' VarianceScaling: variance = scale / fan; glorot/he/lecun are instances of it. */
export class VarianceScaling extends Initializer {
  readonly className: string = "VarianceScaling";
  readonly scale: number; readonly mode: FanMode; readonly distribution: "truncated_normal" | "uniform" | "untruncated_normal"; readonly seed?: number;
  constructor(opts: { scale?: number; mode?: FanMode; distribution?: "truncated_normal" | "uniform" | "untruncated_normal"; seed?: number } = {}) {
    super();
    this.scale = opts.scale ?? 1; this.mode = opts.mode ?? "fan_in"; this.distribution = opts.distribution ?? "truncated_normal"; this.seed = opts.seed;
  }
  call(shape: readonly number[]): Tensor {
    const { fanIn, fanOut } = computeFans(shape);
    const fan = this.mode === "fan_in" ? fanIn : this.mode === "fan_out" ? fanOut : (fanIn + fanOut) / 2;
    const variance = this.scale / Math.max(1, fan);
    const g = rng(this.seed);
    if (this.distribution === "uniform") {
      const limit = Math.sqrt(3 * variance);
      return fill(shape, () => (2 * g.uniform() - 1) * limit);
    }
    if (this.distribution === "untruncated_normal") {
      const sd = Math.sqrt(variance);
      return fill(shape, () => sd * g.normal());
    }
    const sd = Math.sqrt(variance) / TRUNCATED_STD;
    return fill(shape, () => sd * truncatedNormal(g));
  }
  override getConfig(): InitializerConfig { return { scale: this.scale, mode: this.mode, distribution: this.distribution, seed: this.seed }; }
}

class Preset extends VarianceScaling {
  constructor(override readonly className: string, scale: number, mode: FanMode, distribution: "truncated_normal" | "uniform", seed?: number) {
    super({ scale, mode, distribution, seed });
  }
  override getConfig(): InitializerConfig { return { seed: this.seed }; }
}
export const glorotUniform = (opts: { seed?: number } = {}) => new Preset("GlorotUniform", 1, "fan_avg", "uniform", opts.seed);
export const glorotNormal = (opts: { seed?: number } = {}) => new Preset("GlorotNormal", 1, "fan_avg", "truncated_normal", opts.seed);
export const heNormal = (opts: { seed?: number } = {}) => new Preset("HeNormal", 2, "fan_in", "truncated_normal", opts.seed);
export const heUniform = (opts: { seed?: number } = {}) => new Preset("HeUniform", 2, "fan_in", "uniform", opts.seed);
export const lecunNormal = (opts: { seed?: number } = {}) => new Preset("LecunNormal", 1, "fan_in", "truncated_normal", opts.seed);
export const lecunUniform = (opts: { seed?: number } = {}) => new Preset("LecunUniform", 1, "fan_in", "uniform", opts.seed);

/** A random orthogonal matrix (QR of a normal matrix, signs fixed by R's diagonal), times `gain`. */
export class Orthogonal extends Initializer {
  readonly className = "Orthogonal";
  readonly gain: number; readonly seed?: number;
  constructor(opts: { gain?: number; seed?: number } = {}) {
    super();
    this.gain = opts.gain ?? 1; this.seed = opts.seed;
  }
  call(shape: readonly number[]): Tensor {
    if (shape.length < 2) throw new Error(`orthogonal initializer: needs a shape with at least 2 dimensions, got [${shape.join(", ")}]`);
    const cols = shape[shape.length - 1];
    const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    // Orthonormalize the columns of a tall matrix (Gram-Schmidt, twice for stability), transposing when wide.
    const tall = rows >= cols;
    const m = tall ? rows : cols, n = tall ? cols : rows;
    const g = rng(this.seed);
    const q = Array.from({ length: n }, () => Float64Array.from({ length: m }, () => g.normal()));
    for (let j = 0; j < n; j++) {
      const v = q[j];
      const norm0 = Math.hypot(...v);
      for (let pass = 0; pass < 2; pass++) {
        for (let k = 0; k < j; k++) {
          let d = 0;
          for (let i = 0; i < m; i++) d += q[k][i] * v[i];
          for (let i = 0; i < m; i++) v[i] -= d * q[k][i];
        }
      }
      let norm = 0;
      for (let i = 0; i < m; i++) norm += v[i] * v[i];
      norm = Math.sqrt(norm) || norm0 || 1;
      for (let i = 0; i < m; i++) v[i] /= norm;
    }
    return fill(shape, (idx) => {
      const r = Math.floor(idx / cols), c = idx % cols;
      return this.gain * (tall ? q[c][r] : q[r][c]);
    });
  }
  override getConfig() { return { gain: this.gain, seed: this.seed }; }
}
export class Identity extends Initializer {
  readonly className = "Identity";
  constructor(readonly gain = 1) { super(); }
  call(shape: readonly number[]): Tensor {
    if (shape.length !== 2) throw new Error(`identity initializer: needs a 2-D shape, got [${shape.join(", ")}]`);
    return fill(shape, (i) => (Math.floor(i / shape[1]) === i % shape[1] ? this.gain : 0));
  }
  override getConfig() { return { gain: this.gain }; }
}

export type InitializerIdentifier = string | Initializer | { className: string; config?: InitializerConfig };

type Factory = (config: InitializerConfig) => Initializer;
const FACTORIES: Record<string, Factory> = {
  zeros: () => new Zeros(),
  ones: () => new Ones(),
  constant: (c) => new Constant(c.value as number | undefined),
  randomNormal: (c) => new RandomNormal(c as { mean?: number; stddev?: number; seed?: number }),
  randomUniform: (c) => new RandomUniform(c as { minval?: number; maxval?: number; seed?: number }),
  truncatedNormal: (c) => new TruncatedNormal(c as { mean?: number; stddev?: number; seed?: number }),
  varianceScaling: (c) => new VarianceScaling(c as ConstructorParameters<typeof VarianceScaling>[0]),
  glorotUniform: (c) => glorotUniform(c as { seed?: number }),
  glorotNormal: (c) => glorotNormal(c as { seed?: number }),
  heNormal: (c) => heNormal(c as { seed?: number }),
  heUniform: (c) => heUniform(c as { seed?: number }),
  lecunNormal: (c) => lecunNormal(c as { seed?: number }),
  lecunUniform: (c) => lecunUniform(c as { seed?: number }),
  orthogonal: (c) => new Orthogonal(c as { gain?: number; seed?: number }),
  identity: (c) => new Identity(c.gain as number | undefined),
};
const registry = new Map(Object.entries(FACTORIES).map(([k, f]) => [normalizeName(k), f]));

/** An Initializer from a name ('glorot_uniform', 'heNormal'), a `{className, config}` object, or an instance. */
export function getInitializer(id: InitializerIdentifier): Initializer {
  if (id instanceof Initializer) return id;
  if (typeof id === "string") return lookup("initializer", registry, id, () => Object.keys(FACTORIES).map(snakeCase))({});
  return lookup("initializer", registry, id.className, () => Object.keys(FACTORIES).map(snakeCase))(id.config ?? {});
}

/** `{className, config}` for saving. */
export function serializeInitializer(init: Initializer): { className: string; config: InitializerConfig } {
  return { className: init.className, config: init.getConfig() };
}

/** Factory functions in Keras' style: `initializers.heNormal()`, `initializers.randomNormal({stddev: 0.01})`. */
export const initializers = {
  zeros: () => new Zeros(),
  ones: () => new Ones(),
  constant: (value = 0) => new Constant(value),
  randomNormal: (opts: { mean?: number; stddev?: number; seed?: number } = {}) => new RandomNormal(opts),
  randomUniform: (opts: { minval?: number; maxval?: number; seed?: number } = {}) => new RandomUniform(opts),
  truncatedNormal: (opts: { mean?: number; stddev?: number; seed?: number } = {}) => new TruncatedNormal(opts),
  varianceScaling: (opts: ConstructorParameters<typeof VarianceScaling>[0] = {}) => new VarianceScaling(opts),
  glorotUniform, glorotNormal, heNormal, heUniform, lecunNormal, lecunUniform,
  orthogonal: (opts: { gain?: number; seed?: number } = {}) => new Orthogonal(opts),
  identity: (gain = 1) => new Identity(gain),
};
