/**
 * Dawn's JS wrappers (bind groups above all) hold native memory that V8 does not see, so V8 collects them
 * late: after a few thousand training steps that each create new bind groups, tens of thousands of dead
 * wrappers are still alive. On lavapipe each one keeps a mapping, and at vm.max_map_count (65,530) mmap fails
 * and the driver crashes the process (SIGSEGV in memset, seen in tutorial 5 on webgpu). The backend asks for
 * a full collection every so many created bind groups; steady loops that hit the bind-group cache create none.
 */
import v8 from "node:v8";
import vm from "node:vm";
import { readFileSync } from "node:fs";

let collect: (() => void) | null | undefined;

/** A full garbage collection, or nothing where the runtime gives no way to ask for one. */
export function collectGarbage(): void {
  if (collect === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) collect = exposed;
    else {
      try {
        v8.setFlagsFromString("--expose-gc");
        collect = vm.runInNewContext("gc") as () => void;
      } catch {
        collect = null;
      }
    }
  }
  collect?.();
}

/**
 * Node runs the native finalizers of collected Dawn wrappers from its immediate queue, i.e. only when the event
 * loop turns: in a loop that never awaits, no bind group is ever released, whatever the GC does (measured: 5,000
 * new bind groups after gc() and Dawn polled: +5,000 mappings; after one setImmediate turn: +259). The backend
 * creates none in steady loops (buffer-pool.ts); a loop that still binds new buffer combinations without ever
 * yielding would reach vm.max_map_count on lavapipe and crash, so it gets this error first.
 */
const MAP_CHECK_EVERY = 2048;
/** Mappings kept free below vm.max_map_count: more than one check interval's worth of new bind groups. */
const MAP_HEADROOM = 6144;
let createdSinceTurn = 0;
let mapLimitCache: number | undefined;

/** The process's memory-mapping limit (vm.max_map_count), or 0 where there is none to read (not Linux). */
function mapLimit(): number {
  if (mapLimitCache === undefined) {
    try {
      mapLimitCache = process.platform === "linux" ? Number(readFileSync("/proc/sys/vm/max_map_count", "utf8").trim()) || 0 : 0;
    } catch {
      mapLimitCache = 0;
    }
  }
  return mapLimitCache;
}

/** Lines of /proc/self/maps: the process's memory mappings. */
export function countMappings(): number {
  const text = readFileSync("/proc/self/maps");
  let lines = 0;
  for (let i = 0; i < text.length; i++) if (text[i] === 10) lines++;
  return lines;
}

/** Overrides vm.max_map_count for the check (tests); undefined restores it. */
export function setMappingLimitForTests(limit: number | undefined): void {
  mapLimitCache = limit;
}

/** Set when the mapping limit came near without a turn; the next op throws it before allocating anything. */
let mapLimitNear: ((op: string) => string) | undefined;

/**
 * Counts one new bind group that stays alive at least until the event loop turns. Near the process's memory-
 * mapping limit it arms an error that the next op throws (throwIfMappingLimitNear) before it allocates, so
 * the failing call leaks nothing; the op that found it still runs (the check keeps 6,144 mappings spare).
 */
export function noteBindGroupWithoutTurn(_op: string): void {
  if (createdSinceTurn++ === 0) setImmediate(() => ((createdSinceTurn = 0), (mapLimitNear = undefined))).unref();
  if (createdSinceTurn % MAP_CHECK_EVERY !== 0) return;
  const limit = mapLimit();
  if (limit === 0) return;
  const mappings = countMappings();
  if (mappings + MAP_HEADROOM < limit) return;
  const created = createdSinceTurn;
  mapLimitNear = (op) =>
    `webgpu ${op}: ${created} new bind groups (buffer combinations) were created without the event loop turning, and the process ` +
    `holds ${mappings} memory mappings of the ${limit} allowed (vm.max_map_count). Node releases Dawn objects only between event-loop turns, ` +
    `and the GPU driver (lavapipe) crashes the process at the limit. Let the loop yield now and then, e.g. \`await loss.item()\` or ` +
    `\`await new Promise((r) => setImmediate(r))\` every few hundred steps`;
}

/** Throws the armed mapping-limit error (see noteBindGroupWithoutTurn) at the start of an op. */
export function throwIfMappingLimitNear(op: string): void {
  if (mapLimitNear) throw new Error(mapLimitNear(op));
}
