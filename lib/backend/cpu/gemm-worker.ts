/** Worker side of gemm-threads.ts: waits for a job in the control block, runs its rows of C, reports done. */
import { workerData } from "node:worker_threads";
import { gemmBlocked, gemmDirect, type DirectFn, type MacroFn } from "./gemm-kernel.js";
import { wasm } from "./wasm-assembler.js";
import { claimBlock, CTRL, STATE, type WorkerInit } from "./gemm-threads.js";

const { memory, module, tiling, ctrl: sab } = workerData as WorkerInit;
const ctrl = new Int32Array(sab);
const instance = new wasm.Instance(module, { env: { memory } });
const macro = instance.exports.gemm_macro as MacroFn;
const direct = instance.exports.gemm_direct as DirectFn;
const directTransA = instance.exports.gemm_direct_ta as DirectFn;
let heap = new Float32Array(memory.buffer);

Atomics.store(ctrl, CTRL.state, STATE.idle);
for (;;) {
  Atomics.wait(ctrl, CTRL.state, STATE.idle);
  const s = Atomics.load(ctrl, CTRL.state);
  if (s !== STATE.job) {
    if (s === STATE.idle) continue;
    // done/failed belong to the main thread's side of the handshake; wait for it to reset.
    Atomics.wait(ctrl, CTRL.state, s, 10);
    continue;
  }
  try {
    // The main thread may have grown the memory since the last job.
    if (heap.buffer.byteLength !== memory.buffer.byteLength) heap = new Float32Array(memory.buffer);
    const c = ctrl;
    if (c[CTRL.mode] === 1 || c[CTRL.mode] === 2) {
      const aTransposed = c[CTRL.mode] === 2;
      gemmDirect(
        tiling, aTransposed ? directTransA : direct, c[CTRL.aOff], c[CTRL.aRs], c[CTRL.bOff], c[CTRL.bRs], c[CTRL.k], c[CTRL.n],
        c[CTRL.cOff], c[CTRL.ldc], c[CTRL.rowStart], c[CTRL.rowEnd], aTransposed, c[CTRL.blockRows], () => claimBlock(c),
      );
    } else gemmBlocked(
      tiling, macro, heap,
      { data: heap, offset: c[CTRL.aOff], rowStride: c[CTRL.aRs], colStride: c[CTRL.aCs] },
      { data: heap, offset: c[CTRL.bOff], rowStride: c[CTRL.bRs], colStride: c[CTRL.bCs] },
      c[CTRL.k], c[CTRL.n], c[CTRL.cOff], c[CTRL.ldc], c[CTRL.rowStart], c[CTRL.rowEnd], c[CTRL.scratch],
    );
    Atomics.store(ctrl, CTRL.state, STATE.done);
  } catch (e) {
    Atomics.store(ctrl, CTRL.state, STATE.failed);
    Atomics.notify(ctrl, CTRL.state);
    throw e;
  }
  Atomics.notify(ctrl, CTRL.state);
}
