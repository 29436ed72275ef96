/** memory(): what tensors and backends hold right now. */
import { backendIfLoaded } from "./backend/registry.js";
import { liveBytes, liveTensorCount } from "./tensor.js";

export interface MemoryInfo {
  /** Live Tensor objects (views count separately). */
  numTensors: number;
  /** Bytes of live tensor storage, all backends. */
  numBytes: number;
  /** Per backend: live tensor bytes, and what the backend itself holds (including pooled buffers). */
  backends: Record<string, { tensorBytes: number; bytes: number; buffers: number; pooledBytes?: number }>;
}

export function memory(): MemoryInfo {
  const backends: MemoryInfo["backends"] = {};
  let numBytes = 0;
  for (const name of new Set(["cpu", ...liveBytes.keys()])) {
    const b = backendIfLoaded(name);
    const tb = liveBytes.get(name) ?? 0;
    numBytes += tb;
    backends[name] = { tensorBytes: tb, ...(b ? b.memory() : { bytes: 0, buffers: 0 }) };
  }
  return { numTensors: liveTensorCount(), numBytes, backends };
}
