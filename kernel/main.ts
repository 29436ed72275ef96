// Kernel entry point, started by Jupyter from the kernelspec:
//   node [flags] dist/kernel/main.js --connection-file FILE
import { CellExecutor, kernelLog } from "./executor.js";
import { KernelServer } from "./server.js";

function connectionFileFromArgs(argv: string[]): string {
  const at = argv.findIndex((a) => a === "--connection-file" || a === "-f");
  const inline = argv.find((a) => a.startsWith("--connection-file="));
  const file = inline ? inline.slice("--connection-file=".length) : at >= 0 ? argv[at + 1] : undefined;
  if (!file) {
    throw new Error("dawnet kernel: missing --connection-file FILE (Jupyter passes it; see kernel/README.md to install the kernelspec)");
  }
  return file;
}

const executor = new CellExecutor();
const server = KernelServer.fromConnectionFile(connectionFileFromArgs(process.argv.slice(2)), executor);

// Kernel → Interrupt sends SIGINT (interrupt_mode "signal").
process.on("SIGINT", () => executor.interrupt());
// Errors from background work must never end the kernel: show them where the output goes.
process.on("uncaughtException", (err) => {
  console.error("Uncaught exception (from background work):", err);
});
process.on("unhandledRejection", (reason) => {
  console.error("Unhandled promise rejection (from background work):", reason);
});

server.start().catch((err: unknown) => {
  kernelLog(`could not bind the kernel sockets: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
