/** Grad-CAM and saliency on a model whose explanation is known in closed form. */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import * as dn from "../lib/index.js";
import { close, throws, useBackend } from "./helpers.js";

const test = suite("gradcam");
test.before(async () => {
  await useBackend();
});

/** conv 1×1 (2 filters, weights 1 and −2) → global average pool → identity Dense: y_c = mean(A^c). */
function linearCnn() {
  const model = new dn.Sequential([
    new dn.Conv2D(2, 1, { inputShape: [3, 3, 1], useBias: false }),
    new dn.GlobalAveragePooling2D(),
    new dn.Dense(2, { useBias: false }),
  ]);
  model.layers[0].setWeights([dn.tensor([[[[1, -2]]]], { dtype: "float32" })]);
  model.layers[2].setWeights([dn.eye(2)]);
  return model;
}

test("Grad-CAM equals ReLU(A^c)/hw for y_c = mean(A^c)", async () => {
  const model = linearCnn();
  const x = dn.tensor([1, -1, 2, 0, 3, -2, 1, 1, -1], { dtype: "float32", shape: [1, 3, 3, 1] });
  // class 0: A^0 = x, α_0 = 1/9, α_1 = 0 → relu(x)/9
  const r0 = dn.gradCamMaps(model, x, { classIndex: 0 });
  await close(r0.cam, [1, 0, 2, 0, 3, 0, 1, 1, 0].map((v) => v / 9), { shape: [1, 3, 3] });
  // class 1: A^1 = −2x → relu(−2x)/9
  const r1 = dn.gradCamMaps(model, x, { classIndex: 1 });
  await close(r1.cam, [0, 2, 0, 0, 0, 4, 0, 0, 2].map((v) => v / 9));
  // default class = predicted: mean(x) = 4/9 > mean(−2x) → class 0
  await close(dn.gradCamMaps(model, x).classes, [0]);
  for (const w of model.trainableWeights) assert.is(w.grad, null, "explaining must not leave gradients on the weights");
});

test("saliency |∂y_c/∂x| is |w_c|/hw everywhere for the linear model", async () => {
  const model = linearCnn();
  const x = dn.randn([2, 3, 3, 1], { seed: 3 });
  const { saliency } = dn.saliencyMaps(model, x, { classIndex: [0, 1] });
  await close(saliency, [...new Array(9).fill(1 / 9), ...new Array(9).fill(2 / 9)], { shape: [2, 3, 3] });
});

test("gradCam draws the overlay picture; bad requests are named", async () => {
  const model = linearCnn();
  const img = dn.rand([3, 3, 1], { seed: 1 });
  const chart = await dn.gradCam(model, img, 0);
  const png = await chart.toPNG();
  assert.ok(png.length > 100);
  throws(() => dn.gradCamMaps(model, img), /gradCam/, /\[3,3,1\]/);
  throws(() => dn.gradCamMaps(model, img.reshape([1, 3, 3, 1]), { classIndex: 5 }), /class index 5/);
  throws(() => dn.gradCamMaps(model, img.reshape([1, 3, 3, 1]), { layer: "nope" }), /no layer named 'nope'/);
});

test.run();
