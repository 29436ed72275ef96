/**
 * Datasets and input pipelines: built-in datasets (MNIST, Fashion-MNIST, Iris, Pima diabetes,
 * Boston housing, a text corpus), seeded synthetic generators, IDX/CSV/PNG readers, the lazy
 * `Dataset` pipeline and preprocessing. Contracts: lib/data/README.md.
 */
export { Dataset, type Example, type Batch, type ExampleLike, type FromIdxOptions, type FromCsvOptions } from "./dataset.js";
export { mnist, fashionMnist, MNIST_CLASSES, FASHION_MNIST_CLASSES, type ImageDatasetOptions, type ImageClassificationData } from "./mnist.js";
export { pimaDiabetes, iris, bostonHousing, PIMA_FEATURES, IRIS_FEATURES, IRIS_CLASSES, BOSTON_FEATURES, type TabularData } from "./tabular.js";
export { textCorpus, corpusFromText, type TextCorpus } from "./text.js";
export {
  makeLinear, makeMoons, makeCircles, makeSpirals, makeBlobs, makeSine,
  type ClassificationData, type LinearOptions, type ShapeOptions, type BlobsOptions, type SineOptions,
} from "./synthetic.js";
export { readIdx, parseIdx, encodeIdx, type IdxArray, type IdxType } from "./idx.js";
export { readCsv, parseCsv, type CsvOptions, type CsvTable, type CsvDType } from "./csv.js";
export { readImage, type ReadImageOptions } from "./image.js";
export {
  standardize, normalize, trainTestSplit,
  type FittedScaler, type StandardScaler, type MinMaxScaler, type TrainTestSplitOptions,
} from "./preprocessing.js";
export { cacheDir, type DataLocation } from "./sources.js";
export { createRng, type Rng } from "./prng.js";
/** One-hot encoding (the core op, re-exported here for data pipelines). */
export { oneHot } from "../ops/movement.js";
