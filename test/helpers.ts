/** Small test utilities shared by the library tests. Every suite runs on the backend named by DAWNET_BACKEND. */
import * as assert from "uvu/assert";
import * as dn from "../lib/index.js";

/** Selects the backend under test (DAWNET_BACKEND, default cpu); resolves with its name. */
export async function useBackend(): Promise<string> {
  const name = process.env.DAWNET_BACKEND ?? "cpu";
  await dn.setBackend(name);
  return name;
}

type Nested = number | boolean | Nested[];

function flat(x: Nested): number[] {
  if (Array.isArray(x)) return x.flatMap(flat);
  return [typeof x === "boolean" ? (x ? 1 : 0) : x];
}

/** Asserts shape and values (within atol + rtol·|expected|; NaN equals NaN). */
export async function close(t: dn.Tensor, expected: Nested | ArrayLike<number>, opts: { atol?: number; rtol?: number; shape?: number[] } = {}): Promise<void> {
  const atol = opts.atol ?? 1e-5, rtol = opts.rtol ?? 1e-5;
  const exp = Array.isArray(expected) || typeof expected !== "object" ? flat(expected as Nested) : Array.from(expected as ArrayLike<number>);
  if (opts.shape) assert.equal([...t.shape], opts.shape, `shape ${JSON.stringify(t.shape)} != ${JSON.stringify(opts.shape)}`);
  const got = Array.from(await t.data());
  assert.is(got.length, exp.length, `size ${got.length} != ${exp.length}`);
  for (let i = 0; i < got.length; i++) {
    const a = got[i], e = exp[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e)) && a !== e) {
      assert.unreachable(`element ${i}: got ${a}, expected ${e} (atol ${atol}, rtol ${rtol})\n got: ${got.slice(0, 20).join(", ")}\n exp: ${exp.slice(0, 20).join(", ")}`);
    }
  }
}

/** Asserts that fn throws an error whose message matches every pattern. */
export function throws(fn: () => unknown, ...patterns: RegExp[]): void {
  try {
    fn();
  } catch (e) {
    const msg = (e as Error).message;
    for (const p of patterns) assert.match(msg, p, `message "${msg}" does not match ${p}`);
    return;
  }
  assert.unreachable(`expected an error matching ${patterns.join(", ")}`);
}

export async function rejects(fn: () => Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const msg = (e as Error).message;
    for (const p of patterns) assert.match(msg, p, `message "${msg}" does not match ${p}`);
    return;
  }
  assert.unreachable(`expected a rejection matching ${patterns.join(", ")}`);
}
