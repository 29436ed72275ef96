/**
 * Dawn's JS wrappers (bind groups above all) hold native memory that V8 does not see, so V8 collects them
 * late: after a few thousand training steps that each create new bind groups, tens of thousands of dead
 * wrappers are still alive. On lavapipe each one keeps a mapping, and at vm.max_map_count (65,530) mmap fails
 * and the driver crashes the process (SIGSEGV in memset, seen in tutorial 5 on webgpu). The backend asks for
 * a full collection every so many created bind groups; steady loops that hit the bind-group cache create none.
 */
import v8 from "node:v8";
import vm from "node:vm";

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
