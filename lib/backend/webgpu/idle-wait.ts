/**
 * Waiting on a GPU promise without burning a core. Dawn's Node binding keeps a pending promise alive by
 * re-arming `setImmediate` with a native tick function, which spins the main thread at 100% (on lavapipe
 * that core is taken from the rasterizer threads doing the actual work). While one of our waits is
 * pending, native ticks are deferred with `setTimeout` after a short spin, which keeps small readbacks
 * fast and long waits idle. Measured on 2 cores/lavapipe (see the idle-wait row of bench/webgpu-ops.ts): a 0.5 s kernel
 * waited in 530 ms wall / 350 ms main-thread CPU spinning, and in 360 ms wall / 10 ms CPU with this.
 */

/** Below this many milliseconds of waiting, native ticks run immediately (a scalar readback takes ~0.05 ms). */
const SPIN_MS = 0.3;

let pendingWaits = 0;
let firstWaitStart = 0;
let installed = false;

function isNativeFunction(fn: unknown): boolean {
  return typeof fn === "function" && Function.prototype.toString.call(fn).endsWith("{ [native code] }");
}

function install(): void {
  if (installed) return;
  installed = true;
  const realSetImmediate = globalThis.setImmediate;
  const patched = function (callback: (...args: unknown[]) => void, ...args: unknown[]) {
    if (pendingWaits > 0 && isNativeFunction(callback)) {
      const waited = performance.now() - firstWaitStart;
      if (waited > SPIN_MS) {
        // Returned handle type differs (Timeout vs Immediate); Dawn ignores it.
        return setTimeout(callback, waited < 5 ? 0 : 1, ...args) as unknown as NodeJS.Immediate;
      }
    }
    return realSetImmediate(callback, ...args);
  };
  Object.defineProperties(patched, Object.getOwnPropertyDescriptors(realSetImmediate));
  globalThis.setImmediate = patched as typeof setImmediate;
}

/** Awaits a Dawn promise with idle (timer-based) polling once it has been pending for a moment (DAWNET_WEBGPU_BUSY_WAIT=1: plain await, to compare). */
export async function idleWait<T>(promise: Promise<T>): Promise<T> {
  if (process.env.DAWNET_WEBGPU_BUSY_WAIT) return promise;
  install();
  if (pendingWaits++ === 0) firstWaitStart = performance.now();
  try {
    return await promise;
  } finally {
    pendingWaits--;
  }
}
