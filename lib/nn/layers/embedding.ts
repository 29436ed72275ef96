/** Embedding: integer ids → learned vectors. */
import type { Tensor } from "../../tensor.js";
import { gather } from "../../ops/movement.js";
import { cast } from "../../ops/elementwise.js";
import { Layer, type LayerArgs, type Shape } from "../layer.js";
import { getInitializer, serializeInitializer, type Initializer, type InitializerIdentifier } from "../initializers.js";
import { getRegularizer, serializeRegularizer, type Regularizer, type RegularizerIdentifier } from "../regularizers.js";
import { registerLayer } from "../registry.js";

export interface EmbeddingArgs extends LayerArgs {
  embeddingsInitializer?: InitializerIdentifier;
  embeddingsRegularizer?: RegularizerIdentifier;
  /** Length of the input sequences (sets inputShape: [inputLength]). */
  inputLength?: number;
}

/** Maps ids in [0, inputDim) of any shape [batch, ...] to [batch, ..., outputDim]. */
export class Embedding extends Layer {
  readonly inputDimension: number;
  readonly outputDim: number;
  readonly embeddingsInitializer: Initializer;
  readonly embeddingsRegularizer: Regularizer | null;
  embeddings!: Tensor;

  constructor(inputDim: number, outputDim: number, args: EmbeddingArgs = {}) {
    super({ ...args, inputDim: undefined, inputShape: args.inputShape ?? (args.inputLength !== undefined ? [args.inputLength] : undefined) });
    if (!Number.isInteger(inputDim) || inputDim <= 0 || !Number.isInteger(outputDim) || outputDim <= 0) {
      throw new Error(`Embedding: inputDim (vocabulary size) and outputDim must be positive integers, got ${inputDim}, ${outputDim}`);
    }
    this.inputDimension = inputDim;
    this.outputDim = outputDim;
    this.embeddingsInitializer = getInitializer(args.embeddingsInitializer ?? { className: "RandomUniform", config: { minval: -0.05, maxval: 0.05 } });
    this.embeddingsRegularizer = getRegularizer(args.embeddingsRegularizer);
  }
  override build(): void {
    this.embeddings = this.addWeight("embeddings", [this.inputDimension, this.outputDim], this.embeddingsInitializer, { regularizer: this.embeddingsRegularizer });
  }
  protected override checkedAxes(): "none" {
    return "none";
  }
  override computeOutputShape(s: Shape): Shape {
    return [...s, this.outputDim];
  }
  call(x: Tensor): Tensor {
    const ids = x.dtype === "int32" ? x : cast(x, "int32");
    return gather(this.embeddings, ids, 0);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), inputDim: this.inputDimension, outputDim: this.outputDim,
      embeddingsInitializer: serializeInitializer(this.embeddingsInitializer), embeddingsRegularizer: serializeRegularizer(this.embeddingsRegularizer) };
  }
}
registerLayer("Embedding", (c) => new Embedding(c.inputDim as number, c.outputDim as number, c));
