// Tutorial chapters on image models (MNIST MLP, CNNs, saliency and Grad-CAM): each notebook re-executed
// through nbclient on the dawnet kernel, its stated results checked.
import { notebookSuite } from "./tutorials/notebook-suite.js";

notebookSuite("vision");
