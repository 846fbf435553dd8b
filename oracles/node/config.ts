/**
 * Oracle node configuration: an optional JSON file (`--config <path>` or MESHWORK_CONFIG) overlaid by environment
 * variables, validated once at start (zod) and passed down typed. `loadNodeConfig` throws `ConfigError` whose message
 * is one line naming every bad key.
 *
 * | key            | env                       | meaning                                                          |
 * |----------------|---------------------------|------------------------------------------------------------------|
 * | rpcUrl         | MESHWORK_RPC_URL          | JSON-RPC endpoint of the chain                                   |
 * | deployment     | MESHWORK_DEPLOYMENT       | deployments file (default deployments/<the RPC's chain id>.json) |
 * | oracleKey      | MESHWORK_ORACLE_KEY       | the oracle's private key (prefer the environment to the file)    |
 * | host, port     | MESHWORK_HOST/PORT        | where the node's HTTP API listens                                |
 * | storePath      | MESHWORK_STORE            | SQLite file of proofs and verdicts (`:memory:` for a throwaway)   |
 * | peers          | MESHWORK_PEERS            | other oracles, `id=url,id=url` in the environment                |
 * | pollMs         | MESHWORK_POLL_MS          | epoch loop period                                                |
 * | syncIntervalMs | MESHWORK_SYNC_INTERVAL_MS | proof pull period during an epoch                                |
 * | staggerMs      | MESHWORK_STAGGER_MS       | wait between turns of the relay / finalise / fault rotation      |
 * | peerTimeoutMs  | MESHWORK_PEER_TIMEOUT_MS  | per-request timeout towards peers                                |
 * | rpcTimeoutMs   | MESHWORK_RPC_TIMEOUT_MS   | per-request timeout towards the chain's JSON-RPC endpoint        |
 * | txTimeoutMs    | MESHWORK_TX_TIMEOUT_MS    | longest wait for a sent transaction's receipt within one tick    |
 * | maxBackoffMs   | MESHWORK_MAX_BACKOFF_MS   | cap of the epoch loop's exponential backoff after failed ticks   |
 * | peerRateLimit, peerRateBurst | MESHWORK_PEER_RATE_LIMIT / _BURST | per client IP token bucket of the peer reads   |
 * |                |                           | (sync, verdict files, leaves): requests/s sustained, and burst   |
 * | signatureRateLimit, signatureRateBurst | MESHWORK_SIGNATURE_RATE_LIMIT / _BURST | the same for POST signatures |
 * | bodyLimit, maxBatchItems, maxClockSkew | MESHWORK_INGEST_BODY_LIMIT / _MAX_BATCH / _MAX_SKEW | ingest limits |
 * | logLevel       | MESHWORK_LOG_LEVEL        | pino level                                                       |
 */
import { readFileSync } from "node:fs";

import { z } from "zod";

import { MeshworkError } from "../proof/errors";

/** Order of the secp256k1 group: private keys are 1 .. n - 1. */
const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** The configuration is missing or invalid. */
export class ConfigError extends MeshworkError {}

const peerSchema = z.strictObject({
  id: z.string().min(1).max(64),
  url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).transform((u) => u.replace(/\/+$/, "")),
});

export const nodeConfigSchema = z.strictObject({
  rpcUrl: z.url({ protocol: /^(https?|wss?)$/, error: "must be an http(s) or ws(s) URL" }),
  deployment: z.string().min(1).optional(),
  oracleKey: z
    .string()
    .regex(/^(0x)?[0-9a-fA-F]{64}$/, { error: "must be a 32-byte hex private key" })
    .refine(
      (k) => {
        const hex = k.startsWith("0x") ? k : `0x${k}`;
        if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) return true; // reported by the regex above
        const n = BigInt(hex);
        return n > 0n && n < SECP256K1_ORDER;
      },
      { error: "is not a valid secp256k1 private key" },
    )
    .transform((k) => (k.startsWith("0x") ? k : `0x${k}`)),
  host: z.string().min(1).default("127.0.0.1"),
  port: z.coerce.number().int().min(0).max(65535).default(8480),
  storePath: z.string().min(1).default("./data/oracle.sqlite"),
  peers: z.array(peerSchema).max(64).default([]),
  pollMs: z.coerce.number().int().min(50).max(60_000).default(1_000),
  syncIntervalMs: z.coerce.number().int().min(50).max(600_000).default(1_000),
  staggerMs: z.coerce.number().int().min(0).max(600_000).default(5_000),
  peerTimeoutMs: z.coerce.number().int().min(100).max(60_000).default(10_000),
  rpcTimeoutMs: z.coerce.number().int().min(100).max(300_000).default(10_000),
  txTimeoutMs: z.coerce.number().int().min(1_000).max(3_600_000).default(120_000),
  maxBackoffMs: z.coerce.number().int().min(50).max(3_600_000).default(60_000),
  // A 5-oracle network polls a peer a few times per second per epoch open for sync (more pages when catching up),
  // and several peers may share an IP (one host, NAT): far below these.
  peerRateLimit: z.coerce.number().positive().max(1_000_000).default(100),
  peerRateBurst: z.coerce.number().int().min(1).max(1_000_000).default(500),
  // A member posts one signature per new digest to each peer: a few per epoch.
  signatureRateLimit: z.coerce.number().positive().max(1_000_000).default(5),
  signatureRateBurst: z.coerce.number().int().min(1).max(1_000_000).default(50),
  bodyLimit: z.coerce
    .number()
    .int()
    .positive()
    .default(512 * 1024),
  maxBatchItems: z.coerce.number().int().positive().max(10_000).default(100),
  maxClockSkew: z.coerce.number().int().min(0).max(3_600).default(60),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type NodeConfig = z.infer<typeof nodeConfigSchema>;

const ENV: ReadonlyArray<readonly [keyof NodeConfig, string]> = [
  ["rpcUrl", "MESHWORK_RPC_URL"],
  ["deployment", "MESHWORK_DEPLOYMENT"],
  ["oracleKey", "MESHWORK_ORACLE_KEY"],
  ["host", "MESHWORK_HOST"],
  ["port", "MESHWORK_PORT"],
  ["storePath", "MESHWORK_STORE"],
  ["pollMs", "MESHWORK_POLL_MS"],
  ["syncIntervalMs", "MESHWORK_SYNC_INTERVAL_MS"],
  ["staggerMs", "MESHWORK_STAGGER_MS"],
  ["peerTimeoutMs", "MESHWORK_PEER_TIMEOUT_MS"],
  ["rpcTimeoutMs", "MESHWORK_RPC_TIMEOUT_MS"],
  ["txTimeoutMs", "MESHWORK_TX_TIMEOUT_MS"],
  ["maxBackoffMs", "MESHWORK_MAX_BACKOFF_MS"],
  ["peerRateLimit", "MESHWORK_PEER_RATE_LIMIT"],
  ["peerRateBurst", "MESHWORK_PEER_RATE_BURST"],
  ["signatureRateLimit", "MESHWORK_SIGNATURE_RATE_LIMIT"],
  ["signatureRateBurst", "MESHWORK_SIGNATURE_RATE_BURST"],
  ["bodyLimit", "MESHWORK_INGEST_BODY_LIMIT"],
  ["maxBatchItems", "MESHWORK_INGEST_MAX_BATCH"],
  ["maxClockSkew", "MESHWORK_INGEST_MAX_SKEW"],
  ["logLevel", "MESHWORK_LOG_LEVEL"],
];

/** `id=url,id=url` -> peers (an entry without `=` gets its URL as id). */
function parsePeers(value: string): { id: string; url: string }[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((entry) => {
      const at = entry.indexOf("=");
      return at < 0 ? { id: entry, url: entry } : { id: entry.slice(0, at), url: entry.slice(at + 1) };
    });
}

/**
 * Reads the file at `file` (if any), overlays the environment and validates. Never prints the key: error messages
 * name keys, not values.
 */
export function loadNodeConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  let fromFile: Record<string, unknown> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (cause) {
      throw new ConfigError(`cannot read config file ${file}: ${(cause as NodeJS.ErrnoException).code ?? "error"}`);
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
      fromFile = parsed as Record<string, unknown>;
    } catch {
      throw new ConfigError(`config file ${file} is not a JSON object`);
    }
  }
  const merged: Record<string, unknown> = { ...fromFile };
  for (const [key, name] of ENV) {
    const value = env[name];
    if (value !== undefined && value !== "") merged[key] = value;
  }
  if (env.MESHWORK_PEERS !== undefined && env.MESHWORK_PEERS !== "") merged.peers = parsePeers(env.MESHWORK_PEERS);

  const result = nodeConfigSchema.safeParse(merged);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join(".") || "config"}: ${i.message}`);
    throw new ConfigError(`invalid oracle configuration: ${issues.join("; ")}`);
  }
  return result.data;
}
