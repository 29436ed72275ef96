// Tutorial chapters built on Keras-style models (Sequential, fit): each notebook re-executed through
// nbclient on the dawnet kernel, its stated results checked.
import { notebookSuite } from "./tutorials/notebook-suite.js";

notebookSuite("models");
