/**
 * Per-client token buckets for the peer-facing routes (proof sync, verdict files and leaves; the signature exchange
 * with its own, lower limit):
 * a peer that floods is answered 429 `{ error: "rate_limited", message }` with a `Retry-After` header (whole seconds),
 * and the other clients are not slowed down. Device ingest (POST /v1/proofs, /v1/proofs/batch) is never limited here:
 * devices share NAT addresses, and their rate is bounded by the ingest limits and stake.
 *
 * A bucket holds up to `burst` tokens and refills at `ratePerSec`; each request takes one. Memory is bounded: buckets
 * are kept in least-recently-used order, a bucket idle long enough to have refilled is dropped (a fresh one is the
 * same), and past `maxClients` the least recently used is evicted (which can only favour that client).
 */
import type { FastifyInstance } from "fastify";

export interface RateLimitOptions {
  /** Tokens added per second (sustained requests per second per client). */
  ratePerSec: number;
  /** Bucket size (requests a client may send at once). */
  burst: number;
  /** Most buckets kept (default 10 000). */
  maxClients?: number;
  /** Milliseconds clock (default `Date.now`); tests pass a fake one. */
  now?: () => number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterSec: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly rate: number;
  private readonly burst: number;
  private readonly maxClients: number;
  private readonly now: () => number;
  /** Milliseconds after which an untouched bucket is full again (and can be forgotten). */
  private readonly refillMs: number;
  /** Requests refused so far. */
  limited = 0;

  constructor(options: RateLimitOptions) {
    if (!(options.ratePerSec > 0)) throw new RangeError("ratePerSec must be positive");
    if (!(options.burst >= 1)) throw new RangeError("burst must be at least 1");
    this.rate = options.ratePerSec;
    this.burst = options.burst;
    this.maxClients = options.maxClients ?? 10_000;
    this.now = options.now ?? Date.now;
    this.refillMs = (this.burst / this.rate) * 1000;
  }

  /** Takes one token from `key`'s bucket. */
  take(key: string): TakeResult {
    const now = this.now();
    const found = this.buckets.get(key);
    const bucket: Bucket =
      found === undefined
        ? { tokens: this.burst, at: now }
        : { tokens: Math.min(this.burst, found.tokens + ((now - found.at) / 1000) * this.rate), at: now };
    // Re-insert: the map's order is least recently used first.
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    this.evict(now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    this.limited += 1;
    return { ok: false, retryAfterSec: Math.max(1, Math.ceil((1 - bucket.tokens) / this.rate)) };
  }

  /** Buckets currently kept. */
  get size(): number {
    return this.buckets.size;
  }

  private evict(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (this.buckets.size <= this.maxClients && now - bucket.at < this.refillMs) break;
      this.buckets.delete(key);
    }
  }
}

/**
 * Limits the routes of `app` whose method and pattern are listed in `routes` (e.g. "GET /v1/sync/proofs") by client
 * IP (`request.ip`: the socket's peer unless the app trusts a proxy). Register before the routes' first request.
 */
export function registerRateLimit(
  app: FastifyInstance,
  routes: readonly string[],
  options: RateLimitOptions,
): TokenBuckets {
  const limited = new Set(routes);
  const buckets = new TokenBuckets(options);
  app.addHook("onRequest", async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === undefined || !limited.has(`${request.method} ${route}`)) return;
    const result = buckets.take(request.ip);
    if (result.ok) return;
    return reply
      .code(429)
      .header("retry-after", String(result.retryAfterSec))
      .send({
        error: "rate_limited",
        message: `too many requests from ${request.ip}; retry in ${result.retryAfterSec} s`,
      });
  });
  return buckets;
}

/** The peer-facing reads limited in server.ts (peers poll them several times a second). */
export const PEER_ROUTES: readonly string[] = [
  "GET /v1/sync/proofs",
  "GET /v1/verdict-files/:digest",
  "GET /v1/verdicts/:epoch/leaves",
];

/**
 * The signature exchange, limited separately and lower: each POST costs a signature recovery and an fsync (about
 * 10 ms of the node's main thread), and a peer posts a few per epoch (one per new digest, per receiving oracle).
 */
export const SIGNATURE_ROUTES: readonly string[] = ["POST /v1/verdicts/:epoch/signatures"];

/** The limiters' counters in the Prometheus text format, labelled by group (e.g. "reads", "signatures"). */
export function rateLimitMetrics(groups: Readonly<Record<string, TokenBuckets>>): string {
  const entries = Object.entries(groups).sort(([a], [b]) => a.localeCompare(b));
  return (
    [
      "# HELP meshwork_oracle_peer_rate_limited_total Peer-route requests refused with 429 (per-IP token bucket).",
      "# TYPE meshwork_oracle_peer_rate_limited_total counter",
      ...entries.map(([g, b]) => `meshwork_oracle_peer_rate_limited_total{routes="${g}"} ${b.limited}`),
      "# HELP meshwork_oracle_peer_rate_buckets Client buckets kept by the peer-route rate limiter.",
      "# TYPE meshwork_oracle_peer_rate_buckets gauge",
      ...entries.map(([g, b]) => `meshwork_oracle_peer_rate_buckets{routes="${g}"} ${b.size}`),
    ].join("\n") + "\n"
  );
}
