/**
 * `npm start [-- --devices N] [--epochs N] [--keep-running] [--chain <url>] [--summary-json <file>] [--explorer-port N]`:
 * runs a whole Meshwork network on this machine (scripts/lib/localnet/run.ts), with the explorer page served on the way. Ctrl-C stops every child process; a failure exits 1
 * with one readable line.
 */
import path from "node:path";

import { Command, InvalidArgumentError } from "commander";

import { runLocalNetwork } from "./lib/localnet/run";

function positive(name: string, max: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${name} must be 1..${max}`);
    return n;
  };
}

async function main(): Promise<void> {
  const program = new Command("npm start --")
    .description("run a local Meshwork network: chain, protocol, 5 oracles, a simulated fleet, several epochs")
    .option("--devices <n>", "simulated devices", positive("devices", 5_000), 300)
    .option("--epochs <n>", "epochs to run", positive("epochs", 50), 4)
    .option("--keep-running", "leave the chain and the oracles up at the end, and print how to join", false)
    .option("--chain <url>", "use this running JSON-RPC node (Hardhat accounts) instead of starting one")
    .option("--seed <text>", "fleet seed", "meshwork")
    .option("--summary-json <file>", "also write the summary's figures as JSON")
    .option("--explorer-port <n>", "port of the explorer web page (default: any free port)", positive("explorer-port", 65_535))
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.startsWith("error:") ? `meshwork start: ${s}` : s) });
  try {
    program.parse(process.argv);
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode ?? 1;
    process.exit(code === 0 ? 0 : 1);
  }
  const o = program.opts<{
    devices: number;
    epochs: number;
    keepRunning: boolean;
    chain?: string;
    seed: string;
    summaryJson?: string;
    explorerPort?: number;
  }>();
  const workdir = path.resolve("run", `localnet-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  const controller = new AbortController();
  let interrupted = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      console.log(`\n${signal}: stopping...`);
      controller.abort();
    });
  }
  try {
    await runLocalNetwork(
      { ...o, workdir, log: (line) => console.log(line) },
      { signal: controller.signal },
    );
    process.exit(interrupted && !o.keepRunning ? 130 : 0);
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    process.stderr.write(`meshwork start failed: ${message}\n`);
    process.exit(interrupted ? 130 : 1);
  }
}

void main();
