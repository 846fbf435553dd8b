/**
 * Oracle node processes for end-to-end tests: `node -r ts-node/register/transpile-only oracles/node/main.ts`,
 * configured through the environment, one SQLite store per oracle (kept across restarts), logs in a file.
 */
import path from "node:path";

import type { HDNodeWallet } from "ethers";

import { REPO_ROOT } from "./network";
import { startProcess, type ServiceProcess } from "./process";

export interface OracleSpec {
  id: string;
  key: HDNodeWallet;
  port: number;
  /** The node's SQLite file. */
  storePath: string;
  logFile: string;
}

export interface OracleNetworkSpec {
  rpcUrl: string;
  deploymentFile: string;
  oracles: readonly OracleSpec[];
  /** Extra environment (poll periods, stagger...). */
  env?: NodeJS.ProcessEnv;
}

export const oracleUrl = (spec: OracleSpec): string => `http://127.0.0.1:${spec.port}`;

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
    return response.ok;
  } catch {
    return false;
  }
}

/** Starts oracle `spec` with every other oracle of `network` as a peer; resolves once /health answers. */
export function startOracle(network: OracleNetworkSpec, spec: OracleSpec): Promise<ServiceProcess> {
  const peers = network.oracles.filter((o) => o.id !== spec.id).map((o) => `${o.id}=${oracleUrl(o)}`);
  return startProcess({
    name: `oracle ${spec.id}`,
    command: process.execPath,
    args: ["-r", "ts-node/register/transpile-only", path.join("oracles", "node", "main.ts")],
    cwd: REPO_ROOT,
    env: {
      MESHWORK_RPC_URL: network.rpcUrl,
      MESHWORK_DEPLOYMENT: network.deploymentFile,
      MESHWORK_ORACLE_KEY: spec.key.privateKey,
      MESHWORK_HOST: "127.0.0.1",
      MESHWORK_PORT: String(spec.port),
      MESHWORK_STORE: spec.storePath,
      MESHWORK_PEERS: peers.join(","),
      MESHWORK_LOG_LEVEL: "info",
      ...network.env,
    },
    ready: () => healthy(oracleUrl(spec)),
    logFile: spec.logFile,
    timeoutMs: 90_000,
  });
}
