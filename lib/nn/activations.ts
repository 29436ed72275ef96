/** Activation functions by name (Keras' names, snake_case or camelCase) or as functions. */
import type { Tensor } from "../tensor.js";
import * as E from "../ops/elementwise.js";
import { softmax as softmaxOp, logSoftmax as logSoftmaxOp } from "../ops/reduce.js";
import { lookup, normalizeName, snakeCase } from "./identifiers.js";

export type ActivationFn = (x: Tensor) => Tensor;
/** A name ('relu', 'leaky_relu', 'leakyRelu', ...), a function, or null/undefined for linear. */
export type ActivationIdentifier = string | ActivationFn | null | undefined;

const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

export const relu: ActivationFn = (x) => E.relu(x);
export const sigmoid: ActivationFn = (x) => E.sigmoid(x);
export const tanh: ActivationFn = (x) => E.tanh(x);
/** Softmax over the last axis. */
export const softmax: ActivationFn = (x) => softmaxOp(x, -1);
export const logSoftmax: ActivationFn = (x) => logSoftmaxOp(x, -1);
/** Keras' `leaky_relu` activation: negative slope 0.2. */
export const leakyRelu: ActivationFn = (x) => E.leakyRelu(x, 0.2);
export const elu: ActivationFn = (x) => E.elu(x, 1);
export const selu: ActivationFn = (x) => E.mul(E.elu(x, SELU_ALPHA), SELU_SCALE);
export const gelu: ActivationFn = (x) => E.gelu(x);
/** swish / silu: x·sigmoid(x). */
export const swish: ActivationFn = (x) => E.mul(x, E.sigmoid(x));
export const softplus: ActivationFn = (x) => E.softplus(x);
export const softsign: ActivationFn = (x) => E.div(x, E.add(E.abs(x), 1));
export const relu6: ActivationFn = (x) => E.clip(E.relu(x), 0, 6);
export const hardSigmoid: ActivationFn = (x) => E.clip(E.add(E.div(x, 6), 0.5), 0, 1);
export const exponential: ActivationFn = (x) => E.exp(x);
export const linear: ActivationFn = (x) => x;

const BUILTIN: Record<string, ActivationFn> = {
  relu, sigmoid, tanh, softmax, logSoftmax, leakyRelu, elu, selu, gelu, swish, silu: swish, softplus, softsign, relu6, hardSigmoid, exponential, linear,
};
const registry = new Map(Object.entries(BUILTIN).map(([k, f]) => [normalizeName(k), f]));
const canonicalName = new Map<ActivationFn, string>(Object.entries(BUILTIN).map(([k, f]) => [f, snakeCase(k)]));

/** The activation function for an identifier (null/undefined → linear). */
export function getActivation(id: ActivationIdentifier): ActivationFn {
  if (id === null || id === undefined) return linear;
  if (typeof id === "function") return id;
  return lookup("activation", registry, id, () => Object.keys(BUILTIN).map(snakeCase));
}

/** The snake_case name saved in configs, or null for a user function that was not registered. */
export function activationName(id: ActivationIdentifier): string | null {
  if (id === null || id === undefined) return "linear";
  if (typeof id === "string") {
    return canonicalName.get(getActivation(id)) ?? null;
  }
  return canonicalName.get(id) ?? null;
}

/** Registers a custom activation under a name, so models using it can be saved and loaded. */
export function registerActivation(name: string, fn: ActivationFn): void {
  registry.set(normalizeName(name), fn);
  canonicalName.set(fn, name);
}
