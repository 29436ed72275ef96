/** Keras-style models: layers, Sequential, compile/fit/evaluate/predict, losses, metrics, callbacks. */
import * as A from "./activations.js";

export { Layer, ActivatedLayer, formatShape, type Shape, type LayerArgs, type LayerWeight, type CallOptions } from "./layer.js";
export { Dense, Activation, Flatten, Reshape, Dropout, InputLayer, Input, type DenseArgs } from "./layers/core.js";
export {
  Conv2D, Conv1D, MaxPooling2D, AveragePooling2D, MaxPooling1D, AveragePooling1D,
  GlobalAveragePooling2D, GlobalMaxPooling2D, GlobalAveragePooling1D, GlobalMaxPooling1D, type ConvArgs, type PoolArgs,
} from "./layers/conv.js";
export { BatchNormalization, LayerNormalization, type NormalizationArgs } from "./layers/normalization.js";
export { Embedding, type EmbeddingArgs } from "./layers/embedding.js";
export { SimpleRNN, LSTM, GRU, type RNNArgs } from "./layers/recurrent.js";
export { registerLayer, deserializeLayer, serializeLayer, type LayerConfig } from "./registry.js";
export { Model, Sequential, type CompileArgs, type FitArgs, type EvaluateArgs, type InputData, type BatchSource } from "./model.js";
export {
  Callback, History, EarlyStopping, ModelCheckpoint, LearningRateScheduler, ReduceLROnPlateau, TerminateOnNaN,
  type CallbackHooks, type TrainingParams, type EarlyStoppingArgs, type ModelCheckpointArgs, type ReduceLROnPlateauArgs,
} from "./callbacks.js";
export { Loss, losses, getLoss, type LossIdentifier, type LossFunction, type LossOptions } from "./losses.js";
export { Metric, MeanMetricWrapper, Precision, Recall, AUC, metrics, getMetric, type MetricIdentifier } from "./metrics.js";
export {
  Initializer, initializers, getInitializer, computeFans, VarianceScaling, Orthogonal, RandomNormal, RandomUniform, TruncatedNormal, Zeros, Ones, Constant,
  type InitializerIdentifier,
} from "./initializers.js";
export { L1, L2, L1L2, regularizers, getRegularizer, type Regularizer, type RegularizerIdentifier } from "./regularizers.js";
export { getActivation, registerActivation, type ActivationFn, type ActivationIdentifier } from "./activations.js";
export type { Logs } from "./progress.js";

/** Activation functions by Keras name: `activations.relu(x)`, `activations.leakyRelu(x)`. */
export const activations = {
  relu: A.relu, sigmoid: A.sigmoid, tanh: A.tanh, softmax: A.softmax, logSoftmax: A.logSoftmax, leakyRelu: A.leakyRelu, elu: A.elu,
  selu: A.selu, gelu: A.gelu, swish: A.swish, silu: A.swish, softplus: A.softplus, softsign: A.softsign, relu6: A.relu6,
  hardSigmoid: A.hardSigmoid, exponential: A.exponential, linear: A.linear,
};
