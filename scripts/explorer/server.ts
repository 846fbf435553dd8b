/**
 * The network explorer, served locally: builds the page (explorer/, Vite) once, then serves it with its config and
 * its proxies to the chain and the oracles (scripts/explorer/app.ts).
 *
 *   npm run explorer -- --rpc <url> [--deployments <dir> | --deployment <file>] --oracle <url> [--oracle <url> ...]
 *                       [--port <n>] [--host 127.0.0.1]
 *
 * `npm start` starts it in-process with `startExplorer`. A bad argument or an unreadable deployment prints one line
 * ("meshwork explorer: ...") and exits 1.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { Command, InvalidArgumentError } from "commander";
import { JsonRpcProvider } from "ethers";

import {
  DEPLOYMENTS_DIR,
  DeploymentFileError,
  deploymentPath,
  readDeploymentFile,
  type DeploymentFile,
} from "../../sdk/deployment";
import { explorerApp } from "./app";

/** The page's sources and its Vite config. */
export const EXPLORER_DIR = path.resolve(__dirname, "..", "..", "explorer");
const VITE_CONFIG = path.join(EXPLORER_DIR, "vite.config.mts");

export interface ExplorerOptions {
  /** The chain's JSON-RPC URL. */
  rpcUrl: string;
  deployment: DeploymentFile;
  /** Oracle HTTP base URLs (the page reads their `/v1/verdicts/...` routes through the server). */
  oracles: readonly string[];
  /** 0 (default): any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Serve this already built page instead of building one (into a temporary folder, removed on close). */
  staticDir?: string;
  /** Vite's log level while building (default "warn"). */
  buildLogLevel?: "info" | "warn" | "error" | "silent";
}

export interface RunningExplorer {
  url: string;
  close(): Promise<void>;
}

/** Builds the page into `outDir` with Vite's JS API (explorer/vite.config.mts). */
export async function buildExplorer(outDir: string, logLevel: ExplorerOptions["buildLogLevel"] = "warn"): Promise<void> {
  // Vite's typings need moduleResolution node16 or bundler (the scripts use node + CommonJS): type the one call used.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { build } = require("vite") as { build(config: Record<string, unknown>): Promise<unknown> };
  // Vite sets NODE_ENV for its build; this process (npm start) keeps its own.
  const nodeEnv = process.env.NODE_ENV;
  try {
    await build({ configFile: VITE_CONFIG, logLevel, build: { outDir, emptyOutDir: true } });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
}

/** Builds the page (unless `staticDir`) and serves it; resolves once listening. */
export async function startExplorer(options: ExplorerOptions): Promise<RunningExplorer> {
  let staticDir = options.staticDir;
  let temp: string | undefined;
  if (staticDir === undefined) {
    temp = mkdtempSync(path.join(tmpdir(), "meshwork-explorer-"));
    staticDir = temp;
    try {
      await buildExplorer(temp, options.buildLogLevel);
    } catch (error) {
      rmSync(temp, { recursive: true, force: true });
      throw error;
    }
  }
  const server = createServer(
    explorerApp({ rpcUrl: options.rpcUrl, deployment: options.deployment, oracles: options.oracles, staticDir }),
  );
  const host = options.host ?? "127.0.0.1";
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    if (temp !== undefined) rmSync(temp, { recursive: true, force: true });
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(":") ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shown}:${port}`,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => {
        if (temp !== undefined) rmSync(temp, { recursive: true, force: true });
      })),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// CLI

class UsageError extends Error {}

function httpUrl(name: string): (value: string) => string {
  return (value) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new InvalidArgumentError(`${name} must be an http(s) URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new InvalidArgumentError(`${name} must be an http(s) URL`);
    return value;
  };
}

function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError("port must be 0..65535");
  return n;
}

/** The deployment to show: `--deployment <file>`, else `<dir>/<chain id>.json` (the chain asked for its id). */
async function resolveDeployment(o: { rpc: string; deployment?: string; deployments?: string }): Promise<DeploymentFile> {
  if (o.deployment !== undefined && o.deployments !== undefined) {
    throw new UsageError("give --deployment <file> or --deployments <dir>, not both");
  }
  const provider = new JsonRpcProvider(o.rpc, undefined, { staticNetwork: true });
  try {
    let chainId: bigint;
    try {
      chainId = BigInt(await provider.send("eth_chainId", []));
    } catch (cause) {
      throw new UsageError(`the chain at ${o.rpc} does not answer`, { cause });
    }
    const deployment = readDeploymentFile(o.deployment ?? deploymentPath(chainId, o.deployments ?? DEPLOYMENTS_DIR));
    if (BigInt(deployment.chainId) !== chainId) {
      throw new UsageError(`the deployment is for chain ${deployment.chainId}, the chain at ${o.rpc} is ${chainId}`);
    }
    return deployment;
  } finally {
    provider.destroy();
  }
}

async function main(): Promise<void> {
  const program = new Command("npm run explorer --")
    .description("serve the Meshwork network explorer for a deployment")
    .requiredOption("--rpc <url>", "the chain's JSON-RPC URL", httpUrl("--rpc"))
    .option("--deployments <dir>", `folder of deployments files (<chain id>.json; default ${DEPLOYMENTS_DIR})`)
    .option("--deployment <file>", "the deployments file itself")
    .option(
      "--oracle <url>",
      "an oracle's HTTP URL (repeatable; verdict files and signatures are read there)",
      (value: string, previous: string[]) => [...previous, httpUrl("--oracle")(value)],
      [] as string[],
    )
    .option("--port <n>", "port to listen on (0: any free port)", portNumber, 8_080)
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.startsWith("error:") ? `meshwork explorer: ${s}` : s) });
  try {
    program.parse(process.argv);
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode ?? 1;
    process.exit(code === 0 ? 0 : 1);
  }
  const o = program.opts<{ rpc: string; deployments?: string; deployment?: string; oracle: string[]; port: number; host: string }>();
  let explorer: RunningExplorer;
  try {
    if (o.oracle.length === 0) throw new UsageError("give at least one --oracle <url> (the verdict files are read there)");
    const deployment = await resolveDeployment(o);
    console.log(`Building the explorer page (Vite)...`);
    explorer = await startExplorer({ rpcUrl: o.rpc, deployment, oracles: o.oracle, port: o.port, host: o.host });
  } catch (error) {
    const known = error instanceof UsageError || error instanceof DeploymentFileError;
    const message = error instanceof Error ? error.message : String(error);
    const line = known ? message : `cannot start: ${message}`;
    process.stderr.write(`meshwork explorer: ${line.replace(/\s*\n\s*/g, " ")}\n`);
    process.exit(1);
  }
  console.log(`Explorer: ${explorer.url} (chain ${o.rpc}, ${o.oracle.length} oracle(s)); Ctrl-C to stop`);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void explorer.close().then(() => process.exit(0));
    });
  }
}

if (require.main === module) void main();
