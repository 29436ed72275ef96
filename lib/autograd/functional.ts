/** Functional gradients (like jax.grad): derivatives of a scalar function w.r.t. its tensor arguments. */
import { fmt } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { alias } from "../ops/movement.js";
import { zerosLike } from "../ops/creation.js";
import { backward } from "./tape.js";

/** Returns a function computing `{ value, grads }`: f's value and its gradient w.r.t. every argument. */
export function valueAndGrad<A extends Tensor[]>(f: (...args: A) => Tensor): (...args: A) => { value: Tensor; grads: Tensor[] } {
  return (...args: A) => {
    const leaves = args.map((a) => {
      const l = alias(a);
      l.requiresGrad = true;
      return l;
    }) as A;
    const value = f(...leaves);
    if (value.size !== 1) throw new Error(`valueAndGrad: the function must return a single value, got shape ${fmt(value.shape)}`);
    if (value.requiresGrad) backward(value);
    const grads = leaves.map((l) => {
      const g = l.grad ?? zerosLike(l);
      l.grad = null;
      l.dispose();
      return g;
    });
    value._node = null;
    return { value, grads };
  };
}

/** Returns a function computing f's gradient w.r.t. every argument (one tensor per argument). */
export function grad<A extends Tensor[]>(f: (...args: A) => Tensor): (...args: A) => Tensor[] {
  const vg = valueAndGrad(f);
  return (...args: A) => {
    const { value, grads } = vg(...args);
    value.dispose();
    return grads;
  };
}
