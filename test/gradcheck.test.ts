/** Every differentiable op's gradient against central finite differences (float64, CPU), incl. broadcasting and size-1 dims. */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import * as dn from "../lib/index.js";
import type { Tensor } from "../lib/index.js";
import { useBackend } from "./helpers.js";

const test = suite("gradcheck");
test.before(async () => {
  await useBackend();
});

let seed = 100;
/** Random values in [lo, hi] kept away from 0 by `gap` (kinks of abs/relu/sign live there). */
function r(shape: number[], lo = -2, hi = 2, gap = 0.1): Tensor {
  const t = dn.rand(shape, { seed: seed++, low: lo, high: hi });
  return dn.where(dn.lt(dn.abs(t), gap), dn.add(t, dn.mul(dn.sign(t), gap).add(gap)), t);
}
const pos = (shape: number[]) => dn.rand(shape, { seed: seed++, low: 0.5, high: 2 });

async function check(name: string, f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts = {}) {
  try {
    await dn.gradcheck(f, inputs, opts);
  } catch (e) {
    assert.unreachable(`${name}: ${(e as Error).message}`);
  }
}

test("unary ops", async () => {
  const unary: [string, (x: Tensor) => Tensor, Tensor][] = [
    ["neg", dn.neg, r([3, 2])], ["abs", dn.abs, r([5])], ["exp", dn.exp, r([2, 3])],
    ["log", dn.log, pos([4])], ["log1p", dn.log1p, pos([4])], ["sqrt", dn.sqrt, pos([3])],
    ["rsqrt", dn.rsqrt, pos([3])], ["square", dn.square, r([4])], ["reciprocal", dn.reciprocal, pos([3])],
    ["sin", dn.sin, r([4])], ["cos", dn.cos, r([4])], ["tanh", dn.tanh, r([2, 2])],
    ["sigmoid", dn.sigmoid, r([2, 3])], ["relu", dn.relu, r([6])], ["erf", dn.erf, r([4])],
    ["gelu", dn.gelu, r([5])], ["softplus", dn.softplus, r([4])],
    ["leakyRelu", (x) => dn.leakyRelu(x, 0.1), r([6])], ["elu", (x) => dn.elu(x, 0.7), r([6])],
    ["clip", (x) => dn.clip(x, -1, 1), r([8], -3, 3)],
  ];
  for (const [name, f, x] of unary) await check(name, f, [x]);
});

test("binary ops with broadcasting and size-1 dims", async () => {
  const shapes: [number[], number[]][] = [[[2, 3], [2, 3]], [[2, 3], [3]], [[2, 1], [1, 3]], [[1], [2, 2]], [[3, 1, 2], [1, 4, 1]]];
  for (const [sa, sb] of shapes) {
    await check(`add ${sa}+${sb}`, dn.add, [r(sa), r(sb)]);
    await check(`sub ${sa}`, dn.sub, [r(sa), r(sb)]);
    await check(`mul ${sa}`, dn.mul, [r(sa), r(sb)]);
    await check(`div ${sa}`, dn.div, [r(sa), pos(sb)]);
    await check(`pow ${sa}`, dn.pow, [pos(sa), r(sb, -2, 2)]);
    await check(`maximum ${sa}`, dn.maximum, [r(sa), r(sb)]);
    await check(`minimum ${sa}`, dn.minimum, [r(sa), r(sb)]);
  }
  await check("scalar ops", (x) => dn.add(dn.mul(x, 3), 1).div(2).sub(0.5), [r([3])]);
  await check("where", (a, b) => dn.where(dn.tensor([[true, false, true]]), a, b), [r([2, 3]), r([1, 3])]);
  await check("cast float64→float32→float64", (x) => dn.cast(dn.cast(x, "float32"), "float64"), [r([3])], { atol: 1e-3, rtol: 1e-3, eps: 1e-3 });
});

test("reductions and the softmax family", async () => {
  const x = r([2, 3, 4]);
  await check("sum all", (t) => dn.sum(t), [x]);
  await check("sum axis", (t) => dn.sum(t, 1), [x]);
  await check("sum axes keepdims", (t) => dn.sum(t, [0, 2], true), [x]);
  await check("mean", (t) => dn.mean(t, -1), [x]);
  await check("max", (t) => dn.max(t, [0, 2]), [x]);
  await check("min", (t) => dn.min(t, 1, true), [x]);
  await check("prod", (t) => dn.prod(t, 1), [pos([2, 3])]);
  await check("var", (t) => dn.variance(t, 1), [x]);
  await check("std", (t) => dn.std(t, [0, 1], false, 1), [x]);
  await check("logsumexp", (t) => dn.logsumexp(t, 2), [x]);
  await check("softmax", (t) => dn.softmax(t, 1), [x]);
  await check("logSoftmax", (t) => dn.logSoftmax(t, -1), [x]);
  await check("cumsum", (t) => dn.cumsum(t, 1), [x]);
  await check("cumsum reverse", (t) => dn.cumsum(t, 2, true), [x]);
});

test("matmul, dot, outer", async () => {
  await check("matmul 2-D", dn.matmul, [r([3, 4]), r([4, 2])]);
  await check("matmul batched", dn.matmul, [r([2, 3, 4]), r([2, 4, 2])]);
  await check("matmul broadcast batch", dn.matmul, [r([2, 1, 2, 3]), r([3, 3, 2])]);
  await check("matmul vector", dn.matmul, [r([3]), r([3, 2])]);
  await check("matmul transposed view", (a, b) => dn.matmul(a.T, b), [r([4, 3]), r([4, 2])]);
  await check("dot", dn.dot, [r([4]), r([4])]);
  await check("outer", dn.outer, [r([3]), r([2])]);
});

test("shape and movement ops", async () => {
  const x = r([2, 3, 4]);
  await check("reshape", (t) => dn.reshape(t, [4, -1]).mul(dn.arange(6).cast("float64")), [x]);
  await check("flatten", (t) => dn.flatten(t, 1), [x]);
  await check("squeeze/unsqueeze", (t) => dn.squeeze(dn.unsqueeze(t, 1)), [r([3, 1])]);
  await check("transpose", (t) => dn.transpose(t).mul(dn.arange(24).reshape([4, 3, 2]).cast("float64")), [x]);
  await check("permute", (t) => dn.permute(t, [1, 2, 0]), [x]);
  await check("broadcastTo", (t) => dn.broadcastTo(t, [2, 3, 4]), [r([3, 1])]);
  await check("slice", (t) => dn.slice(t, [0, 1, 1], [2, 2, -1]), [x]);
  await check("index with steps", (t) => t.idx(1, [0, 3, 2], [null, null, 3]), [x]);
  await check("concat", (a, b) => dn.concat([a, b, a], 1), [r([2, 2]), r([2, 3])]);
  await check("stack", (a, b) => dn.stack([a, b], 2), [r([2, 2]), r([2, 2])]);
  await check("split", (t) => dn.split(t, [1, 3], 2)[1], [x]);
  await check("gather (repeated indices)", (t) => dn.gather(t, dn.tensor([2, 0, 2, 1]), 1), [r([2, 3])]);
  await check("pad", (t) => dn.pad(t, [[1, 0], [2, 1]], 0.5), [r([2, 2])]);
  await check("tile", (t) => dn.tile(t, [2, 3]), [r([2, 2])]);
  await check("repeat", (t) => dn.repeat(t, 3, 1), [r([2, 2])]);
  await check("contiguous/clone", (t) => dn.clone(dn.contiguous(t.T)), [r([2, 3])]);
});

test("conv2d and pooling", async () => {
  await check("conv2d valid", (x, w) => dn.conv2d(x, w), [r([2, 5, 5, 2]), r([3, 3, 2, 3])], { atol: 1e-4 });
  await check("conv2d same stride 2", (x, w) => dn.conv2d(x, w, { strides: 2, padding: "same" }), [r([1, 5, 6, 2]), r([3, 2, 2, 2])], { atol: 1e-4 });
  await check("conv2d dilation", (x, w) => dn.conv2d(x, w, { dilation: 2 }), [r([1, 6, 6, 1]), r([2, 2, 1, 2])], { atol: 1e-4 });
  await check("maxPool2d", (x) => dn.maxPool2d(x, 2), [r([1, 4, 4, 2])]);
  await check("maxPool2d same stride 1", (x) => dn.maxPool2d(x, 3, { strides: 1, padding: "same" }), [r([1, 3, 3, 1])]);
  await check("avgPool2d same", (x) => dn.avgPool2d(x, 2, { padding: "same" }), [r([1, 3, 5, 2])]);
});

test("gradcheck catches a wrong gradient", async () => {
  // sanity: a hand-made op with a wrong backward must fail the check
  const { record } = await import("../lib/ops/core.js");
  const bad = (x: Tensor) => {
    const y = dn.noGrad(() => dn.mul(x, 3));
    return record(y, "bad", [x], (g) => [dn.mul(g, 2)]);
  };
  let failed = false;
  try {
    await dn.gradcheck(bad, [r([3])]);
  } catch {
    failed = true;
  }
  assert.ok(failed, "gradcheck accepted a wrong gradient");
});

test.run();
