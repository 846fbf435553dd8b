/**
 * The ingest process: opens the store, builds the app, listens, and on SIGTERM / SIGINT closes in reverse order
 * (stop accepting and drain fastify, then close the store). The device directory is passed in: the chain adapter
 * provides it (the process entry point that wires it lives with the node's main).
 */
import pino from "pino";
import { proofDomain } from "../proof/digest";
import { buildIngestApp } from "./app";
import type { IngestConfig } from "./config";
import { FixedEpochClock, type DeviceDirectory } from "./directory";
import { ProofStore } from "./store";

export interface RunningIngest {
  /** The address actually bound (useful with port 0). */
  address: string;
  /** Graceful close: fastify first (in-flight requests finish), then the store. Idempotent. */
  close(): Promise<void>;
}

export async function startIngestServer(
  config: IngestConfig,
  directory: DeviceDirectory,
  { handleSignals = true }: { handleSignals?: boolean } = {},
): Promise<RunningIngest> {
  const logger = pino({ name: "meshwork-ingest", level: config.logLevel });
  logger.info(
    { host: config.host, port: config.port, store: config.storePath, chainId: config.chainId.toString(),
      registry: config.registry, genesis: config.genesis.toString(), epochLength: config.epochLength.toString() },
    "starting ingest",
  );
  const store = new ProofStore(config.storePath);
  const app = buildIngestApp({
    store,
    directory,
    clock: new FixedEpochClock(config.genesis, config.epochLength),
    domain: proofDomain(config.chainId, config.registry),
    bodyLimit: config.bodyLimit,
    maxBatchItems: config.maxBatchItems,
    maxClockSkew: config.maxClockSkew,
    logger,
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      try {
        await app.close();
      } finally {
        store.close();
        logger.info("ingest stopped");
      }
    })());

  try {
    const address = await app.listen({ host: config.host, port: config.port });
    if (handleSignals) {
      for (const signal of ["SIGTERM", "SIGINT"] as const) {
        process.once(signal, () => {
          logger.info({ signal }, "shutting down");
          close().then(
            () => process.exit(0),
            (err: unknown) => {
              logger.error({ err }, "shutdown failed");
              process.exit(1);
            },
          );
        });
      }
    }
    return { address, close };
  } catch (error) {
    await close();
    throw error;
  }
}
