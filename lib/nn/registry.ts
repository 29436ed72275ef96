/** Layer classes by name, so a saved config can be turned back into layers. */
import type { Layer, LayerArgs } from "./layer.js";

export interface LayerConfig {
  className: string;
  config: Record<string, unknown>;
}

type LayerFactory = (config: Record<string, unknown> & LayerArgs) => Layer;
const factories = new Map<string, LayerFactory>();

/** Makes a layer class loadable: `registerLayer("Scale", (c) => new Scale(c))`. Built-in layers register themselves. */
export function registerLayer(className: string, factory: LayerFactory): void {
  factories.set(className, factory);
}

/** A new layer from `{className, config}` (as saved by `serializeLayer`). */
export function deserializeLayer(lc: LayerConfig, customObjects: Record<string, LayerFactory> = {}): Layer {
  const factory = customObjects[lc.className] ?? factories.get(lc.className);
  if (!factory) {
    throw new Error(`loadModel: unknown layer class '${lc.className}'; register custom layers with registerLayer("${lc.className}", (config) => new ${lc.className}(config)) or pass customObjects`);
  }
  const c = { ...lc.config } as Record<string, unknown> & LayerArgs;
  const bis = c.batchInputShape as (number | null)[] | undefined;
  if (bis) {
    c.inputShape = bis.slice(1) as number[];
    if (bis[0] !== null) c.batchSize = bis[0];
    delete c.batchInputShape;
  }
  return factory(c);
}

export function serializeLayer(layer: Layer): LayerConfig {
  return { className: layer.className, config: layer.getConfig() };
}
