/** Weight penalties added to the training loss (Keras' definitions: l1·Σ|w| + l2·Σw²). */
import type { Tensor } from "../tensor.js";
import * as E from "../ops/elementwise.js";
import { sum } from "../ops/reduce.js";
import { normalizeName } from "./identifiers.js";

export class L1L2 {
  readonly className: string = "L1L2";
  constructor(readonly l1 = 0, readonly l2 = 0) {}
  /** The penalty for one weight tensor (a scalar). */
  call(w: Tensor): Tensor {
    if (this.l1 && this.l2) return E.add(E.mul(sum(E.abs(w)), this.l1), E.mul(sum(E.square(w)), this.l2));
    if (this.l1) return E.mul(sum(E.abs(w)), this.l1);
    return E.mul(sum(E.square(w)), this.l2);
  }
  getConfig(): { l1: number; l2: number } {
    return { l1: this.l1, l2: this.l2 };
  }
}
/** L1 penalty: l1·Σ|w| (default 0.01 like Keras). */
export class L1 extends L1L2 {
  override readonly className = "L1";
  constructor(l1 = 0.01) { super(l1, 0); }
}
/** L2 penalty: l2·Σw² (default 0.01 like Keras). */
export class L2 extends L1L2 {
  override readonly className = "L2";
  constructor(l2 = 0.01) { super(0, l2); }
}

export type Regularizer = L1L2 | ((w: Tensor) => Tensor);
export type RegularizerIdentifier = Regularizer | "l1" | "l2" | "l1_l2" | string | { className: string; config: { l1?: number; l2?: number } };

export const regularizers = {
  l1: (l1 = 0.01) => new L1(l1),
  l2: (l2 = 0.01) => new L2(l2),
  l1l2: (opts: { l1?: number; l2?: number } = {}) => new L1L2(opts.l1 ?? 0.01, opts.l2 ?? 0.01),
};

export function getRegularizer(id: RegularizerIdentifier | null | undefined): Regularizer | null {
  if (id === null || id === undefined) return null;
  if (typeof id === "function" || id instanceof L1L2) return id;
  const name = normalizeName(typeof id === "string" ? id : id.className);
  const c = typeof id === "string" ? {} : id.config;
  if (name === "l1") return new L1(c.l1 ?? 0.01);
  if (name === "l2") return new L2(c.l2 ?? 0.01);
  if (name === "l1l2") return new L1L2(c.l1 ?? 0.01, c.l2 ?? 0.01);
  throw new Error(`unknown regularizer '${typeof id === "string" ? id : id.className}'; known: l1, l2, l1_l2, or pass a function (w) => penalty`);
}

export function applyRegularizer(r: Regularizer, w: Tensor): Tensor {
  return typeof r === "function" ? r(w) : r.call(w);
}

export function serializeRegularizer(r: Regularizer | null): { className: string; config: { l1: number; l2: number } } | null {
  if (!r) return null;
  if (typeof r === "function") throw new Error("save: a model with a function regularizer cannot be saved; use L1, L2 or L1L2");
  return { className: r.className, config: r.getConfig() };
}
