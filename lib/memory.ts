/**
 * Scoped memory management: `tidy(fn)` disposes every tensor created inside `fn` except those it
 * returns or `keep()`s. A FinalizationRegistry (in tensor.ts) is the safety net for the rest.
 */
import type { Tensor } from "./tensor.js";

const scopes: Set<Tensor>[] = [];

/** @internal Called for every new tensor. */
export function track(t: Tensor): void {
  if (scopes.length) scopes[scopes.length - 1].add(t);
}

/** @internal */
export function untrack(t: Tensor): void {
  for (const s of scopes) s.delete(t);
}

/** Exempts tensors from disposal by the enclosing tidy scopes; returns its argument. */
export function keep<T extends Tensor | null | undefined>(t: T): T {
  if (t) untrack(t);
  return t;
}

function collect(v: unknown, out: Set<Tensor>, depth = 0): void {
  if (!v || typeof v !== "object" || depth > 4) return;
  if ((v as { constructor?: { name?: string } }).constructor?.name === "Tensor") {
    out.add(v as Tensor);
    return;
  }
  if (Array.isArray(v)) for (const x of v) collect(x, out, depth + 1);
  else if (v instanceof Map) for (const x of v.values()) collect(x, out, depth + 1);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collect(x, out, depth + 1);
}

/**
 * Runs `fn` and disposes the tensors it created, except those in its result (a tensor, or tensors in
 * arrays/plain objects) and those kept with `keep()`. Survivors move to the enclosing scope.
 * `fn` must be synchronous: an async function would let other work's tensors into the scope.
 */
export function tidy<T>(fn: () => T): T;
export function tidy<T>(name: string, fn: () => T): T;
export function tidy<T>(a: string | (() => T), b?: () => T): T {
  const fn = typeof a === "function" ? a : b!;
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result && typeof (result as { then?: unknown }).then === "function") {
    for (const t of scope) t.dispose();
    throw new Error("tidy: the function returned a Promise; tidy only scopes synchronous code (await outside, tidy the synchronous step inside)");
  }
  const survivors = new Set<Tensor>();
  collect(result, survivors);
  for (const t of scope) {
    if (!survivors.has(t)) t.dispose();
    else track(t);
  }
  return result;
}

/** Number of nested tidy scopes currently open. */
export function scopeDepth(): number {
  return scopes.length;
}

