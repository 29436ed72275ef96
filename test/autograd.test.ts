/** Autograd semantics (accumulation, noGrad, detach, functional grads) and memory management. */
import { suite } from "uvu";
import v8 from "node:v8";
import vm from "node:vm";
import * as assert from "uvu/assert";
import * as dn from "../lib/index.js";
import { close, throws, useBackend } from "./helpers.js";

const test = suite("autograd and memory");
let backend = "cpu";
test.before(async () => {
  backend = await useBackend();
});

test("the seeds' gradient-descent example: y = w1 x1 + w2 x2 + b, L = (ŷ − y)²", async () => {
  const w = dn.tensor([0.5, -0.3], { requiresGrad: true });
  const b = dn.tensor(0.1, { requiresGrad: true });
  const x = dn.tensor([2, 3], { dtype: "float32" });
  const y = 1;
  const yhat = dn.add(dn.sum(dn.mul(w, x)), b); // 0.5·2 − 0.3·3 + 0.1 = 0.2
  const loss = dn.square(dn.sub(yhat, y));
  loss.backward();
  // ∂L/∂w_i = 2(ŷ − y)·x_i = 2(−0.8)·x_i ; ∂L/∂b = 2(ŷ − y)
  await close(loss, [0.64]);
  await close(w.grad!, [-3.2, -4.8]);
  await close(b.grad!, [-1.6]);
});

test("gradients accumulate until zeroGrad; shared inputs sum their paths", async () => {
  const x = dn.tensor([1, 2, 3], { requiresGrad: true });
  dn.sum(dn.mul(x, x)).backward(); // 2x
  dn.sum(dn.add(x, x)).backward(); // +2
  await close(x.grad!, [4, 6, 8]);
  x.zeroGrad();
  assert.is(x.grad, null);
  dn.sum(dn.mul(x, 3)).backward();
  await close(x.grad!, [3, 3, 3]);
});

test("backward with a seed gradient, on non-scalar outputs", async () => {
  const x = dn.tensor([[1, 2], [3, 4]], { requiresGrad: true });
  const y = dn.mul(x, 2);
  y.backward(dn.tensor([[1, 0], [0, 1]], { dtype: "float32" }));
  await close(x.grad!, [2, 0, 0, 2]);
  throws(() => dn.mul(x, 2).backward(), /backward/, /\[2,2\]/, /single value/);
});

test("noGrad, detach and refusals", async () => {
  const x = dn.tensor([1, 2], { requiresGrad: true });
  const y = dn.noGrad(() => dn.mul(x, 2));
  assert.not.ok(y.requiresGrad);
  assert.not.ok(dn.mul(x, 2).detach().requiresGrad);
  throws(() => dn.sum(y).backward(), /does not require grad/);
  throws(() => dn.tensor([1, 2]).backward(), /float/);
  throws(() => { dn.tensor([1, 2]).requiresGrad = true; }, /requiresGrad/, /int32/, /cast/);
  const z = dn.mul(x, 2);
  assert.ok(z.requiresGrad);
  assert.not.ok(z.isLeaf);
});

test("grad and valueAndGrad", async () => {
  const f = (a: dn.Tensor, b: dn.Tensor) => dn.sum(dn.mul(dn.square(a), b));
  const a = dn.tensor([1, 2], { dtype: "float32" }), b = dn.tensor([3, 4], { dtype: "float32" });
  const [ga, gb] = dn.grad(f)(a, b);
  await close(ga, [6, 16]);
  await close(gb, [1, 4]);
  const { value, grads } = dn.valueAndGrad(f)(a, b);
  await close(value, [19]);
  assert.is(grads.length, 2);
  assert.is(a.grad, null); // the caller's tensors are untouched
});

test("tidy disposes intermediates and keeps results and leaf gradients", async () => {
  const w = dn.tensor([1, 2, 3], { requiresGrad: true });
  const before = dn.memory().numTensors;
  const out = dn.tidy(() => {
    const loss = dn.sum(dn.square(dn.mul(w, 2)));
    loss.backward();
    return dn.mul(loss, 1);
  });
  // out and w.grad survive; everything else is gone. Counted before any await: finalizers of earlier tests'
  // garbage may run at an await and would change the count.
  assert.is(dn.memory().numTensors, before + 2);
  await close(out, [56]);
  await close(w.grad!, [8, 16, 24]);
  out.dispose();
  throws(() => dn.tidy(() => Promise.resolve(1)), /tidy/, /Promise/);
});

test("10,000 training-like steps keep memory flat", async () => {
  dn.manualSeed(0);
  const w = dn.randn([8, 4]);
  w.requiresGrad = true;
  const b = dn.zeros([4]);
  b.requiresGrad = true;
  const x = dn.randn([16, 8]);
  const y = dn.randn([16, 4]);
  const step = () =>
    dn.tidy(() => {
      const loss = dn.mean(dn.square(dn.sub(dn.add(dn.matmul(x, w), b), y)));
      loss.backward();
      for (const p of [w, b]) {
        p.assign(dn.sub(p, dn.mul(p.grad!, 0.01)));
        p.zeroGrad();
      }
      return loss;
    });
  const steps = backend === "cpu" ? 10000 : 500;
  // Collect what earlier tests dropped, so the FinalizationRegistry does not change counts mid-measurement.
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  gc();
  await new Promise((r) => setTimeout(r, 20));
  const first = step();
  const l0 = await first.item();
  first.dispose();
  const m1 = dn.memory();
  let last = 0;
  for (let i = 1; i < steps; i++) {
    const l = step();
    if (i === steps - 1) last = await l.item();
    l.dispose();
  }
  const m2 = dn.memory();
  assert.is(m2.numTensors, m1.numTensors, `tensors ${m1.numTensors} → ${m2.numTensors}`);
  assert.is(m2.numBytes, m1.numBytes, `bytes ${m1.numBytes} → ${m2.numBytes}`);
  assert.ok(last < l0, `loss did not fall: ${l0} → ${last}`);
  console.log(`  ${steps} steps on ${backend}: loss ${l0.toFixed(3)} → ${last.toFixed(3)}, ${m2.numTensors} tensors, ${m2.numBytes} bytes`);
});

test("dropped tensors are reclaimed by the FinalizationRegistry", async () => {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  const before = dn.memory().numBytes;
  for (let i = 0; i < 100; i++) dn.ones([1000]);
  gc();
  await new Promise((r) => setTimeout(r, 50));
  gc();
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(dn.memory().numBytes - before < 100 * 4000, "nothing was reclaimed");
});

test("assign replaces values in place; shape mismatches are refused", async () => {
  const p = dn.zeros([2]);
  const v = p; // same object
  p.assign(dn.tensor([1, 2], { dtype: "float32" }));
  await close(v, [1, 2]);
  throws(() => p.assign(dn.zeros([3])), /assign/, /\[3\]/, /\[2\]/);
});

test.run();
