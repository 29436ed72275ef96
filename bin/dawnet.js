#!/usr/bin/env node
// dawnet command line: kernel install, run a notebook headless, start Jupyter on notebooks/.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const usage = `usage:
  dawnet kernel install [--user | --prefix PREFIX] [--name NAME]
      write the "TypeScript (dawnet)" kernelspec (default: per-user Jupyter data dir)
  dawnet run NOTEBOOK.ipynb [--html] [--output OUT.ipynb] [--timeout SECONDS]
      execute a notebook in this process (no Jupyter needed); writes the executed .ipynb (and .html)
  dawnet notebook [--dir DIR] [-- JUPYTER_ARGS...]
      install the kernelspec (--user) and start JupyterLab, else classic Notebook, on notebooks/`;

/** Imports a compiled kernel module; explains how to build when dist/ is missing. */
async function load(name) {
  const file = path.join(root, "dist", "kernel", `${name}.js`);
  if (!existsSync(file)) {
    console.error(`dawnet: ${path.relative(process.cwd(), file) || file} is missing; build first: npm run build (in ${root})`);
    process.exit(1);
  }
  return import(pathToFileURL(file).href);
}

function option(args, name) {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const value = args[at + 1];
  if (value === undefined || value.startsWith("--")) {
    console.error(`dawnet: ${name} needs a value\n${usage}`);
    process.exit(2);
  }
  return value;
}

async function main(args) {
  const [command, sub] = args;
  if (command === "kernel" && sub === "install") {
    const rest = args.slice(2);
    if (rest.includes("--user") && rest.includes("--prefix")) {
      console.error("dawnet kernel install: choose --user or --prefix PREFIX, not both");
      process.exit(2);
    }
    const { installKernelSpec, kernelDisplayName } = await load("kernelspec");
    const dir = installKernelSpec({ prefix: option(rest, "--prefix"), name: option(rest, "--name") });
    console.log(`Installed kernelspec "${kernelDisplayName}" in ${dir}`);
    return 0;
  }
  if (command === "run" && sub && !sub.startsWith("--")) {
    const rest = args.slice(2);
    const { runNotebookFile } = await load("notebook-runner");
    const timeout = option(rest, "--timeout");
    const summary = await runNotebookFile(path.resolve(sub), {
      html: rest.includes("--html"),
      output: option(rest, "--output"),
      cellTimeoutSeconds: timeout === undefined ? undefined : Number(timeout),
    });
    return summary.errors > 0 ? 1 : 0;
  }
  if (command === "notebook") {
    const split = args.indexOf("--");
    const own = split < 0 ? args.slice(1) : args.slice(1, split);
    const { startNotebook } = await load("launcher");
    return startNotebook({ dir: option(own, "--dir"), jupyterArgs: split < 0 ? [] : args.slice(split + 1) });
  }
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    console.log(usage);
    return 0;
  }
  console.error(`dawnet: unknown command: ${args.join(" ")}\n${usage}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === "number") process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
