// The kernelspec ("TypeScript (dawnet)") and where Jupyter looks for it. The spec starts this
// installation's Node (process.execPath) on this installation's entry point: no reliance on PATH.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { packageRoot } from "./executor.js";

export const kernelName = "dawnet";
export const kernelDisplayName = "TypeScript (dawnet)";

export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: "signal" | "message";
  metadata: Record<string, unknown>;
}

/**
 * Node flags the kernel process benefits from, kept only if this Node accepts them:
 * require() of ES-module packages from cells, FMA (relaxed SIMD) for WASM kernels.
 */
const wantedNodeFlags = ["--experimental-require-module", "--disable-warning=ExperimentalWarning", "--experimental-wasm-relaxed-simd"];

export function supportedNodeFlags(nodePath = process.execPath): string[] {
  return wantedNodeFlags.filter((flag) => spawnSync(nodePath, [flag, "-e", ""], { stdio: "ignore" }).status === 0);
}

export function kernelSpec(nodePath = process.execPath): KernelSpec {
  return {
    argv: [nodePath, ...supportedNodeFlags(nodePath), path.join(packageRoot, "dist", "kernel", "main.js"), "--connection-file", "{connection_file}"],
    display_name: kernelDisplayName,
    language: "typescript",
    interrupt_mode: "signal",
    metadata: { debugger: false },
  };
}

/** Jupyter's per-user data directory (jupyter_core.paths.jupyter_data_dir). */
export function jupyterUserDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  const home = os.homedir();
  if (process.platform === "darwin") return path.join(home, "Library", "Jupyter");
  if (process.platform === "win32") return path.join(process.env.APPDATA ?? path.join(home, "AppData", "Roaming"), "jupyter");
  return path.join(process.env.XDG_DATA_HOME || path.join(home, ".local", "share"), "jupyter");
}

export interface InstallOptions {
  /** Install into PREFIX/share/jupyter/kernels (e.g. a venv, or a temp dir put on JUPYTER_PATH). */
  prefix?: string;
  /** Kernel directory name; default "dawnet". */
  name?: string;
}

/** Writes kernel.json and the logos; returns the kernelspec directory. Default: the per-user directory. */
export function installKernelSpec(options: InstallOptions = {}): string {
  const base = options.prefix ? path.join(path.resolve(options.prefix), "share", "jupyter") : jupyterUserDataDir();
  const dir = path.join(base, "kernels", options.name ?? kernelName);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "kernel.json"), JSON.stringify(kernelSpec(), null, 2) + "\n");
  for (const logo of ["logo-32x32.png", "logo-64x64.png"]) {
    copyFileSync(path.join(packageRoot, "kernel", "kernelspec", logo), path.join(dir, logo));
  }
  return dir;
}
