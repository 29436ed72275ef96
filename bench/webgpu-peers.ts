/**
 * The peers of dawnet's webgpu backend in one process: dawnet's own backends (webgpu, cpu) at the Backend
 * level, and TensorFlow.js' webgpu backend driven through the same Dawn (`navigator.gpu` = webgpu's create()).
 */
import type { Backend } from "../lib/backend/backend.js";
import { CpuBackend } from "../lib/backend/cpu/cpu.js";
import { createWebGPUBackend } from "../lib/backend/webgpu/webgpu.js";

export async function dawnetWebGPU(): Promise<Backend | undefined> {
  const b = await createWebGPUBackend();
  if ("unavailable" in b) {
    console.error(`webgpu unavailable: ${b.unavailable}`);
    return undefined;
  }
  return b;
}

export function dawnetCpu(): Backend {
  return new CpuBackend();
}

type Tf = typeof import("@tensorflow/tfjs-core");

/** Gives Node a browser's `navigator.gpu` (Dawn, from the webgpu package) and WebGPU's globals, for TensorFlow.js. */
export async function installNavigatorGpu(): Promise<void> {
  if ((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) return;
  const { create, globals } = await import("webgpu");
  Object.assign(globalThis, globals); // GPUBufferUsage, GPUMapMode, ... as in a browser
  // Node 21+ defines a read-only navigator; replace it the way a test shim would.
  Object.defineProperty(globalThis, "navigator", { value: { gpu: create([]), userAgent: "node" }, configurable: true, writable: true });
}

/** tfjs-core with its webgpu backend on Dawn, or undefined (with the reason on stderr). */
export async function tfjsWebGPU(): Promise<Tf | undefined> {
  try {
    await installNavigatorGpu();
    const tf = await import("@tensorflow/tfjs-core");
    await import("@tensorflow/tfjs-backend-webgpu");
    const log = console.log, warn = console.warn;
    console.log = console.warn = () => {}; // tfjs prints backend hints; keep the JSON output clean
    try {
      if (!(await tf.setBackend("webgpu"))) throw new Error("setBackend('webgpu') returned false");
      await tf.ready();
    } finally {
      console.log = log;
      console.warn = warn;
    }
    return tf;
  } catch (e) {
    console.error(`tfjs-webgpu unavailable: ${(e as Error).message}`);
    return undefined;
  }
}

/** Best wall time in ms of `fn` over ≥ minReps runs and about `budgetMs` (after one warm-up run). */
export async function bestMs(fn: () => Promise<unknown>, budgetMs: number, minReps = 3): Promise<number> {
  await fn();
  let best = Infinity;
  const start = performance.now();
  for (let r = 0; r < minReps || performance.now() - start < budgetMs; r++) {
    const t0 = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

export function randomFloats(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

export function emit(result: Record<string, unknown>): void {
  console.log(JSON.stringify(result));
}
