/**
 * Seeded pseudo-random numbers for the data layer (shuffles, splits, synthetic datasets).
 * Independent of the core's `manualSeed` so a dataset's order never depends on how many
 * random tensors a model happened to create before it.
 */

/** A deterministic generator: the same seed gives the same sequence on every platform. */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal sample (Box–Muller). */
  normal(): number;
}

/** Mix a 32-bit seed so nearby seeds (0, 1, 2) start far apart (splitmix32 finaliser). */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Combine a seed with extra integers (epoch, stream id) into a new 32-bit seed. */
export function deriveSeed(seed: number, ...salt: number[]): number {
  let h = mix32(seed >>> 0);
  for (const s of salt) h = mix32(h ^ (s >>> 0));
  return h;
}

/** mulberry32: tiny, fast, and good enough for shuffling and toy datasets (not cryptographic). */
export function createRng(seed?: number): Rng {
  let state = seed === undefined ? (Math.random() * 2 ** 32) >>> 0 : mix32(Math.floor(seed) >>> 0);
  let spare: number | undefined;
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    normal: () => {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      let u = 0;
      while (u === 0) u = next(); // log(0) would be -Infinity
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
  };
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
