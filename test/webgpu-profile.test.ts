/**
 * webgpuProfile: GPU time per kernel from timestamp queries. Checks names and counts against the
 * dispatches the profiled code makes, times > 0, batches past one submit, work outside the profile not
 * counted, and the error without `timestamp-query`. Skipped, with the reason, without an adapter or the feature.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { MatmulParams, View } from "../lib/backend/backend.js";
import { WebGPUBackend, createWebGPUBackend } from "../lib/backend/webgpu/webgpu.js";
import { webgpuProfile } from "../lib/backend/webgpu/profiler.js";
import { setBackend } from "../lib/backend/registry.js";
import { tensor } from "../lib/ops/creation.js";

const disabledNote = process.env.DAWNET_WEBGPU_DISABLE_FEATURES ? ` (DAWNET_WEBGPU_DISABLE_FEATURES=${process.env.DAWNET_WEBGPU_DISABLE_FEATURES})` : "";
const created = await createWebGPUBackend();
const gpu = "unavailable" in created ? undefined : (created as WebGPUBackend);
const hasTimestamps = !!gpu?.features.has("timestamp-query");
const it = hasTimestamps ? test : test.skip;
if (!gpu) console.log(`skipped: webgpu profiler tests: ${(created as { unavailable: string }).unavailable}`);
else if (!hasTimestamps) console.log(`skipped: webgpu profiler tests: adapter '${gpu.adapterDescription}' has no 'timestamp-query' feature${disabledNote}`);
const here = dirname(fileURLToPath(import.meta.url));

const dense = (buf: object, n: number): View => ({ buf, dtype: "float32", shape: [n], strides: [1], offset: 0 });
const square = (n: number): MatmulParams => ({ batch: 1, m: n, k: n, n, aBatchStride: 0, bBatchStride: 0, transA: false, transB: false });
const byName = (kernels: { name: string; count: number; totalUs: number }[]) => Object.fromEntries(kernels.map((k) => [k.name, k]));

it("names, counts and positive times of the kernels a function dispatches; its result comes back", async () => {
  const n = 1 << 20; // long enough for the reduction to split r in parts (two dispatches) on GPUs and software adapters alike
  const a = gpu!.upload(Float32Array.from({ length: n }, (_, i) => (i % 5) - 2), "float32");
  const profile = await webgpuProfile(async () => {
    const products = [0, 1, 2].map(() => gpu!.matmul(a, a, "float32", square(128)));
    const total = gpu!.reduce("sum", a, "float32", 1, n, 1);
    const e = gpu!.unary("exp", dense(a, 16), "float32");
    const sum = (await gpu!.read(total, "float32", 1))[0];
    for (const b of [...products, total, e]) gpu!.free(b);
    return sum;
  });
  assert.is(profile.result, -2); // whole cycles of −2..2 sum to 0; the one element left is −2
  const k = byName(profile.kernels);
  assert.equal(Object.keys(k).sort(), ["matmul", "reduce sum (combine)", "reduce sum (parts)", "unary exp"]);
  assert.equal([k["matmul"].count, k["reduce sum (parts)"].count, k["reduce sum (combine)"].count, k["unary exp"].count], [3, 1, 1, 1]);
  for (const kernel of profile.kernels) assert.ok(kernel.totalUs > 0, `${kernel.name}: ${kernel.totalUs} µs`);
  assert.is(profile.dispatches, 6);
  assert.ok(profile.gpuUs > 0 && profile.wallMs > 0);
  // The table: a title with the totals, a header, one row per kernel, most time first.
  const lines = String(profile).split("\n");
  assert.match(lines[0], /^GPU time by kernel \(.+\): 6 dispatches, \d+\.\d{3} ms GPU, \d+\.\d{3} ms wall$/);
  assert.match(lines[1], /^kernel\s+count\s+total µs\s+mean µs\s+share$/);
  assert.is(lines.length, 6);
  assert.match(lines[2], new RegExp(`^${profile.kernels[0].name.replace(/[()]/g, "\\$&")}\\s+${profile.kernels[0].count}\\s`));
  assert.ok(profile.kernels.every((x, i) => i === 0 || profile.kernels[i - 1].totalUs >= x.totalUs), "sorted by time");
  // In a notebook: the same table as text and as HTML (one row per kernel).
  const bundle = (profile as unknown as Record<symbol, () => Record<string, string>>)[Symbol.for("jupyter.mimebundle")]();
  assert.is(bundle["text/plain"], String(profile));
  assert.is((bundle["text/html"].match(/<tr>/g) ?? []).length, 1 + 4);
  assert.match(bundle["text/html"], /<td[^>]*>reduce sum \(parts\)<\/td>/);
  gpu!.free(a);
});

it("work queued before the profile is not counted; batches past one submit (300 dispatches) all are", async () => {
  const a = gpu!.upload(new Float32Array(4096).fill(1), "float32");
  const before = gpu!.matmul(a, a, "float32", square(64)); // queued, not submitted
  const profile = await webgpuProfile(async () => {
    let cur = a;
    for (let i = 0; i < 300; i++) {
      const next = gpu!.binary("add", dense(cur, 4096), dense(a, 4096), "float32");
      if (cur !== a) gpu!.free(cur);
      cur = next;
    }
    const last = (await gpu!.read(cur, "float32", 1))[0];
    gpu!.free(cur);
    return last;
  });
  assert.is(profile.result, 301);
  assert.equal(profile.kernels.map((x) => [x.name, x.count]), [["binary add", 300]]);
  assert.ok(profile.kernels[0].totalUs > 0);
  gpu!.free(before);
  gpu!.free(a);
});

it("profiles do not nest; after one, dispatches share a pass again; a failing function still ends the profile", async () => {
  const a = gpu!.upload(new Float32Array(8).fill(2), "float32");
  const nested = await webgpuProfile(() => webgpuProfile(() => 1)).then(() => "resolved", (e: Error) => e.message);
  assert.match(nested, /webgpuProfile: a profile is already running/);
  const failed = await webgpuProfile(() => {
    gpu!.unary("neg", dense(a, 8), "float32");
    throw new Error("boom");
  }).then(() => "resolved", (e: Error) => e.message);
  assert.is(failed, "boom");
  assert.is((gpu as unknown as { timer: unknown }).timer, null);
  const again = await webgpuProfile(() => gpu!.read(gpu!.unary("sqrt", dense(a, 8), "float32"), "float32", 1));
  assert.equal(again.kernels.map((x) => [x.name, x.count]), [["unary sqrt", 1]]);
  assert.is(again.result[0], Math.fround(Math.SQRT2));
  gpu!.free(a);
});

it("tensor code: a profile of library ops names their kernels; with the cpu backend current it says why it is empty", async () => {
  await setBackend("cpu");
  const empty = await webgpuProfile(async () => tensor([1, 2, 3]).sum().item());
  assert.is(empty.result, 6);
  assert.is(empty.dispatches, 0);
  assert.match(String(empty), /no webgpu dispatches ran: the current backend is 'cpu' \(call setBackend\("webgpu"\) first\)/);
  await setBackend("webgpu");
  try {
    const profile = await webgpuProfile(async () => {
      const x = tensor([[1, 2], [3, 4]]);
      return x.matmul(x).exp().sum().item();
    });
    const names = profile.kernels.map((k) => k.name).sort();
    assert.ok(names.includes("matmul") && names.includes("unary exp") && names.some((n) => n.startsWith("reduce sum")), names.join(", "));
    const want = Math.exp(7) + Math.exp(10) + Math.exp(15) + Math.exp(22); // x @ x = [[7, 10], [15, 22]]
    assert.ok(Math.abs(profile.result - want) < 1e-6 * want, `${profile.result} vs ${want}`);
  } finally {
    await setBackend("cpu");
  }
});

const withAdapter = gpu ? test : test.skip;
withAdapter("without timestamp-query (DAWNET_WEBGPU_DISABLE_FEATURES) webgpuProfile says why, and ops still run", () => {
  const profiler = join(here, "..", "lib", "backend", "webgpu", "profiler.js");
  const source = `const { webgpuProfile } = await import(${JSON.stringify(profiler)});
    const message = await webgpuProfile(() => 1).then(() => "resolved", (e) => e.message);
    console.log(JSON.stringify({ message }));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", source], { env: { ...process.env, DAWNET_WEBGPU_DISABLE_FEATURES: "timestamp-query" }, encoding: "utf8", timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  const { message } = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assert.match(message, /^webgpuProfile: this device has no 'timestamp-query' feature \(adapter '.+'; DAWNET_WEBGPU_DISABLE_FEATURES=timestamp-query is set\), so GPU times cannot be measured/);
});

test.run();
