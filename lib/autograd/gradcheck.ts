/**
 * Gradient checking: compares autograd with central finite differences, in float64 on the CPU backend.
 * The function may return any shape; it is reduced with fixed random weights so every output counts.
 */
import { loadBackend, withBackend } from "../backend/registry.js";
import { fmt } from "../shape.js";
import { Tensor } from "../tensor.js";
import { fromBuf } from "../ops/core.js";
import { mul } from "../ops/elementwise.js";
import { sum } from "../ops/reduce.js";
import { Generator } from "../ops/random.js";
import { noGrad } from "./mode.js";
import { backward } from "./tape.js";
import { tidy } from "../memory.js";
import type { Backend } from "../backend/backend.js";

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Indices of the inputs to check (default: all float inputs). */
  wrt?: number[];
}

let cpu: Backend | undefined;

/** Float64 CPU copies of the inputs (ints stay ints). */
function toF64(b: Backend, values: (number[] | Float64Array | Int32Array)[], shapes: number[][], dtypes: string[]): Tensor[] {
  return values.map((v, i) => {
    const dt = dtypes[i] === "int32" ? "int32" : dtypes[i] === "bool" ? "bool" : "float64";
    const arr = dt === "float64" ? Float64Array.from(v) : dt === "int32" ? Int32Array.from(v) : Uint8Array.from(v);
    return fromBuf(b, b.upload(arr, dt), shapes[i], dt);
  });
}

/**
 * Throws with the worst mismatch when autograd and finite differences disagree; returns the max error.
 * Inputs are read, converted to float64 on the CPU backend, and never modified; `f` runs with the CPU
 * backend current, so tensors it creates itself (constants, indices) live there too.
 */
export async function gradcheck(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): Promise<number> {
  const cpuBackend = (cpu ??= await loadBackend("cpu"));
  const values = await Promise.all(inputs.map(async (t) => Float64Array.from(await t.data())));
  return withBackend(cpuBackend, () => check(f, inputs, values, opts));
}

function check(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], values: Float64Array[], opts: GradcheckOptions): number {
  const eps = opts.eps ?? 1e-6, atol = opts.atol ?? 1e-5, rtol = opts.rtol ?? 1e-4;
  const b = cpu!;
  const shapes = inputs.map((t) => [...t.shape]);
  const dtypes = inputs.map((t) => t.dtype);
  const wrt = opts.wrt ?? inputs.map((t, i) => (t.dtype === "float32" || t.dtype === "float64" ? i : -1)).filter((i) => i >= 0);

  // Fixed random projection of the output so non-scalar outputs are checked in every element.
  const probe = noGrad(() => f(...toF64(b, values, shapes, dtypes)));
  const rng = new Generator(1234);
  const wArr = new Float64Array(probe.size).map(() => rng.uniform() * 2 - 1);
  const outShape = [...probe.shape];
  probe.dispose();
  const weights = fromBuf(b, b.upload(wArr, "float64"), outShape, "float64");
  const scalarOf = (xs: Tensor[]) => tidy(() => sum(mul(f(...xs), weights)));

  // Analytic gradients.
  const xs = toF64(b, values, shapes, dtypes);
  for (const i of wrt) xs[i].requiresGrad = true;
  const loss = sum(mul(f(...xs), weights));
  if (!loss.requiresGrad) throw new Error("gradcheck: the function's output does not depend on any checked input");
  backward(loss);
  const analytic = wrt.map((i) => (xs[i].grad ? Float64Array.from(xs[i].grad!.dataSync()) : new Float64Array(values[i].length)));
  loss.dispose();
  xs.forEach((x) => x.dispose());

  let worst = 0;
  wrt.forEach((i, k) => {
    for (let j = 0; j < values[i].length; j++) {
      const orig = values[i][j];
      const evalAt = (v: number) => {
        values[i][j] = v;
        const ins = toF64(b, values, shapes, dtypes);
        const l = noGrad(() => scalarOf(ins));
        const r = l.dataSync()[0];
        l.dispose();
        ins.forEach((x) => x.dispose());
        return r;
      };
      const numeric = (evalAt(orig + eps) - evalAt(orig - eps)) / (2 * eps);
      values[i][j] = orig;
      const a = analytic[k][j];
      const err = Math.abs(a - numeric);
      worst = Math.max(worst, err);
      if (!(err <= atol + rtol * Math.abs(numeric))) {
        weights.dispose();
        throw new Error(`gradcheck: input ${i} (shape ${fmt(shapes[i])}) element ${j}: autograd ${a} vs finite differences ${numeric} (error ${err.toExponential(2)})`);
      }
    }
  });
  weights.dispose();
  return worst;
}
