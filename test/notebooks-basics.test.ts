// Tutorial chapters on tensors, gradients, backpropagation, optimizers and the GPU (no Keras layers):
// each notebook re-executed through nbclient on the dawnet kernel, its stated results checked.
import { notebookSuite } from "./tutorials/notebook-suite.js";

notebookSuite("basics");
