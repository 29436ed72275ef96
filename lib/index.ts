/**
 * dawnet: deep learning in TypeScript — tensors with autograd on WebGPU (Dawn) or the CPU,
 * Keras-style models, datasets and charts.
 */
export { Tensor, type Axis, type NestedArray, type TensorLike, type Scalar } from "./tensor.js";
export type { DType, TypedArray } from "./dtype.js";
export { ready, setBackend, getBackend, registerBackend } from "./backend/registry.js";
export type { Backend } from "./backend/backend.js";
export { webgpuProfile, GpuProfile, type KernelTime } from "./backend/webgpu/profiler.js";
export { tidy, keep } from "./memory.js";
export { memory, type MemoryInfo } from "./stats.js";
export { noGrad, isGradEnabled, setGradEnabled } from "./autograd/mode.js";
export { grad, valueAndGrad } from "./autograd/functional.js";
export { gradcheck, type GradcheckOptions } from "./autograd/gradcheck.js";

export {
  tensor, scalar, zeros, ones, full, fullLike, zerosLike, onesLike, arange, linspace, eye, rand, randn, randint,
  type TensorOptions, type RandomOptions,
} from "./ops/creation.js";
export { manualSeed, Generator } from "./ops/random.js";
export {
  add, sub, mul, div, pow, neg, abs, exp, log, log1p, sqrt, rsqrt, square, reciprocal, sin, cos, tanh, sigmoid,
  relu, leakyRelu, elu, gelu, softplus, erf, sign, floor, ceil, round, clip, maximum, minimum,
  eq, ne, lt, le, gt, ge, where, logicalAnd, logicalOr, logicalNot, cast,
} from "./ops/elementwise.js";
export { sum, mean, max, min, prod, argmax, argmin, variance, variance as var_, std, logsumexp, softmax, logSoftmax, cumsum } from "./ops/reduce.js";
export { matmul, matmulHalf, dot, outer, type MatmulPrecision } from "./ops/linalg.js";
export {
  reshape, flatten, squeeze, unsqueeze, expandDims, transpose, permute, broadcastTo, slice, index, concat, stack, split,
  gather, take, oneHot, pad, tile, repeat, contiguous, clone, type Index,
} from "./ops/movement.js";
export { conv2d, maxPool2d, avgPool2d, type Conv2dOptions, type Pool2dOptions, type Padding } from "./ops/conv.js";

// ---- datasets and input pipelines ----
export * as datasets from "./data/index.js";
export {
  Dataset, readIdx, readCsv, readImage, trainTestSplit, normalize, standardize,
  makeLinear, makeMoons, makeCircles, makeSpirals, makeBlobs, makeSine,
} from "./data/index.js";

// ---- charts ----
export * as viz from "./viz/index.js";
export {
  Chart, setStaticFormat, lineChart, lossCurve, liveLossCurve, LiveChart, heatmap, confusionMatrix, imageGrid, convFilters, featureMaps,
  gradCamOverlay, gradCam, gradCamMaps, saliencyMaps, plotModel, histogram, activationPlot, scatter, decisionBoundary, surface3d, contour,
} from "./viz/index.js";

// ---- Keras-style models, optimizers, model files ----
export * from "./nn/index.js";
export * from "./optim/index.js";
export * from "./io/index.js";
