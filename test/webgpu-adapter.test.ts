/**
 * The WebGPU backend without an adapter, and process lifetime: run in child processes so the device of
 * one does not mask the other. VK_DRIVER_FILES=/nonexistent hides every Vulkan driver from Dawn.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

import { createWebGPUBackend } from "../lib/backend/webgpu/webgpu.js";

const here = dirname(fileURLToPath(import.meta.url));
// The exit and device-loss checks need an adapter; without one they are skipped (with the reason), not passed.
const created = await createWebGPUBackend();
const withAdapter = "unavailable" in created ? test.skip : test;
if ("unavailable" in created) console.log(`skipped: webgpu exit and device-loss checks: ${created.unavailable}`);
const webgpuModule = join(here, "..", "lib", "backend", "webgpu", "webgpu.js");
const registryModule = join(here, "..", "lib", "backend", "registry.js");

function runScript(source: string, env: Record<string, string> = {}) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", source], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 60_000 });
  return { ...r, ms: Date.now() - t0 };
}

test("no adapter: createWebGPUBackend resolves {unavailable} with a reason that says how to get one", () => {
  const r = runScript(`const m = await import(${JSON.stringify(webgpuModule)}); const b = await m.createWebGPUBackend(); console.log(JSON.stringify(b));`,
    { VK_DRIVER_FILES: "/nonexistent", VK_ICD_FILENAMES: "/nonexistent" });
  assert.is(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assert.type(result.unavailable, "string");
  assert.match(result.unavailable, /no WebGPU adapter/);
  assert.match(result.unavailable, /lavapipe|GPU driver/);
  assert.ok(r.ms < 20_000, `took ${r.ms} ms`);
});

test("no adapter: ready() falls back to cpu with one line on stderr; setBackend('webgpu') names the reason", () => {
  const r = runScript(`const reg = await import(${JSON.stringify(registryModule)});
    console.log(await reg.ready());
    try { await reg.setBackend("webgpu"); console.log("no error"); } catch (e) { console.log("error:", e.message); }`,
    { VK_DRIVER_FILES: "/nonexistent", VK_ICD_FILENAMES: "/nonexistent", DAWNET_BACKEND: "" });
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.is(lines[0], "cpu");
  assert.match(lines[1], /^error: dawnet: backend 'webgpu' is unavailable: no WebGPU adapter/);
  assert.match(r.stderr, /using the cpu backend \(webgpu unavailable: no WebGPU adapter/);
});

withAdapter("ready() prefers cpu over a software adapter (saying so on stderr) and webgpu over a hardware one; DAWNET_BACKEND=webgpu still picks it", () => {
  const software = (created as { isSoftwareAdapter?: boolean }).isSoftwareAdapter;
  const r = runScript(`const reg = await import(${JSON.stringify(registryModule)}); console.log(await reg.ready());`, { DAWNET_BACKEND: "" });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim().split("\n").pop(), software ? "cpu" : "webgpu");
  if (software) assert.match(r.stderr, /using the cpu backend \(the only WebGPU adapter, '.*', renders in software and is usually slower; DAWNET_BACKEND=webgpu/);
  else assert.not.match(r.stderr, /using the cpu backend/);
  const forced = runScript(`const reg = await import(${JSON.stringify(registryModule)}); console.log(await reg.ready());`, { DAWNET_BACKEND: "webgpu" });
  assert.is(forced.status, 0, forced.stderr);
  assert.is(forced.stdout.trim().split("\n").pop(), "webgpu");
});

withAdapter("a program that uses the backend exits by itself after its last read (no hang)", () => {
  const r = runScript(`const m = await import(${JSON.stringify(webgpuModule)});
    const b = await m.createWebGPUBackend();
    if ("unavailable" in b) { console.log("unavailable"); } else {
      const x = b.upload(new Float32Array([1, 2, 3]), "float32");
      const y = b.unary("exp", { buf: x, dtype: "float32", shape: [3], strides: [1], offset: 0 }, "float32");
      console.log(Array.from(await b.read(y, "float32", 3)).map((v) => v.toFixed(3)).join(","));
      b.unary("neg", { buf: y, dtype: "float32", shape: [3], strides: [1], offset: 0 }, "float32"); // left queued at exit
    }`);
  assert.is(r.signal, null, `killed by ${r.signal} after ${r.ms} ms (hang?)`);
  assert.is(r.status, 0, r.stderr);
  const out = r.stdout.trim();
  if (out === "unavailable") console.log("skipped: exit check ran without an adapter");
  else assert.is(out, "2.718,7.389,20.086");
  // Dawn's own adapter warnings (maxDynamic*Buffers...) are the only stderr allowed.
  const stray = r.stderr.split("\n").filter((l) => l.trim() && !/^Warning: maxDynamic\w+ artificially reduced/.test(l));
  assert.equal(stray, [], "unexpected stderr");
});

withAdapter("device loss: a pending read rejects and the next op throws a clear error (no hang)", () => {
  const r = runScript(`const m = await import(${JSON.stringify(webgpuModule)});
    const b = await m.createWebGPUBackend();
    if ("unavailable" in b) { console.log("unavailable"); } else {
      const v = (buf) => ({ buf, dtype: "float32", shape: [4], strides: [1], offset: 0 });
      const x = b.upload(new Float32Array([1, 2, 3, 4]), "float32");
      const pending = b.read(b.unary("exp", v(x), "float32"), "float32", 4).then(() => "resolved", (e) => "rejected: " + e.message);
      b.ctx.device.destroy(); // what a driver reset or a GPU hang looks like to the program
      console.log(await pending);
      await new Promise((r) => setTimeout(r, 50));
      try { b.unary("neg", v(x), "float32"); console.log("no error"); } catch (e) { console.log("error: " + e.message); }
    }`);
  assert.is(r.signal, null, `killed by ${r.signal} after ${r.ms} ms (hang?)`);
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  if (lines[0] === "unavailable") {
    console.log("skipped: device-loss check ran without an adapter");
    return;
  }
  // The read raced the loss: it may have finished first, but it must settle.
  assert.match(lines[0], /^(resolved|rejected: webgpu read: )/);
  assert.match(lines[1], /^error: webgpu unary neg: the GPU device was lost \(destroyed/);
  assert.match(lines[1], /restart the process, or setBackend\("cpu"\)/);
});

test.run();
