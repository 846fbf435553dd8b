/**
 * What the explorer page is told at start (`GET /config.json`, served by scripts/explorer/server.ts): where to read the
 * chain and the oracles (both through the server's proxy, relative to the page) and the deployment to read.
 */
import type { DeploymentFile } from "../../sdk/deployment";

export interface ExplorerConfig {
  /** JSON-RPC endpoint, relative to the page ("rpc") or absolute. */
  rpcUrl: string;
  /** The deployments file (sdk/deployment.ts), as validated by the server. */
  deployment: DeploymentFile;
  /** Oracle HTTP base paths, relative to the page ("oracle/0") or absolute; read for `/v1/verdicts/...` only. */
  oracles: string[];
}
