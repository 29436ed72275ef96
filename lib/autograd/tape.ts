/** Reverse-mode autodiff over the graph recorded by ops (each op's gradient lives next to it). */
import { fmt } from "../shape.js";
import type { Tensor } from "../tensor.js";
import { keep, tidy } from "../memory.js";
import { noGrad } from "./mode.js";
import { add } from "../ops/elementwise.js";
import { onesLike } from "../ops/creation.js";
import { alias, contiguous } from "../ops/movement.js";

/** Tensors reachable from `root` through recorded ops, parents before children. */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t._node ? t._node.inputs : [];
    if (i < inputs.length) {
      top[1]++;
      const c = inputs[i];
      if (c.requiresGrad && !seen.has(c)) {
        seen.add(c);
        stack.push([c, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order.reverse();
}

/** Accumulates d(root)/d(leaf) · seed into `leaf.grad` for every leaf that requires grad. */
export function backward(root: Tensor, seed?: Tensor): void {
  if (root.dtype !== "float32" && root.dtype !== "float64") {
    throw new TypeError(`backward: gradients exist only for float tensors, got ${root.dtype} (shape ${fmt(root.shape)})`);
  }
  if (!root.requiresGrad) {
    throw new Error(`backward: the tensor (shape ${fmt(root.shape)}) does not require grad: no input had requiresGrad=true, or it was computed under noGrad()`);
  }
  if (!seed && root.size !== 1) {
    throw new Error(`backward: the tensor has shape ${fmt(root.shape)}; backward() without a gradient needs a single value (e.g. loss.mean()), or pass backward(gradient) of the same shape`);
  }
  if (seed && (seed.shape.length !== root.shape.length || seed.shape.some((d, i) => d !== root.shape[i]))) {
    throw new Error(`backward: gradient shape ${fmt(seed.shape)} differs from the tensor's shape ${fmt(root.shape)}`);
  }
  const order = topoOrder(root);
  noGrad(() => {
    const grads = new Map<Tensor, Tensor>();
    grads.set(root, seed ? alias(seed) : onesLike(root));
    for (const t of order) {
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      const node = t._node;
      if (!node) {
        // A leaf: accumulate into .grad, kept alive past any enclosing tidy.
        const gc = g.isContiguous ? g : contiguous(g);
        if (gc !== g) g.dispose();
        if (t.grad) {
          const s = add(t.grad, gc);
          t.grad.dispose();
          gc.dispose();
          t.grad = keep(s);
        } else t.grad = keep(gc);
        continue;
      }
      const gs = tidy(() => node.backward(g));
      const owned = new Set<Tensor>([g]);
      node.inputs.forEach((input, i) => {
        let gi = gs[i];
        if (!gi) return;
        if (!input.requiresGrad) {
          if (!owned.has(gi)) gi.dispose();
          return;
        }
        if (gi.shape.length !== input.shape.length || gi.shape.some((d, j) => d !== input.shape[j])) {
          throw new Error(`backward: internal error in the gradient of '${node.op}': got ${fmt(gi.shape)} for an input of shape ${fmt(input.shape)}`);
        }
        // The same tensor object may come back for several inputs (or be g itself): give each its own.
        if (owned.has(gi)) gi = alias(gi);
        owned.add(gi);
        const prev = grads.get(input);
        if (prev) {
          grads.set(input, add(prev, gi));
          prev.dispose();
          gi.dispose();
        } else grads.set(input, gi);
      });
      g.dispose();
    }
    for (const g of grads.values()) g.dispose();
  });
}
