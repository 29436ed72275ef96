/**
 * Saving and loading models: `<dir>/config.json` (architecture + compile settings, Keras-like) and
 * `<dir>/model.safetensors` (weights, little-endian f32, names `<layer>/<weight>`). Files are
 * written to a temporary name and renamed, so a crash never leaves a half-written model; loading
 * checks every name, shape and size against the architecture before touching the model.
 */
import { mkdir, readFile, rename, writeFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Tensor } from "../tensor.js";
import { tensor } from "../ops/creation.js";
import { fmt } from "../shape.js";
import { Sequential, type Model } from "../nn/model.js";
import { deserializeLayer, type LayerConfig } from "../nn/registry.js";
import type { Layer, LayerArgs, Shape } from "../nn/layer.js";
import { getOptimizer } from "../optim/index.js";
import { getLoss } from "../nn/losses.js";
import { decodeSafetensors, encodeSafetensors, type NamedArray } from "./safetensors.js";

export const CONFIG_FILE = "config.json";
export const WEIGHTS_FILE = "model.safetensors";
const FORMAT = "dawnet.model";
const FORMAT_VERSION = 1;

interface SavedConfig {
  format: string;
  formatVersion: number;
  className: string;
  config: { name: string; layers: LayerConfig[] };
  buildInputShape: Shape | null;
  compileConfig: { optimizer: { className: string; config: Record<string, unknown> } | null; loss: unknown; metrics: (string | null)[] } | null;
  weights: { name: string; shape: number[]; dtype: string }[];
}

/** Writes `data` to `path` through a temporary file and a rename (atomic on one filesystem). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

/** `<layer>/<weight>` → tensor, in the model's weight order. */
function namedWeights(model: Model): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const l of model.layers) {
    for (const w of l._weights) {
      const key = `${l.name}/${w.name}`;
      if (out.has(key)) throw new Error(`save: two weights are named '${key}'; give the layers unique names`);
      out.set(key, w.value);
    }
  }
  return out;
}

async function weightsBytes(model: Model): Promise<Uint8Array> {
  const arrays = new Map<string, NamedArray>();
  for (const [name, t] of namedWeights(model)) {
    const d = await t.data();
    arrays.set(name, t.dtype === "int32" ? { dtype: "I32", shape: [...t.shape], data: d as Int32Array } : { dtype: "F32", shape: [...t.shape], data: Float32Array.from(d as Float32Array) });
  }
  return encodeSafetensors(arrays, { format: "pt", producer: "dawnet" });
}

/** Saves architecture, compile settings and weights into directory `dir` (created if needed). */
export async function saveModel(model: Model, dir: string): Promise<void> {
  if (!model.built) throw new Error(`save: model '${model.name}' is not built yet (no weights); build it, or fit it, before saving`);
  const config = model.getConfig();
  const cc = model.compileConfig;
  const saved: SavedConfig = {
    format: FORMAT,
    formatVersion: FORMAT_VERSION,
    className: model.constructor.name,
    config,
    buildInputShape: model.layers[0]?.inputShape ?? null,
    compileConfig: cc ? {
      optimizer: model.optimizer ? { className: model.optimizer.className, config: model.optimizer.getConfig() } : null,
      loss: cc.loss, metrics: cc.metrics as (string | null)[],
    } : null,
    weights: [...namedWeights(model)].map(([name, t]) => ({ name, shape: [...t.shape], dtype: t.dtype })),
  };
  await mkdir(dir, { recursive: true });
  // Weights first: config.json appearing last marks a complete save.
  await writeFileAtomic(join(dir, WEIGHTS_FILE), await weightsBytes(model));
  await writeFileAtomic(join(dir, CONFIG_FILE), JSON.stringify(saved, null, 2) + "\n");
}

/** Checks a decoded weights file against the model and assigns it (nothing changes if any check fails). */
function assignWeights(model: Model, tensors: Map<string, NamedArray>, source: string): void {
  const want = namedWeights(model);
  const missing = [...want.keys()].filter((k) => !tensors.has(k));
  const unexpected = [...tensors.keys()].filter((k) => !want.has(k));
  if (missing.length || unexpected.length) {
    throw new Error(`loadWeights: ${source} does not match model '${model.name}':` +
      (missing.length ? ` missing ${missing.join(", ")};` : "") + (unexpected.length ? ` unexpected ${unexpected.join(", ")};` : "") +
      ` the model has ${[...want.keys()].join(", ")}`);
  }
  for (const [name, t] of want) {
    const a = tensors.get(name)!;
    if (a.shape.length !== t.shape.length || a.shape.some((d, i) => d !== t.shape[i])) {
      throw new Error(`loadWeights: ${source}: weight '${name}' has shape ${fmt(a.shape)} in the file but ${fmt(t.shape)} in the model`);
    }
    const dt = t.dtype === "int32" ? "I32" : "F32";
    if (a.dtype !== dt) throw new Error(`loadWeights: ${source}: weight '${name}' is ${a.dtype} in the file, the model needs ${dt}`);
  }
  for (const [name, t] of want) {
    const a = tensors.get(name)!;
    const v = tensor(a.data as Float32Array, { shape: a.shape, dtype: t.dtype });
    t.assign(v);
    v.dispose();
  }
}

/** Writes only the weights (safetensors) to `path`. */
export async function saveWeights(model: Model, path: string): Promise<void> {
  if (!model.built) throw new Error(`saveWeights: model '${model.name}' is not built yet (no weights)`);
  await writeFileAtomic(path, await weightsBytes(model));
}

/** Loads weights saved by saveWeights/save into a model of the same architecture. */
export async function loadWeights(model: Model, path: string): Promise<void> {
  if (!model.built) throw new Error(`loadWeights: build model '${model.name}' first (same architecture as the saved one)`);
  const bytes = await readFile(path);
  assignWeights(model, decodeSafetensors(bytes, path).tensors, path);
}

export interface LoadModelOptions {
  /** Factories for custom layer classes by class name (or register them with registerLayer). */
  customObjects?: Record<string, (config: Record<string, unknown> & LayerArgs) => Layer>;
  /** Restore the optimizer, loss and metrics given to compile (default true; optimizer state starts fresh). */
  compile?: boolean;
}

/** Loads a model saved with `model.save(dir)`: same architecture, bit-identical weights. */
export async function loadModel(dir: string, opts: LoadModelOptions = {}): Promise<Sequential> {
  const cpath = join(dir, CONFIG_FILE), wpath = join(dir, WEIGHTS_FILE);
  let text: string;
  try {
    text = await readFile(cpath, "utf8");
  } catch (e) {
    throw new Error(`loadModel: cannot read ${cpath} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); is '${dir}' a directory written by model.save()?`);
  }
  let saved: SavedConfig;
  try {
    saved = JSON.parse(text);
  } catch (e) {
    throw new Error(`loadModel: ${cpath} is not valid JSON (${(e as Error).message}): the file is damaged`);
  }
  if (saved.format !== FORMAT) throw new Error(`loadModel: ${cpath} is not a dawnet model config (format ${JSON.stringify(saved.format)}, expected "${FORMAT}")`);
  if (saved.formatVersion > FORMAT_VERSION) throw new Error(`loadModel: ${cpath} has format version ${saved.formatVersion}; this dawnet reads up to ${FORMAT_VERSION}`);
  if (saved.className !== "Sequential") throw new Error(`loadModel: ${cpath} holds a ${saved.className}; only Sequential models load from a config (rebuild others in code and use loadWeights)`);
  const bytes = await readFile(wpath).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`loadModel: cannot read ${wpath} (${e.code ?? e.message})`);
  });
  const { tensors } = decodeSafetensors(bytes, wpath);
  const layers = saved.config.layers.map((lc) => deserializeLayer(lc, opts.customObjects));
  const model = new Sequential(layers, { name: saved.config.name });
  if (!model.built) {
    if (!saved.buildInputShape) throw new Error(`loadModel: ${cpath} has no input shape to build the model with`);
    model.build(saved.buildInputShape);
  }
  try {
    assignWeights(model, tensors, wpath);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const cc = saved.compileConfig;
  if (cc && opts.compile !== false && cc.loss) {
    const loss = typeof cc.loss === "string" ? cc.loss : getLoss((cc.loss as { className: string }).className, (cc.loss as { config: Record<string, unknown> }).config);
    model.compile({
      optimizer: cc.optimizer ? getOptimizer(cc.optimizer.className, cc.optimizer.config) : undefined,
      loss,
      metrics: cc.metrics.filter((m): m is string => typeof m === "string"),
    });
  }
  return model;
}
