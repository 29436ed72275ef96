/// <reference types="@webgpu/types" />
/**
 * Size-bucketed pool of GPU buffers. Buckets are 256 bytes, then steps of a quarter power of two
 * (≤ 25% slack), so buffers of similar size are reused across training steps instead of re-created.
 */

/** Capacity in bytes of the bucket that holds `bytes` (≥ 256, a multiple of 4). */
export function bucketBytes(bytes: number): number {
  if (bytes <= 256) return 256;
  const step = 2 ** Math.floor(Math.log2(bytes)) / 4;
  return Math.ceil(bytes / step) * step;
}

export class BufferPool {
  private readonly freeByBucket = new Map<number, GPUBuffer[]>();
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
    else buffer = this.device.createBuffer({ size: capacity, usage: this.usage, label: this.label });
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
    list.push(buffer);
    this.pooledBytes += capacity;
  }

  /** Destroys every pooled (not live) buffer. */
  trim(): void {
    this.onDestroy();
    for (const list of this.freeByBucket.values()) for (const b of list) b.destroy();
    this.freeByBucket.clear();
    this.pooledBytes = 0;
  }
}
