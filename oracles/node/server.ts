/**
 * `startOracleNode`: one oracle process. Connects to the chain (the deployment file says where the contracts are),
 * opens the SQLite store (proofs and verdicts), and runs the four stages side by side:
 * - ingest: the HTTP API devices post proofs to (app.ts), on chain time and the on-chain device registry;
 * - sync: pulls the current and previous epochs' proofs from the peers (sync.ts), and serves its own;
 * - verify + aggregate + submit + settle: the epoch loop (epoch-driver.ts), with the signature exchange and verdict
 *   files on the same HTTP API (verdict-routes.ts).
 * On SIGTERM / SIGINT it stops in reverse order: epoch loop and sync first, then HTTP (in-flight requests finish),
 * then the signature verifier workers and the stores.
 */
import { Wallet } from "ethers";
import { deploymentPath } from "../../sdk/deployment";
import pino, { type Logger } from "pino";

import {
  checkDeployment,
  ChainDeviceDirectory,
  ChainProvider,
  ChainTime,
  connectProtocol,
  DeviceIndex,
  readDeploymentFile,
} from "../chain";
import { ChainSeedSource } from "../chain/directory";
import { proofDomain } from "../proof/digest";
import { VerifierPool } from "../proof/verifier-pool";
import { importProof } from "./admit";
import { buildIngestApp } from "./app";
import type { NodeConfig } from "./config";
import { FixedEpochClock } from "./directory";
import { EpochDriver } from "./epoch-driver";
import { ProofStore } from "./store";
import { PEER_ROUTES, rateLimitMetrics, registerRateLimit, SIGNATURE_ROUTES, type TokenBuckets } from "./rate-limit";
import { PeerSync } from "./sync";
import { registerVerdictRoutes } from "./verdict-routes";
import { VerdictStore } from "./verdict-store";

export interface RunningOracle {
  /** The oracle's address (its key's). */
  oracle: string;
  /** The HTTP address actually bound (useful with port 0). */
  address: string;
  /** Graceful stop; idempotent. */
  close(): Promise<void>;
}

export async function startOracleNode(
  config: NodeConfig,
  { handleSignals = true, logger: given }: { handleSignals?: boolean; logger?: Logger } = {},
): Promise<RunningOracle> {
  const logger = given ?? pino({ name: "meshwork-oracle", level: config.logLevel });
  // Bounded RPC requests (ethers' default is 5 min) and a few retries of failed reads (oracles/chain/provider.ts).
  const provider = new ChainProvider(config.rpcUrl, {
    timeoutMs: config.rpcTimeoutMs,
    polling: true,
    pollingInterval: 250,
    // No response cache: a cached eth_getTransactionCount hands two transactions the same nonce.
    cacheTimeout: -1,
  });
  const deployment = readDeploymentFile(config.deployment ?? deploymentPath((await provider.getNetwork()).chainId));
  const wallet = new Wallet(config.oracleKey, provider);
  const contracts = connectProtocol(deployment, wallet);
  await checkDeployment(contracts, deployment);
  const [genesis, epochLength] = await Promise.all([contracts.config.genesis(), contracts.config.epochLength()]);

  const time = new ChainTime(provider, { pollMs: Math.min(config.pollMs, 1_000) });
  await time.refresh();
  time.start();

  const proofs = new ProofStore(config.storePath);
  const verdicts = new VerdictStore(config.storePath);
  const directory = new ChainDeviceDirectory(contracts.registry);
  const domain = proofDomain(BigInt(deployment.chainId), deployment.ProviderRegistry);
  const now = (): bigint => time.now();
  // Signature checks of ingest and sync on one worker per core, off the HTTP / SQLite thread.
  const verifier = new VerifierPool();
  const sync = new PeerSync({
    peers: config.peers,
    import: (input) => importProof(input, { store: proofs, directory, domain, now, verifier }),
    pageSize: 200,
    timeoutMs: config.peerTimeoutMs,
    logger,
  });
  const driver = new EpochDriver({
    contracts,
    marketplace: contracts.marketplace,
    signer: wallet,
    time,
    index: new DeviceIndex(contracts.registry),
    proofs,
    verdicts,
    sync,
    peers: config.peers,
    staggerMs: config.staggerMs,
    peerTimeoutMs: config.peerTimeoutMs,
    txTimeoutMs: config.txTimeoutMs,
    maxBackoffMs: config.maxBackoffMs,
    logger,
  });
  await driver.init();
  const limits: Record<string, TokenBuckets> = {};

  const app = buildIngestApp({
    store: proofs,
    directory,
    clock: new FixedEpochClock(genesis, epochLength),
    domain,
    now,
    bodyLimit: config.bodyLimit,
    maxBatchItems: config.maxBatchItems,
    maxClockSkew: BigInt(config.maxClockSkew),
    extraMetrics: () => driver.metrics() + rateLimitMetrics(limits),
    logger,
    verifier,
    // Epoch seeds for ingest's content pre-checks (compute products, challenged storage indexes).
    seedOf: new ChainSeedSource(contracts.seeds).source,
  });
  await registerVerdictRoutes(app, {
    store: verdicts,
    domain: driver.verdictDomain(),
    committee: (epoch) => driver.committee(epoch),
    submitted: (epoch) => driver.submitted(epoch),
    currentEpoch: () => new FixedEpochClock(genesis, epochLength).currentEpoch(time.now()),
  });
  // Peer routes only, per client IP (rate-limit.ts); device ingest is not limited.
  limits.reads = registerRateLimit(app, PEER_ROUTES, { ratePerSec: config.peerRateLimit, burst: config.peerRateBurst });
  limits.signatures = registerRateLimit(app, SIGNATURE_ROUTES, {
    ratePerSec: config.signatureRateLimit,
    burst: config.signatureRateBurst,
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      try {
        await driver.stop();
        await sync.stop();
        time.stop();
        await app.close();
      } finally {
        await verifier.close();
        proofs.close();
        verdicts.close();
        provider.destroy();
        logger.info("oracle stopped");
      }
    })());

  try {
    // A deep accept queue: devices reconnect in a burst after a restart (511, the default, dropped SYNs at 1,000).
    const address = await app.listen({ host: config.host, port: config.port, backlog: 4096 });
    const clock = new FixedEpochClock(genesis, epochLength);
    sync.start(() => {
      const current = clock.currentEpoch(time.now());
      return current === 0n ? [0n] : [current, current - 1n];
    }, config.syncIntervalMs);
    driver.start(config.pollMs);
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
    logger.info(
      { oracle: wallet.address, address, peers: config.peers.length, chainId: deployment.chainId },
      "oracle started",
    );
    return { oracle: wallet.address, address, close };
  } catch (error) {
    await close();
    throw error;
  }
}
