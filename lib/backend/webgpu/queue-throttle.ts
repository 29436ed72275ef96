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
 * Dawn's poll function. The binding schedules it with the global setImmediate when its first promise starts
 * (requestDevice), so this module, loaded before the device is requested, watches setImmediate until the first
 * native callback goes by, then steps aside. (A later chance: our own first fence, if the binding is not
 * already polling then.)
 */
let processEvents: (() => void) | undefined;
const originalSetImmediate = globalThis.setImmediate;
let watching = true;
const watcher = function (this: unknown, callback: (...args: unknown[]) => void, ...args: unknown[]) {
  if (watching && isNativeFunction(callback)) {
    processEvents = callback as () => void;
    stopWatching();
  }
  return (originalSetImmediate as (...a: unknown[]) => Immediate).call(this, callback, ...args);
};
Object.defineProperties(watcher, Object.getOwnPropertyDescriptors(originalSetImmediate));
globalThis.setImmediate = watcher as typeof setImmediate;
// Where no device comes (no adapter), stop looking: the check reads each callback's source text.
setTimeout(stopWatching, 30_000).unref();

/** Puts setImmediate back (when still ours: idle-wait.ts may have wrapped it since). */
function stopWatching(): void {
  watching = false;
  if (globalThis.setImmediate === (watcher as unknown)) globalThis.setImmediate = originalSetImmediate;
}

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

  constructor(private readonly device: GPUDevice) {
    stopWatching(); // the device exists: its requestDevice has passed (the capture, if any, is done)
  }

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
    const realSetImmediate = globalThis.setImmediate;
    let promise: Promise<void>;
    if (!processEvents) {
      // Dawn's binding schedules its poll with the global setImmediate when its first promise starts.
      globalThis.setImmediate = function (this: unknown, callback: (...args: unknown[]) => void, ...args: unknown[]) {
        if (!processEvents && isNativeFunction(callback)) processEvents = callback as () => void;
        return (realSetImmediate as (...a: unknown[]) => Immediate).call(this, callback, ...args);
      } as typeof setImmediate;
      try {
        promise = fence.mapAsync(MAP_READ);
      } finally {
        globalThis.setImmediate = realSetImmediate;
      }
    } else promise = fence.mapAsync(MAP_READ);
    promise.catch(() => {}); // a lost device rejects it; the backend reports that at the next op
    this.pending.push({ buffer: fence, promise });
    while (this.pending.length > MAX_PENDING_FENCES && processEvents) {
      this.waitFor(this.pending[0].buffer);
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
   * Polls Dawn until `fence` is mapped. Each poll made while a promise is pending ends with Dawn scheduling its
   * next poll through setImmediate (always the poll's last call: rejections it schedules come first); only the
   * newest of those is kept, so the event loop later runs one chain of polls, not one per poll made here.
   */
  private waitFor(fence: GPUBuffer): void {
    const start = performance.now();
    const realSetImmediate = globalThis.setImmediate;
    let scheduled: Immediate[] = [];
    globalThis.setImmediate = function (this: unknown, callback: (...args: unknown[]) => void, ...args: unknown[]) {
      const handle = (realSetImmediate as (...a: unknown[]) => Immediate).call(this, callback, ...args);
      if (isNativeFunction(callback)) scheduled.push(handle);
      return handle;
    } as typeof setImmediate;
    let sleepMs = 0.05;
    try {
      for (;;) {
        scheduled = [];
        processEvents!();
        // While one of our fences is still pending, Dawn's count of waiting promises is > 0, so the poll
        // rescheduled itself: its last setImmediate call is that poll.
        if (scheduled.length > 0 && this.pending.some((f) => f.buffer.mapState === "pending")) {
          if (lastPollImmediate) clearImmediate(lastPollImmediate);
          lastPollImmediate = scheduled[scheduled.length - 1];
        }
        if (fence.mapState !== "pending") break;
        Atomics.wait(sleepCell, 0, 0, sleepMs);
        sleepMs = Math.min(sleepMs * 2, MAX_POLL_SLEEP_MS);
      }
    } finally {
      globalThis.setImmediate = realSetImmediate;
    }
    this.waits++;
    this.waitedMs += performance.now() - start;
  }
}
