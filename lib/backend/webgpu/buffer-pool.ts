/// <reference types="@webgpu/types" />
/**
 * Size-bucketed pool of GPU buffers. Buckets are 256 bytes, then steps of a quarter power of two
 * (≤ 25% slack), so buffers of similar size are reused across training steps instead of re-created.
 *
 * A bucket hands out its oldest free buffer (lowest creation serial), not the last one released. Bind
 * groups are cached by buffer identity, and a step that swaps buffers (`assign` keeps the new value's
 * buffer and frees the old one) released them in an order that rotated which buffer each op got: a
 * plain SGD loop never repeated itself and created ~30 new bind groups per step. Handing out by serial
 * makes the choice depend only on which buffers are free, so a loop returns to the same state within a
 * step or two and hits the bind-group cache. That matters most where a loop never yields to the event
 * loop: Node releases Dawn objects only there (README "Memory over long runs").
 */

/** Capacity in bytes of the bucket that holds `bytes` (≥ 256, a multiple of 4). */
export function bucketBytes(bytes: number): number {
  if (bytes <= 256) return 256;
  const step = 2 ** Math.floor(Math.log2(bytes)) / 4;
  return Math.ceil(bytes / step) * step;
}

export class BufferPool {
  /** Free buffers per bucket capacity, highest serial first (pop() gives the oldest). */
  private readonly freeByBucket = new Map<number, GPUBuffer[]>();
  private readonly serials = new WeakMap<GPUBuffer, number>();
  private nextSerial = 0;
  /** Off: last released, first handed out (the old order; bench/webgpu-throttle.ts compares the two). */
  oldestFirst = true;
  liveBytes = 0;
  liveBuffers = 0;
  pooledBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: number,
    /** Pooled bytes beyond this are destroyed instead of kept. */
    private readonly maxPooledBytes: number,
    private readonly label: string,
    /** Called before pooled buffers are destroyed (bind groups that name them must go). */
    private readonly onDestroy: () => void = () => {},
  ) {}

  acquire(bytes: number): GPUBuffer {
    const capacity = bucketBytes(bytes);
    const list = this.freeByBucket.get(capacity);
    let buffer = list?.pop();
    if (buffer) this.pooledBytes -= capacity;
    else {
      buffer = this.device.createBuffer({ size: capacity, usage: this.usage, label: this.label });
      this.serials.set(buffer, this.nextSerial++);
    }
    this.liveBytes += capacity;
    this.liveBuffers++;
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const capacity = buffer.size;
    this.liveBytes -= capacity;
    this.liveBuffers--;
    if (this.pooledBytes + capacity > this.maxPooledBytes) {
      this.onDestroy();
      buffer.destroy();
      return;
    }
    let list = this.freeByBucket.get(capacity);
    if (!list) this.freeByBucket.set(capacity, (list = []));
    if (!this.oldestFirst) {
      list.push(buffer);
      this.pooledBytes += capacity;
      return;
    }
    // Binary search for the place that keeps the list in descending serial order.
    const serial = this.serials.get(buffer)!;
    let lo = 0, hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.serials.get(list[mid])! > serial) lo = mid + 1;
      else hi = mid;
    }
    if (lo === list.length) list.push(buffer);
    else list.splice(lo, 0, buffer);
    this.pooledBytes += capacity;
  }

  /** Switches the hand-out order (sorting the free lists when turning oldest-first on). */
  setOldestFirst(on: boolean): void {
    this.oldestFirst = on;
    if (on) for (const list of this.freeByBucket.values()) list.sort((x, y) => this.serials.get(y)! - this.serials.get(x)!);
  }

  /** Destroys every pooled (not live) buffer. */
  trim(): void {
    this.onDestroy();
    for (const list of this.freeByBucket.values()) for (const b of list) b.destroy();
    this.freeByBucket.clear();
    this.pooledBytes = 0;
  }
}
