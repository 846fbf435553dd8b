/** Ingest configuration: validated once at start (zod), then passed down typed. Read from the environment. */
import { getAddress, isAddress } from "ethers";
import { z } from "zod";

const bigintString = z
  .string()
  .regex(/^(0|[1-9][0-9]*)$/, { error: "must be an unsigned decimal integer" })
  .transform((v) => BigInt(v));

export const ingestConfigSchema = z.object({
  host: z.string().default("127.0.0.1").describe("interface to listen on (MESHWORK_INGEST_HOST)"),
  port: z.coerce.number().int().min(0).max(65535).default(8480).describe("TCP port (MESHWORK_INGEST_PORT)"),
  storePath: z.string().min(1).default("./data/proofs.sqlite").describe("SQLite file, or :memory: (MESHWORK_STORE)"),
  chainId: bigintString.describe("chain id of the ProviderRegistry (MESHWORK_CHAIN_ID)"),
  registry: z
    .string()
    .refine((s) => isAddress(s), { error: "must be an address" })
    .transform((s) => getAddress(s))
    .describe("ProviderRegistry address, the proofs' EIP-712 verifyingContract (MESHWORK_REGISTRY)"),
  genesis: bigintString.describe("unix seconds at which epoch 0 starts (MESHWORK_GENESIS)"),
  epochLength: bigintString
    .refine((v) => v > 0n, { error: "must be positive" })
    .describe("epoch length in seconds (MESHWORK_EPOCH_LENGTH)"),
  bodyLimit: z.coerce.number().int().positive().default(512 * 1024).describe("max bytes of one proof request"),
  maxBatchItems: z.coerce.number().int().positive().default(100).describe("max proofs per batch"),
  maxClockSkew: bigintString.default(60n).describe("seconds a proof timestamp may be ahead of the clock"),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type IngestConfig = z.infer<typeof ingestConfigSchema>;

/** Reads and validates the configuration from `env`; throws a ZodError naming every bad key. */
export function loadIngestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  return ingestConfigSchema.parse({
    host: env.MESHWORK_INGEST_HOST,
    port: env.MESHWORK_INGEST_PORT,
    storePath: env.MESHWORK_STORE,
    chainId: env.MESHWORK_CHAIN_ID,
    registry: env.MESHWORK_REGISTRY,
    genesis: env.MESHWORK_GENESIS,
    epochLength: env.MESHWORK_EPOCH_LENGTH,
    bodyLimit: env.MESHWORK_INGEST_BODY_LIMIT,
    maxBatchItems: env.MESHWORK_INGEST_MAX_BATCH,
    maxClockSkew: env.MESHWORK_INGEST_MAX_SKEW,
    logLevel: env.MESHWORK_LOG_LEVEL,
  });
}
