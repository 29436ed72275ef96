/**
 * A second thread for large float32 GEMMs: one worker shares the WASM memory and module, takes a
 * row range of C per job through a small shared control block, and is woken with Atomics.
 * The worker starts lazily on the first large product and is unref'd, so it never keeps a program alive;
 * until it reports ready, products run on the calling thread alone.
 * DAWNET_CPU_THREADS=1 turns it off.
 */
import { Worker } from "node:worker_threads";
import { availableParallelism } from "node:os";
import type { GemmTiling } from "./gemm-kernel.js";
import type { WasmMemory, WasmModule } from "./wasm-assembler.js";
import type { GemmRuntime } from "./gemm-f32.js";

/** Control block layout (Int32 slots). */
export const CTRL = {
  state: 0, // see STATE
  aOff: 1, aRs: 2, aCs: 3, bOff: 4, bRs: 5, bCs: 6, k: 7, n: 8, cOff: 9, ldc: 10, rowStart: 11, rowEnd: 12, scratch: 13,
  /** 0: packed (gemmBlocked over strided A/B in the heap), 1: direct (gemmDirect, row strides aRs/bRs), 2: direct with Aᵀ stored. */
  mode: 14,
  /** Direct modes: rows per claimed block, and the shared counter of the next block to claim. */
  blockRows: 15, nextBlock: 16,
  size: 20,
} as const;

/** One thread's share of a product; offsets and strides count floats in the shared heap. */
export interface GemmJob {
  mode: 0 | 1 | 2;
  aOff: number; aRs: number; aCs: number; bOff: number; bRs: number; bCs: number;
  k: number; n: number; cOff: number; ldc: number; rowStart: number; rowEnd: number; scratch: number;
  blockRows: number;
}

/** The next row block of the current direct job, for whichever thread asks first. */
export function claimBlock(c: Int32Array): number {
  return Atomics.add(c, CTRL.nextBlock, 1);
}
export const STATE = { starting: 0, idle: 1, job: 2, done: 3, failed: 4 } as const;

export interface WorkerInit { memory: WasmMemory; module: WasmModule; tiling: GemmTiling; ctrl: SharedArrayBuffer }

let ctrl: Int32Array | undefined;
let worker: Worker | undefined;
let disabled = process.env.DAWNET_CPU_THREADS === "1" || availableParallelism() < 2;

/** True once the worker is up; the first call starts it. */
export function threadsAvailable(): boolean {
  if (disabled) return false;
  if (!ctrl) return false;
  return Atomics.load(ctrl, CTRL.state) === STATE.idle;
}

/** Starts the worker in the background (does not wait). Called by the runtime when it first sees a large product. */
export function startWorker(rt: GemmRuntime): void {
  if (disabled || worker) return;
  const sab = new SharedArrayBuffer(CTRL.size * 4);
  const c = new Int32Array(sab);
  const init: WorkerInit = { memory: rt.memory, module: rt.module, tiling: rt.tiling, ctrl: sab };
  try {
    worker = new Worker(new URL("./gemm-worker.js", import.meta.url), { workerData: init });
  } catch {
    disabled = true;
    return;
  }
  worker.unref();
  worker.on("error", () => { disabled = true; });
  worker.on("exit", () => { disabled = true; });
  ctrl = c;
}

/**
 * Runs `job` on the worker and `mainPart` here, then waits for both. Packed jobs split rows statically (the
 * worker's range is in the job); direct jobs share row blocks through claimBlock(), which `mainPart` gets.
 */
export function parallelGemm(job: GemmJob, mainPart: (claim: () => number) => void): void {
  const c = ctrl!;
  for (const key of Object.keys(job) as (keyof GemmJob)[]) c[CTRL[key]] = job[key];
  Atomics.store(c, CTRL.nextBlock, 0);
  Atomics.store(c, CTRL.state, STATE.job);
  Atomics.notify(c, CTRL.state);
  try {
    mainPart(() => claimBlock(c));
  } finally {
    // Even when this thread's part threw, the worker must finish before the control block is reused.
    waitForWorker(c);
  }
  Atomics.store(c, CTRL.state, STATE.idle);
}

function waitForWorker(c: Int32Array): void {
  // Wait in slices so a dead worker cannot hang the caller forever.
  for (let waited = 0; ; waited += 50) {
    const s = Atomics.load(c, CTRL.state);
    if (s === STATE.done) return;
    if (s === STATE.failed || (disabled && waited > 1000)) {
      disabled = true;
      throw new Error("matmul: the CPU worker thread failed; set DAWNET_CPU_THREADS=1 to run single-threaded");
    }
    Atomics.wait(c, CTRL.state, s, 50);
  }
}
