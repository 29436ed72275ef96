// `dawnet notebook`: installs the kernelspec for this user and starts JupyterLab (or classic
// Notebook) on the tutorial notebooks; without Jupyter, explains how to get it.
import { spawn } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "./executor.js";
import { installKernelSpec, kernelDisplayName } from "./kernelspec.js";

/** The first executable called `name` on PATH, or in `extraDirs`. */
export function findExecutable(name: string, extraDirs: string[] = []): string | null {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), ...extraDirs].filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return null;
}

export const noJupyterHelp = `No Jupyter found (looked for jupyter-lab and jupyter-notebook on PATH and in /usr/bin, /usr/local/bin).
Get one of:
  pip install jupyterlab                 (or: pipx install jupyterlab)
  conda install -c conda-forge jupyterlab
  sudo apt-get install jupyter-notebook  (Debian/Ubuntu: classic Notebook)
VS Code's Jupyter extension also works: pick the kernel "${kernelDisplayName}".
Without Jupyter you can still execute a notebook headless:
  npx dawnet run notebooks/<name>.ipynb --html`;

/** `jupyterArgs` go to Jupyter unchanged (e.g. --port 9999, --no-browser). */
export async function startNotebook(options: { dir?: string; jupyterArgs?: string[] } = {}): Promise<number> {
  const dir = path.resolve(options.dir ?? path.join(packageRoot, "notebooks"));
  if (!existsSync(dir)) {
    console.error(`dawnet notebook: folder ${dir} does not exist (pass --dir DIR)`);
    return 1;
  }
  const specDir = installKernelSpec();
  console.log(`Kernel "${kernelDisplayName}" installed in ${specDir}`);
  const extra = ["/usr/bin", "/usr/local/bin"];
  const jupyter = findExecutable("jupyter-lab", extra) ?? findExecutable("jupyter-notebook", extra);
  if (!jupyter) {
    console.error(noJupyterHelp);
    return 1;
  }
  const args = [...(options.jupyterArgs ?? [])];
  // Containers often run as root, which Jupyter refuses without this flag.
  if (process.getuid?.() === 0 && !args.includes("--allow-root")) args.push("--allow-root");
  console.log(`Starting ${path.basename(jupyter)} ${args.join(" ")} in ${dir} (Ctrl+C to stop)`);
  const child = spawn(jupyter, args, { cwd: dir, stdio: "inherit" });
  // Ctrl+C reaches the child through the terminal (Jupyter asks for confirmation itself); a SIGTERM is passed on.
  process.on("SIGINT", () => undefined);
  process.on("SIGTERM", () => child.kill("SIGTERM"));
  return new Promise((resolve) => {
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    child.on("error", (err) => {
      console.error(`dawnet notebook: could not start ${jupyter}: ${err.message}`);
      resolve(1);
    });
  });
}
