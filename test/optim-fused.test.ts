/**
 * Fused optimizer updates against the op chain and the CPU host loop. Each optimizer/option combination
 * runs 4 steps of applyGradients on parameters of 1, 3, 65,537 and 7×9 elements with fixed synthetic
 * gradients (mixed signs and magnitudes, some exact zeros), then the parameters are compared:
 * - on the backend under test: fused (`fused: true`) vs the op chain (`fused: false`);
 * - both vs the CPU backend's fused host loop, the reference (on the cpu pass: its own op chain vs it).
 * Tolerances (|a − b| ≤ atol + rtol·|b|): kernel vs op chain 5e-6 + 1e-5·|b| (both round every f32 op in
 * the same order, but a driver may contract a·b + c into an FMA: bit-identical on lavapipe, up to 2.7e-6
 * apart on an H100 where SGD's O(1) steps cancel to values near 0.03);
 * vs the host loop 1e-5 + 1e-5·|b| (it keeps intermediates in float64; SGD steps of size ~1 leave up to
 * 3.4e-6 absolute after 4 steps). OPTIM_FUSED_VERBOSE=1 prints the worst element of each comparison.
 * The webgpu pass also checks one dispatch per parameter, that views of the old parameter keep its
 * values, shared state storage, and the op-chain fallback (strided or int32 gradients).
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import * as dn from "../lib/index.js";
import { SGD, Adam, AdamW, RMSprop, Adagrad, ExponentialDecay, type Optimizer } from "../lib/optim/index.js";
import { currentBackend } from "../lib/backend/registry.js";
import { useBackend } from "./helpers.js";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const suiteAll = suite("optim-fused");
const backendName = process.env.DAWNET_BACKEND ?? "cpu";
let unavailable: string | null = null;
try {
  await useBackend();
} catch (e) {
  unavailable = (e as Error).message.split("\n")[0];
  console.log(`skipped: optim-fused on ${backendName}: ${unavailable}`);
}
const test = unavailable ? suiteAll.skip : suiteAll;

const SHAPES = [[1], [3], [65537], [7, 9]];
const STEPS = 4;
/** Kernel vs op chain on one backend: bit-identical on lavapipe; on an H100 (FMA contraction) up to 2.7e-6 apart on O(1) SGD steps. */
const SAME_RULE = { atol: 5e-6, rtol: 1e-5 };
/** vs the float64-intermediate host loop: values and steps are O(1), so f32 rounding of intermediates shows as ~1e-6 absolute. */
const HOST_LOOP = { atol: 1e-5, rtol: 1e-5 };

type Make = (fused: boolean) => Optimizer;
const CASES: [string, Make][] = [
  ["SGD", (fused) => new SGD({ learningRate: 0.1, fused })],
  ["SGD weightDecay", (fused) => new SGD({ learningRate: 0.1, weightDecay: 0.05, fused })],
  ["SGD momentum", (fused) => new SGD({ learningRate: 0.1, momentum: 0.9, fused })],
  ["SGD nesterov + weightDecay", (fused) => new SGD({ learningRate: 0.1, momentum: 0.8, nesterov: true, weightDecay: 0.01, fused })],
  ["Adam", (fused) => new Adam({ learningRate: 0.01, fused })],
  ["Adam weightDecay (coupled)", (fused) => new Adam({ learningRate: 0.01, weightDecay: 0.1, fused })],
  ["Adam amsgrad", (fused) => new Adam({ learningRate: 0.01, amsgrad: true, fused })],
  ["Adam amsgrad + weightDecay, schedule", (fused) => new Adam({ learningRate: new ExponentialDecay({ initialLearningRate: 0.02, decaySteps: 1, decayRate: 0.5 }), amsgrad: true, weightDecay: 0.1, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, fused })],
  ["AdamW (decoupled 0.004)", (fused) => new AdamW({ learningRate: 0.01, fused })],
  ["AdamW weightDecay 0.5 + amsgrad", (fused) => new AdamW({ learningRate: 0.05, weightDecay: 0.5, amsgrad: true, fused })],
  ["AdamW weightDecay 0", (fused) => new AdamW({ learningRate: 0.01, weightDecay: 0, fused })],
  ["RMSprop", (fused) => new RMSprop({ learningRate: 0.01, fused })],
  ["RMSprop weightDecay", (fused) => new RMSprop({ learningRate: 0.01, weightDecay: 0.1, fused })],
  ["RMSprop centered", (fused) => new RMSprop({ learningRate: 0.01, centered: true, fused })],
  ["RMSprop momentum", (fused) => new RMSprop({ learningRate: 0.01, momentum: 0.5, fused })],
  ["RMSprop centered + momentum + weightDecay", (fused) => new RMSprop({ learningRate: 0.01, rho: 0.8, centered: true, momentum: 0.7, weightDecay: 0.02, fused })],
  ["Adagrad", (fused) => new Adagrad({ learningRate: 0.1, fused })],
  ["Adagrad weightDecay", (fused) => new Adagrad({ learningRate: 0.1, weightDecay: 0.05, initialAccumulatorValue: 0.01, fused })],
  ["SGD momentum + clipNorm", (fused) => new SGD({ learningRate: 0.1, momentum: 0.9, clipNorm: 1, fused })],
];

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
/** Initial parameter values: mixed signs, magnitudes 0.01–3. */
const initial = (shape: number[], k: number) => Float32Array.from({ length: sizeOf(shape) }, (_, i) => Math.sin(0.37 * i + k) * (1 + (i % 3)));
/** Step s's gradient: mixed magnitudes (1e-4 to 10) and exact zeros every 11th element. */
const gradient = (shape: number[], k: number, s: number) =>
  Float32Array.from({ length: sizeOf(shape) }, (_, i) => (i % 11 === 5 ? 0 : Math.cos(0.71 * i + 1.3 * s + k) * 10 ** ((i % 6) - 4 + (s % 2))));

/** Runs STEPS updates on `backend` and returns the final parameters. */
async function train(backend: string, make: Make, fused: boolean): Promise<Float32Array[]> {
  await dn.setBackend(backend);
  try {
    const opt = make(fused);
    const params = SHAPES.map((shape, k) => dn.tensor(initial(shape, k), { shape }));
    for (let s = 0; s < STEPS; s++) {
      const grads = SHAPES.map((shape, k) => dn.tensor(gradient(shape, k, s), { shape }));
      opt.applyGradients(grads.map((g, k) => [g, params[k]] as const));
      grads.forEach((g) => g.dispose());
    }
    const out = await Promise.all(params.map(async (p) => (await p.data()) as Float32Array));
    params.forEach((p) => p.dispose());
    opt.dispose();
    return out;
  } finally {
    await dn.setBackend(backendName);
  }
}

/** Largest |a − b| / (atol + rtol·|b|) over all parameters (≤ 1 passes), with where it happened. */
function worst(a: Float32Array[], b: Float32Array[], { atol, rtol }: { atol: number; rtol: number }): { ratio: number; where: string } {
  let ratio = 0, where = "";
  a.forEach((x, k) => {
    assert.is(x.length, b[k].length);
    for (let i = 0; i < x.length; i++) {
      const r = x[i] === b[k][i] ? 0 : Math.abs(x[i] - b[k][i]) / (atol + rtol * Math.abs(b[k][i]));
      if (!(r <= ratio)) {
        ratio = Number.isNaN(r) ? Infinity : r;
        where = `parameter ${k} (shape [${SHAPES[k]}]) element ${i}: ${x[i]} vs ${b[k][i]}`;
      }
    }
  });
  return { ratio, where };
}

for (const [name, make] of CASES) {
  test(`${name}: fused and op chain agree with the CPU host loop (${STEPS} steps, sizes 1, 3, 65537, 7×9)`, async () => {
    const reference = await train("cpu", make, true);
    const fused = backendName === "cpu" ? reference : await train(backendName, make, true);
    const chain = await train(backendName, make, false);
    const comparisons = [["fused vs op chain", fused, chain, SAME_RULE], ["fused vs cpu host loop", fused, reference, HOST_LOOP], ["op chain vs cpu host loop", chain, reference, HOST_LOOP]] as const;
    for (const [what, got, want, tolerance] of comparisons.slice(backendName === "cpu" ? 2 : 0)) {
      const { ratio, where } = worst(got, want, tolerance);
      if (process.env.OPTIM_FUSED_VERBOSE) console.log(`${name} ${what}: ${ratio.toFixed(3)} ${where}`);
      if (ratio > 1) assert.unreachable(`${name} on ${backendName}, ${what}: ${where} (${ratio.toFixed(2)}× the tolerance ${tolerance.atol} + ${tolerance.rtol}·|b|)`);
    }
    // The update moved every parameter with a nonzero gradient (the comparison is not between untouched copies).
    assert.ok(fused[2].some((v, i) => v !== initial(SHAPES[2], 2)[i]), "parameters changed");
  });
}

/** Dispatches the webgpu backend has encoded so far. */
const dispatches = () => (currentBackend() as unknown as { dispatches: number }).dispatches;

if (backendName === "webgpu") {
  test("webgpu: one dispatch per parameter per step (Adam, after the first step made the state)", async () => {
    const params = SHAPES.map((shape, k) => dn.tensor(initial(shape, k), { shape }));
    const grads = SHAPES.map((shape, k) => dn.tensor(gradient(shape, k, 0), { shape }));
    const pairs = grads.map((g, k) => [g, params[k]] as const);
    for (const [fused, expected] of [[true, (n: number) => n === SHAPES.length], [false, (n: number) => n >= 8 * SHAPES.length]] as const) {
      const opt = new Adam({ learningRate: 0.01, fused });
      opt.applyGradients(pairs);
      const before = dispatches();
      opt.applyGradients(pairs);
      const used = dispatches() - before;
      assert.ok(expected(used), `fused=${fused}: ${used} dispatches for ${SHAPES.length} parameters`);
      opt.dispose();
    }
    [...params, ...grads].forEach((t) => t.dispose());
  });

  test("webgpu: views of the old parameter keep its values (the update assigns a new buffer)", async () => {
    const p = dn.tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
    const alias = p.detach(), transposed = p.transpose();
    const opt = new SGD({ learningRate: 0.5 });
    opt.applyGradients([[dn.ones([2, 3]), p]]);
    assert.equal(Array.from(await p.data()), [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
    assert.equal(Array.from(await alias.data()), [1, 2, 3, 4, 5, 6]);
    assert.equal(Array.from(await transposed.data()), [1, 4, 2, 5, 3, 6]);
    [p, alias, transposed].forEach((t) => t.dispose());
  });

  test("webgpu: a state slot that shares its storage is copied before the in-place update", async () => {
    class ExposedSGD extends SGD {
      momentumOf(p: dn.Tensor): dn.Tensor {
        return this.slot(p, "momentum");
      }
    }
    const p = dn.tensor(Float32Array.from([1, 1]));
    const opt = new ExposedSGD({ learningRate: 1, momentum: 0.5 });
    opt.applyGradients([[dn.tensor(Float32Array.from([2, 4])), p]]); // v = [2, 4], p = [-1, -3]
    const before = opt.momentumOf(p).detach(); // shares the slot's storage
    const used = dispatches();
    opt.applyGradients([[dn.tensor(Float32Array.from([2, 4])), p]]); // v = [3, 6], p = [-4, -9]
    assert.ok(dispatches() - used <= 3, "still the fused kernel (plus the copy of the slot)");
    assert.equal(Array.from(await before.data()), [2, 4], "the alias of the old state keeps its values");
    assert.equal(Array.from(await opt.momentumOf(p).data()), [3, 6]);
    assert.equal(Array.from(await p.data()), [-4, -9]);
    before.dispose();
    opt.dispose();
  });

  test("webgpu: strided and int32 gradients take the op chain and give the same update", async () => {
    const run = async (grad: () => dn.Tensor) => {
      const p = dn.tensor(initial([5, 3], 1), { shape: [5, 3] });
      const opt = new Adam({ learningRate: 0.1 });
      for (let s = 0; s < 3; s++) {
        const g = grad();
        opt.applyGradients([[g, p]]);
        g.dispose();
      }
      const out = await p.data();
      p.dispose();
      opt.dispose();
      return Array.from(out);
    };
    const ints = Int32Array.from({ length: 15 }, (_, i) => (i % 7) - 3);
    const contiguous = await run(() => dn.tensor(ints, { shape: [5, 3] }).cast("float32"));
    const transposedView = await run(() => dn.tidy(() => dn.tensor(Int32Array.from({ length: 15 }, (_, i) => ints[(i % 5) * 3 + Math.floor(i / 5)]), { shape: [3, 5] }).cast("float32").transpose()));
    const int32 = await run(() => dn.tensor(ints, { shape: [5, 3] }));
    for (const [what, got] of [["transposed view", transposedView], ["int32", int32]] as const) {
      got.forEach((v, i) => assert.ok(Math.abs(v - contiguous[i]) <= SAME_RULE.atol + SAME_RULE.rtol * Math.abs(contiguous[i]), `${what} gradient, element ${i}: ${v} vs ${contiguous[i]}`));
    }
  });

  test("webgpu: a parameter past one storage binding takes the op chain (split by chunked.ts)", async () => {
    // A child process, because DAWNET_WEBGPU_MAX_BINDING_BYTES is read when the backend is created.
    const lib = (path: string) => JSON.stringify(fileURLToPath(new URL(`../lib/${path}`, import.meta.url)));
    const script = `
      const dn = await import(${lib("index.js")});
      const { Adam } = await import(${lib("optim/index.js")});
      const { currentBackend } = await import(${lib("backend/registry.js")});
      await dn.setBackend("webgpu");
      const run = async (fused, sizes) => {
        const params = sizes.map((n) => dn.tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(i))));
        const opt = new Adam({ learningRate: 0.01, fused });
        let dispatches = 0;
        for (let s = 0; s < 3; s++) {
          const grads = sizes.map((n) => dn.tensor(Float32Array.from({ length: n }, (_, i) => Math.cos(i + s))));
          const before = currentBackend().dispatches;
          opt.applyGradients(grads.map((g, k) => [g, params[k]]));
          dispatches = currentBackend().dispatches - before;
        }
        const values = [];
        for (const p of params) values.push(...(await p.data()));
        return { values, dispatches };
      };
      const fused = await run(true, [5000, 100]), chain = await run(false, [5000, 100]);
      const maxDiff = Math.max(...fused.values.map((v, i) => Math.abs(v - chain.values[i])));
      const moved = fused.values[1] !== Math.fround(Math.sin(1));
      const dispatches = { small: (await run(true, [100])).dispatches, bigFused: (await run(true, [5000])).dispatches, bigChain: (await run(false, [5000])).dispatches };
      console.log(JSON.stringify({ maxDiff, moved, ...dispatches }));
      process.exit(0);`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, DAWNET_WEBGPU_MAX_BINDING_BYTES: "4096" } },
        (e, stdout, stderr) => (e ? reject(new Error(`child failed: ${e.message}\n${stderr}`)) : resolve(stdout))));
    const r = JSON.parse(out.trim().split("\n").at(-1)!);
    assert.ok(r.moved, "the parameters changed");
    assert.ok(r.maxDiff <= 1e-6, `fused vs op chain: max |difference| ${r.maxDiff}`);
    // The small parameter is one kernel; the big one runs the (chunked) op chain either way.
    assert.is(r.small, 1, `a 100-element parameter: ${r.small} dispatches`);
    assert.ok(r.bigFused > 1 && r.bigFused === r.bigChain, `a 5000-element parameter (4096-byte bindings): ${r.bigFused} dispatches fused, ${r.bigChain} as the op chain`);
  });

  test("webgpu: fused training keeps tensor and buffer counts flat", async () => {
    const params = SHAPES.map((shape, k) => dn.tensor(initial(shape, k), { shape }));
    const opt = new RMSprop({ learningRate: 0.01, centered: true, momentum: 0.5 });
    const step = (s: number) => {
      const grads = SHAPES.map((shape, k) => dn.tensor(gradient(shape, k, s), { shape }));
      opt.applyGradients(grads.map((g, k) => [g, params[k]] as const));
      grads.forEach((g) => g.dispose());
    };
    step(0);
    await params[0].data();
    const tensors = dn.memory().numTensors, buffers = currentBackend().memory().buffers;
    for (let s = 1; s < 6; s++) step(s);
    await params[0].data();
    assert.is(dn.memory().numTensors, tensors);
    assert.is(currentBackend().memory().buffers, buffers);
    params.forEach((p) => p.dispose());
    opt.dispose();
  });
}

suiteAll.run();
