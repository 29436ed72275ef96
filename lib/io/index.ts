/** Model and weight files: safetensors + JSON config. */
export { saveModel, loadModel, saveWeights, loadWeights, CONFIG_FILE, WEIGHTS_FILE, type LoadModelOptions } from "./model-io.js";
export { encodeSafetensors, decodeSafetensors, type NamedArray, type SafetensorsDType } from "./safetensors.js";
