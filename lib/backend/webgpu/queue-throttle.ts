/// <reference types="@webgpu/types" />
/**
 * Keeps JavaScript from running unboundedly ahead of the GPU in a loop that never awaits.
 *
 * Ops only queue work. A loop that never yields (no `await`) on lavapipe encodes faster than the device runs
 * it (hand-written Adam on a small MLP: 57 s to encode 5,000 steps, 82 s to run them), and everything queued
 * holds native memory until it has run and Dawn has been polled. WebGPU in Node has no synchronous wait, but
 * Dawn's Node binding polls its instance with a native function it hands to `setImmediate` while a promise of
 * its own is pending; calling that function is `wgpuInstanceProcessEvents`, which completes mapAsync calls whose
 * work has finished (the buffer's `mapState` turns "mapped" during the call). So every FENCE_DISPATCHES dispatches
 * a submit also clears a small fence buffer and maps it; when more than MAX_PENDING_FENCES fences are pending, the
 * oldest is waited for here, polling Dawn and sleeping in between (Atomics.wait: the core goes to the rasterizer
 * threads). A loop that awaits now and then finds its fences already mapped and never waits here.
 */

import { clearImmediate as nodeClearImmediate, setImmediate as nodeSetImmediate } from "node:timers";

const MAP_READ = 0x1, COPY_DST = 0x8;
/** Dispatches between fences. */
const FENCE_DISPATCHES = 1024;
/** Fences that may be pending before a submit waits for the oldest (so at most ~8,000–9,000 dispatches queued). */
const MAX_PENDING_FENCES = 8;
/** Longest sleep between two polls while waiting (ms); polls start at 0.05 ms and double. */
const MAX_POLL_SLEEP_MS = 1;

type Immediate = ReturnType<typeof setImmediate>;

function isNativeFunction(fn: unknown): boolean {
  return typeof fn === "function" && Function.prototype.toString.call(fn).endsWith("{ [native code] }");
}

/**
 * Dawn's poll function, captured inside our own calls that start a Dawn promise (requestAdapter and
 * requestDevice in device.ts, a fence's mapAsync here): when the binding has no poll queued, starting a promise
 * schedules one with the global setImmediate synchronously, within the call, so no other code can pass a
 * native function (a promise's resolve, a bound function) in between.
 */
let processEvents: (() => void) | undefined;

/** Runs `start` (a synchronous call that starts a Dawn promise) and keeps the poll function it schedules, if any. */
export function capturePoll<T>(start: () => T): T {
  if (processEvents) return start();
  const realSetImmediate = globalThis.setImmediate;
  globalThis.setImmediate = function (this: unknown, callback: (...args: unknown[]) => void, ...args: unknown[]) {
    if (!processEvents && isNativeFunction(callback)) processEvents = callback as () => void;
    return (realSetImmediate as (...a: unknown[]) => Immediate).call(this, callback, ...args);
  } as typeof setImmediate;
  try {
    return start();
  } finally {
    globalThis.setImmediate = realSetImmediate;
  }
}
/** Longest a submit waits for one fence before it stops throttling (a GPU that stopped answering). */
const MAX_WAIT_MS = 120_000;
/** The newest poll immediate our waits left scheduled (older ones are cancelled: one chain of polls is enough). */
let lastPollImmediate: Immediate | undefined;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

interface Fence { buffer: GPUBuffer; promise: Promise<void> }

export class QueueThrottle {
  private readonly free: GPUBuffer[] = [];
  private readonly pending: Fence[] = [];
  private dispatchesAtLastFence = 0;
  /** Synchronous waits so far and their total time (tests, benchmarks). */
  waits = 0;
  waitedMs = 0;
  /** Off: fences are neither placed nor waited for (DAWNET_WEBGPU_QUEUE_THROTTLE=0; benchmarks switch it to compare). */
  enabled = process.env.DAWNET_WEBGPU_QUEUE_THROTTLE !== "0";

  constructor(private readonly device: GPUDevice) {}

  /** Whether Dawn's poll function was found (without it a loop that never awaits cannot be throttled). */
  get canWait(): boolean {
    return processEvents !== undefined;
  }

  /** Called with the batch's encoder before it is finished: a fence to hand to afterSubmit, when this submit carries one. */
  beforeSubmit(encoder: GPUCommandEncoder, dispatchesSoFar: number): GPUBuffer | undefined {
    if (!this.enabled || dispatchesSoFar - this.dispatchesAtLastFence < FENCE_DISPATCHES) return undefined;
    this.dispatchesAtLastFence = dispatchesSoFar;
    this.retire();
    // Without the poll function nothing can be waited for: stop adding fences once enough are pending.
    if (!processEvents && this.pending.length >= MAX_PENDING_FENCES) return undefined;
    const buffer = this.free.pop() ?? this.device.createBuffer({ size: 4, usage: MAP_READ | COPY_DST, label: "dawnet queue fence" });
    encoder.clearBuffer(buffer);
    return buffer;
  }

  /** Maps the fence (done once the GPU has run the submit), then waits for the oldest fence while too many are pending. */
  afterSubmit(fence: GPUBuffer | undefined): void {
    if (!fence) return;
    const promise = capturePoll(() => fence.mapAsync(MAP_READ));
    promise.catch(() => {}); // a lost device rejects it; the backend reports that at the next op
    this.pending.push({ buffer: fence, promise });
    while (this.pending.length > MAX_PENDING_FENCES && processEvents) {
      if (!this.waitFor(this.pending[0].buffer)) break;
      this.retire();
    }
  }

  /** Returns mapped fences at the front of the queue to the free list (dropping ones whose mapping failed). */
  private retire(): void {
    while (this.pending.length > 0) {
      const { buffer } = this.pending[0];
      const state = buffer.mapState;
      if (state === "pending") return;
      this.pending.shift();
      if (state === "mapped") {
        buffer.unmap();
        this.free.push(buffer);
      } else buffer.destroy();
    }
  }

  /**
   * Polls Dawn until `fence` is mapped; false when it could not (the captured function does not poll Dawn, or
   * the GPU did not finish within MAX_WAIT_MS), and the caller stops waiting. Each poll made while a promise is
   * pending ends with Dawn scheduling its next poll through setImmediate (always the poll's last call); those
   * are scheduled with Node's own setImmediate (not idle-wait's, which may turn them into timeouts) and only
   * the newest is kept, so the event loop later runs one chain of polls, not one per poll made here.
   */
  private waitFor(fence: GPUBuffer): boolean {
    const start = performance.now();
    const realSetImmediate = globalThis.setImmediate;
    let scheduled: Immediate[] = [];
    globalThis.setImmediate = function (this: unknown, callback: (...args: unknown[]) => void, ...args: unknown[]) {
      if (!isNativeFunction(callback)) return (realSetImmediate as (...a: unknown[]) => Immediate).call(this, callback, ...args);
      const handle = nodeSetImmediate(callback, ...args);
      scheduled.push(handle);
      return handle;
    } as typeof setImmediate;
    let sleepMs = 0.05, reached = true;
    try {
      for (;;) {
        scheduled = [];
        processEvents!();
        // While our fence is pending, Dawn's count of waiting promises is > 0, so a real poll rescheduled itself.
        if (scheduled.length === 0 && fence.mapState === "pending") {
          processEvents = undefined; // not Dawn's poll after all: stop throttling rather than wait forever
          reached = false;
          break;
        }
        if (scheduled.length > 0) {
          if (lastPollImmediate) nodeClearImmediate(lastPollImmediate);
          lastPollImmediate = scheduled.pop();
          for (const extra of scheduled) nodeClearImmediate(extra);
        }
        if (fence.mapState !== "pending") break;
        if (performance.now() - start > MAX_WAIT_MS) {
          reached = false;
          break;
        }
        Atomics.wait(sleepCell, 0, 0, sleepMs);
        sleepMs = Math.min(sleepMs * 2, MAX_POLL_SLEEP_MS);
      }
    } finally {
      globalThis.setImmediate = realSetImmediate;
    }
    this.waits++;
    this.waitedMs += performance.now() - start;
    return reached;
  }
}
