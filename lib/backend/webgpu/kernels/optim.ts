/**
 * Fused optimizer updates (Backend.optimizerStep): one dispatch per parameter instead of ~12 elementwise
 * ones. Each shader does the optimizer's op chain (lib/optim/optimizers.ts) statement by statement in f32,
 * in the same order, so it rounds like the chain does (up to the driver contracting a·b + c into an FMA).
 * Bindings: 1 = the new parameter, 2.. = the state buffers (read_write, updated in place), then the old
 * parameter and the gradient (read only). Structural options (momentum on/off, amsgrad, decay mode, ...)
 * are baked into the source; per-step numbers (lr, bias corrections) are uniforms.
 */
import type { OptimizerRule } from "../../backend.js";
import { ENTRY_BUILTINS, LINEAR_GROUP, PRELUDE } from "./wgsl.js";

export const OPTIM_WORKGROUP = 256;

/** One fused update: uniform fields (after `n`), state names in binding order, and the update body. */
interface OptimShader { fields: [string, number][]; state: string[]; body: string; key: string }

/** `g` after the L2 penalty (the chain's `decayed`: g + p·weightDecay). */
const COUPLED_DECAY = "  g = g + p * P.weightDecay;";

function plan(rule: OptimizerRule): OptimShader {
  switch (rule.kind) {
    case "sgd": {
      const decay = rule.weightDecay !== 0, momentum = rule.momentum !== 0;
      const body = [
        decay ? COUPLED_DECAY : "",
        momentum ? "  let v = load(momentum[i]) * P.momentum + g;\n  momentum[i] = bitcast<u32>(v);" : "",
        momentum ? (rule.nesterov ? "  let d = g + v * P.momentum;" : "  let d = v;") : "  let d = g;",
        "  let pNew = p - d * P.lr;",
      ];
      return {
        fields: [["lr", rule.lr], ["weightDecay", rule.weightDecay], ["momentum", rule.momentum]],
        state: momentum ? ["momentum"] : [], body: body.filter(Boolean).join("\n"),
        key: `sgd decay=${decay} momentum=${momentum} nesterov=${momentum && rule.nesterov}`,
      };
    }
    case "adam": {
      const body = [
        rule.decay === "coupled" ? COUPLED_DECAY : "",
        rule.decay === "decoupled" ? "  p = p * P.decoupledKeep;" : "",
        "  let mNew = load(m[i]) * P.beta1 + g * P.oneMinusBeta1;",
        "  let vNew = load(v[i]) * P.beta2 + (g * g) * P.oneMinusBeta2;",
        "  m[i] = bitcast<u32>(mNew);",
        "  v[i] = bitcast<u32>(vNew);",
        rule.amsgrad ? "  let vUse = max_f(load(vmax[i]), vNew);\n  vmax[i] = bitcast<u32>(vUse);" : "  let vUse = vNew;",
        "  let denom = sqrt_f(vUse) / P.sqrtBiasCorrection2 + P.epsilon;",
        "  let pNew = p - (mNew / denom) * P.stepSize;",
      ];
      return {
        fields: [
          ["stepSize", rule.stepSize], ["beta1", rule.beta1], ["oneMinusBeta1", 1 - rule.beta1], ["beta2", rule.beta2], ["oneMinusBeta2", 1 - rule.beta2],
          ["sqrtBiasCorrection2", rule.sqrtBiasCorrection2], ["epsilon", rule.epsilon], ["weightDecay", rule.weightDecay], ["decoupledKeep", rule.decoupledKeep],
        ],
        state: rule.amsgrad ? ["m", "v", "vmax"] : ["m", "v"], body: body.filter(Boolean).join("\n"),
        key: `adam decay=${rule.decay} amsgrad=${rule.amsgrad}`,
      };
    }
    case "rmsprop": {
      const decay = rule.weightDecay !== 0, momentum = rule.momentum !== 0;
      const body = [
        decay ? COUPLED_DECAY : "",
        "  let vNew = load(v[i]) * P.rho + (g * g) * P.oneMinusRho;",
        "  v[i] = bitcast<u32>(vNew);",
        rule.centered
          ? "  let gaNew = load(grad_avg[i]) * P.rho + g * P.oneMinusRho;\n  grad_avg[i] = bitcast<u32>(gaNew);\n  let avg = vNew - gaNew * gaNew;"
          : "  let avg = vNew;",
        "  let update = g / (sqrt_f(avg) + P.epsilon);",
        momentum ? "  let b = load(momentum[i]) * P.momentum + update;\n  momentum[i] = bitcast<u32>(b);\n  let pNew = p - b * P.lr;" : "  let pNew = p - update * P.lr;",
      ];
      return {
        fields: [["lr", rule.lr], ["rho", rule.rho], ["oneMinusRho", 1 - rule.rho], ["epsilon", rule.epsilon], ["weightDecay", rule.weightDecay], ["momentum", rule.momentum]],
        state: ["v", ...(rule.centered ? ["grad_avg"] : []), ...(momentum ? ["momentum"] : [])], body: body.filter(Boolean).join("\n"),
        key: `rmsprop decay=${decay} centered=${rule.centered} momentum=${momentum}`,
      };
    }
    case "adagrad": {
      const decay = rule.weightDecay !== 0;
      const body = [
        decay ? COUPLED_DECAY : "",
        "  let sNew = load(accumulator[i]) + g * g;",
        "  accumulator[i] = bitcast<u32>(sNew);",
        "  let pNew = p - (g / (sqrt_f(sNew) + P.epsilon)) * P.lr;",
      ];
      return {
        fields: [["lr", rule.lr], ["epsilon", rule.epsilon], ["weightDecay", rule.weightDecay]],
        state: ["accumulator"], body: body.filter(Boolean).join("\n"), key: `adagrad decay=${decay}`,
      };
    }
  }
}

/** Number of state buffers the rule reads and writes (the order is OptimizerRule's). */
export function optimizerStateCount(rule: OptimizerRule): number {
  return plan(rule).state.length;
}

/** Pipeline-cache key of the rule's shader variant. */
export function optimizerKey(rule: OptimizerRule): string {
  return `optimizer ${plan(rule).key}`;
}

/** Uniform words: n (u32), then the rule's hyperparameters; `floatWords` are the indices stored as f32. */
export function optimizerParams(rule: OptimizerRule, n: number): { words: number[]; floatWords: number[] } {
  const { fields } = plan(rule);
  return { words: [n, ...fields.map(([, v]) => v)], floatWords: fields.map((_, k) => k + 1) };
}

export function optimizerShader(rule: OptimizerRule): string {
  const { fields, state, body } = plan(rule);
  const stateBindings = state.map((name, k) => `@group(0) @binding(${k + 2}) var<storage, read_write> ${name}: array<u32>;`).join("\n");
  const inputs = state.length + 2;
  return /* wgsl */ `
struct Params { n: u32, ${fields.map(([name]) => `${name}: f32`).join(", ")} }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> pOut: array<u32>;
${stateBindings}
@group(0) @binding(${inputs}) var<storage, read> pIn: array<u32>;
@group(0) @binding(${inputs + 1}) var<storage, read> gIn: array<u32>;
${PRELUDE}
fn load(bits: u32) -> f32 { return bitcast<f32>(bits); }
@compute @workgroup_size(${OPTIM_WORKGROUP})
fn main(${ENTRY_BUILTINS}) {
  let i = ${LINEAR_GROUP} * ${OPTIM_WORKGROUP}u + lid;
  if (i >= P.n) { return; }
  var p = load(pIn[i]);
  var g = load(gIn[i]);
${body}
  pOut[i] = bitcast<u32>(pNew);
}`;
}
