/**
 * `buildIngestApp`: the ingest HTTP API as a fastify instance that is not listening (tests drive it with `inject`;
 * server.ts listens). Routes:
 * - POST /v1/proofs         one proof (JSON wire form) -> 202 { accepted: true, digest } once durably stored
 * - POST /v1/proofs/batch   array of proofs -> 200 { accepted, rejected, results: [...] }, each item independent;
 *                           the items are verified together and committed in one group (one fsync); a 5xx failure of
 *                           the store, directory or verifier fails the whole request
 * - GET  /v1/sync/proofs?epoch=<uint64>&after=<id, default 0>&limit=<1..1000, default 500>
 *                           -> 200 { epoch, proofs: [wire JSON], next }: the stored proofs of an epoch with an id above
 *                           `after`, by id ascending, for peer oracles (sync.ts); pass `next` as `after` to go on
 * - GET  /health            200 { ok: true, proofs }; 503 { ok: false, error, message, proofs } while the store
 *                           refuses writes (full disk, store moved away)
 * - GET  /metrics           Prometheus text: accepted / rejected-by-reason counters
 * Every failure is `{ error: <code>, message }` with the status of `classifyError` (errors.ts).
 */
import type { TypedDataDomain } from "ethers";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { z } from "zod";
import type { VerifierPool } from "../proof/verifier-pool";
import { admitProof, admitProofs, type AdmitDeps } from "./admit";
import type { DeviceDirectory, EpochClock, SeedSource } from "./directory";
import { BadRequestError, classifyError, PayloadTooLargeError } from "./errors";
import { IngestMetrics } from "./metrics";
import type { ProofStore } from "./store";

export interface IngestAppOptions {
  store: ProofStore;
  directory: DeviceDirectory;
  clock: EpochClock;
  /** EIP-712 domain proofs must be signed under (this chain, this ProviderRegistry). */
  domain: TypedDataDomain;
  /** Unix seconds; defaults to the system clock. */
  now?: () => bigint;
  /** Max body of POST /v1/proofs in bytes (default 512 KiB). */
  bodyLimit?: number;
  /** Max items of POST /v1/proofs/batch (default 100). */
  maxBatchItems?: number;
  /** Max body of POST /v1/proofs/batch in bytes (default 4 MiB). */
  batchBodyLimit?: number;
  /** Seconds a record's timestamp may be ahead of `now` (default 60). */
  maxClockSkew?: bigint;
  /** More Prometheus text appended to GET /metrics (the epoch driver's counters). */
  extraMetrics?: () => string;
  /** A pino logger; silent when omitted. */
  logger?: FastifyBaseLogger;
  /**
   * Worker threads for the signature checks (verifier-pool.ts), so they overlap with HTTP parsing and SQLite on this
   * thread; checked in-thread when omitted. The caller owns it (closes it after the app).
   */
  verifier?: VerifierPool;
  /** Epoch seeds for the content pre-checks that need one (admit.ts); skipped without. */
  seedOf?: SeedSource;
}

export type BatchItemResult =
  | { index: number; accepted: true; digest: string }
  | { index: number; accepted: false; status: number; error: string; message: string };

export const DEFAULT_BODY_LIMIT = 512 * 1024;
export const DEFAULT_BATCH_BODY_LIMIT = 4 * 1024 * 1024;
export const DEFAULT_MAX_BATCH_ITEMS = 100;
export const DEFAULT_SYNC_PAGE = 500;
export const MAX_SYNC_PAGE = 1000;

const UINT64_MAX = (1n << 64n) - 1n;
const decimal = z.string().regex(/^(0|[1-9][0-9]*)$/, { error: "must be an unsigned decimal integer" });

/** Query of GET /v1/sync/proofs; a repeated key arrives as an array and fails like any other bad value. */
const syncQuerySchema = z.object({
  epoch: decimal
    .transform((v) => BigInt(v))
    .refine((v) => v <= UINT64_MAX, { error: "must fit in uint64" }),
  after: decimal
    .default("0")
    .transform((v) => Number(v))
    .refine((v) => Number.isSafeInteger(v), { error: "must be a safe integer" }),
  limit: decimal
    .default(String(DEFAULT_SYNC_PAGE))
    .transform((v) => Number(v))
    .refine((v) => v >= 1 && v <= MAX_SYNC_PAGE, { error: `must be in 1..${MAX_SYNC_PAGE}` }),
});

const systemNow = (): bigint => BigInt(Math.floor(Date.now() / 1000));

export function buildIngestApp(options: IngestAppOptions): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const batchBodyLimit = options.batchBodyLimit ?? DEFAULT_BATCH_BODY_LIMIT;
  const maxBatchItems = options.maxBatchItems ?? DEFAULT_MAX_BATCH_ITEMS;
  const deps: AdmitDeps = {
    store: options.store,
    directory: options.directory,
    clock: options.clock,
    domain: options.domain,
    now: options.now ?? systemNow,
    maxClockSkew: options.maxClockSkew ?? 60n,
    verifier: options.verifier,
    seedOf: options.seedOf,
  };
  const metrics = new IngestMetrics();

  const app = (
    options.logger
      ? // Per-request "incoming/completed" lines would drown the log at proof rates; rejections are logged below.
        Fastify({
          loggerInstance: options.logger,
          bodyLimit,
          logController: new LogController({ disableRequestLogging: true }),
        })
      : Fastify({ logger: false, bodyLimit })
  ) as unknown as FastifyInstance;

  // Proofs are JSON only: without fastify's default text/plain parser, other content types fail with 415, mapped to
  // a 400 `unsupported_media_type` by classifyError.
  app.removeContentTypeParser("text/plain");

  app.setErrorHandler((error: unknown, request, reply) => {
    const { status, code, message } = classifyError(error);
    if (status >= 500) request.log.error({ err: error }, "unexpected error");
    else request.log.info({ code, message }, "request rejected");
    if (request.url.startsWith("/v1/proofs")) metrics.reject(code);
    return reply.code(status).send({ error: code, message });
  });

  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: "not_found", message: "no such route" }));

  app.post("/v1/proofs", { bodyLimit }, async (request, reply) => {
    const { digest } = await admitProof(request.body, deps);
    metrics.accept();
    return reply.code(202).send({ accepted: true, digest });
  });

  app.post("/v1/proofs/batch", { bodyLimit: batchBodyLimit }, async (request, reply) => {
    const items = request.body;
    if (!Array.isArray(items)) throw new BadRequestError("batch body must be a JSON array of proofs");
    if (items.length > maxBatchItems) {
      throw new PayloadTooLargeError(`batch of ${items.length} proofs (max ${maxBatchItems})`);
    }
    // All items go through each stage together (one verifier batch, one group commit); duplicates inside the batch
    // still resolve in item order (the first stored, the next a replay).
    const outcomes = await admitProofs(items, deps);
    const results: BatchItemResult[] = outcomes.map((outcome, index) => {
      if (outcome.ok) return { index, accepted: true, digest: outcome.value.digest };
      const { status, code, message } = classifyError(outcome.error);
      return { index, accepted: false, status, error: code, message };
    });
    // A store, directory or verifier failure is not the items' fault: fail the request (5xx).
    const failure = outcomes.find((o) => !o.ok && classifyError(o.error).status >= 500);
    if (failure && !failure.ok) throw failure.error;
    for (const r of results) {
      if (r.accepted) metrics.accept();
      else metrics.reject(r.error);
    }
    const accepted = results.filter((r) => r.accepted).length;
    return reply.code(200).send({ accepted, rejected: results.length - accepted, results });
  });

  app.get("/v1/sync/proofs", async (request, reply) => {
    const query = syncQuerySchema.safeParse(request.query);
    if (!query.success) {
      const reason = query.error.issues.map((i) => `${i.path.join(".") || "query"}: ${i.message}`).join("; ");
      throw new BadRequestError(`bad sync query (${reason})`, { details: { issues: query.error.issues } });
    }
    const { epoch, after, limit } = query.data;
    const page = options.store.page(epoch, after, limit);
    metrics.serve(page.proofs.length);
    // The stored bodies are already wire JSON: splice them in rather than parse and serialise every proof again.
    const proofs = page.proofs.map((p) => p.body).join(",");
    return reply
      .type("application/json")
      .send(`{"epoch":"${epoch.toString()}","proofs":[${proofs}],"next":${page.next}}`);
  });

  // Unhealthy (503) while the store refuses writes, so devices turn to another oracle until it recovers.
  app.get("/health", async (_request, reply) => {
    const writable = options.store.writeStatus();
    const proofs = options.store.count();
    if (writable.ok) return { ok: true, proofs };
    return reply.code(503).send({ ok: false, error: "store_unavailable", message: writable.reason, proofs });
  });

  app.get("/metrics", async (_request, reply) =>
    reply
      .type("text/plain; version=0.0.4")
      .send(metrics.render(options.store.count()) + (options.extraMetrics?.() ?? "")),
  );

  return app;
}
