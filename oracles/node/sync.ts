/**
 * `PeerSync`: the sync stage. Each oracle pulls, from every peer, the proofs of the epochs still open for sync
 * (GET /v1/sync/proofs, app.ts) and imports them (`importProof`, admit.ts) into its own store.
 *
 * Proofs are self-authenticating (device-signed EIP-712), so a peer is trusted for nothing: every proof it serves is
 * re-checked (signature, registration, class) before it is stored, and a proof that fails is counted `invalid` and
 * skipped. The union is therefore safe, and a proof accepted by one honest oracle reaches every honest oracle that
 * can reach it.
 *
 * - Cursor: per (peer, epoch), the `next` id of the last page fully imported; the next pull asks only for newer
 *   proofs. It lives in memory: after a restart the first pull fetches everything again, and the store turns the
 *   repeats into duplicates.
 * - Failures: a peer that is down, slow (`timeoutMs` per request), answers a non-2xx status or a page of the wrong
 *   shape is reported in `failedPeers` and retried from the same cursor on the next call; `pullEpoch` never throws.
 *   An import that fails for a reason other than the proof itself (a 5xx by `classifyError`: the directory or the
 *   store is down) also fails the peer without moving its cursor, so the proof is not lost.
 * - A proof served under another epoch than the one asked for is `invalid`: only the epochs the caller pulls (the
 *   `epochs` of `start`) can gain proofs late, which keeps the window for backdated proofs as narrow as the caller
 *   chooses.
 */
import { z } from "zod";
import { classifyError } from "./errors";

export interface Peer {
  /** Name in reports and logs. */
  id: string;
  /** Base URL of the peer's ingest API, e.g. http://127.0.0.1:8481. */
  url: string;
}

/** The part of a pino logger sync uses. */
export interface SyncLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface PeerSyncOptions {
  peers: readonly Peer[];
  /** Stores one proof from a peer (`importProof` with this oracle's deps); throws when the proof is not acceptable. */
  import: (input: unknown) => Promise<{ inserted: boolean }>;
  /** Proofs asked for per request, 1..1000 (default 500). */
  pageSize?: number;
  /** Timeout of each request in milliseconds (default 2000). */
  timeoutMs?: number;
  /** Largest response body accepted, in bytes (default 64 MiB). */
  maxPageBytes?: number;
  /** Most pages fetched from one peer for one epoch per call (default 10 000), so a lying peer cannot loop forever. */
  maxPagesPerPull?: number;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  logger?: SyncLogger;
}

export interface PullReport {
  /** Proofs newly stored. */
  imported: number;
  /** Proofs the store already held. */
  duplicates: number;
  /** Proofs that failed the checks (or were served under another epoch), skipped. */
  invalid: number;
  /** Ids of the peers that could not be fully pulled; retried on the next call. */
  failedPeers: string[];
}

export const DEFAULT_SYNC_PAGE_SIZE = 500;
export const DEFAULT_SYNC_TIMEOUT_MS = 2000;
export const DEFAULT_MAX_PAGE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_PAGES_PER_PULL = 10_000;

/** A page as a peer must serve it; each proof is checked later, one by one, by `import`. */
const pageSchema = z.object({
  epoch: z.string(),
  proofs: z.array(z.unknown()),
  next: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});

/** The one field read from a served proof before importing it. */
const epochField = z.object({ epoch: z.string() });

/** The peer cannot be pulled this round (unreachable, bad status, malformed page, import infrastructure down). */
class PeerFailure extends Error {}

interface PeerOutcome {
  imported: number;
  duplicates: number;
  invalid: number;
  failed: boolean;
}

export class PeerSync {
  private readonly peers: readonly Peer[];
  private readonly importProof: (input: unknown) => Promise<{ inserted: boolean }>;
  private readonly pageSize: number;
  private readonly timeoutMs: number;
  private readonly maxPageBytes: number;
  private readonly maxPagesPerPull: number;
  private readonly fetchFn: typeof fetch;
  private readonly logger?: SyncLogger;
  /** `${peer.id} ${epoch}` -> the `after` of the next request. */
  private readonly cursors = new Map<string, number>();
  /** Aborts in-flight requests on `stop`. */
  private readonly abort = new AbortController();

  private timer?: NodeJS.Timeout;
  private round?: Promise<void>;
  private started = false;
  private stopped = false;
  private loopError?: unknown;
  /** Peers that failed in the last round (comma-joined), so a peer that stays down is reported once. */
  private lastFailed = "";

  constructor(options: PeerSyncOptions) {
    const pageSize = options.pageSize ?? DEFAULT_SYNC_PAGE_SIZE;
    if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
      throw new RangeError("pageSize must be an integer in 1..1000");
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError("timeoutMs must be positive");
    const ids = new Set(options.peers.map((p) => p.id));
    if (ids.size !== options.peers.length) throw new RangeError("peer ids must be unique");
    for (const peer of options.peers) {
      const url = new URL(peer.url); // throws on a malformed URL
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new RangeError(`peer ${peer.id}: not http(s)`);
    }
    this.peers = options.peers.map((p) => ({ id: p.id, url: p.url.replace(/\/+$/, "") }));
    this.importProof = options.import;
    this.pageSize = pageSize;
    this.timeoutMs = timeoutMs;
    this.maxPageBytes = options.maxPageBytes ?? DEFAULT_MAX_PAGE_BYTES;
    this.maxPagesPerPull = options.maxPagesPerPull ?? DEFAULT_MAX_PAGES_PER_PULL;
    this.fetchFn = options.fetch ?? fetch;
    this.logger = options.logger;
  }

  /** Pulls the new proofs of `epoch` from every peer in parallel, all pages; never throws (see the module comment). */
  async pullEpoch(epoch: bigint): Promise<PullReport> {
    const outcomes = await Promise.all(this.peers.map((peer) => this.pullPeer(peer, epoch)));
    const report: PullReport = { imported: 0, duplicates: 0, invalid: 0, failedPeers: [] };
    outcomes.forEach((o, i) => {
      report.imported += o.imported;
      report.duplicates += o.duplicates;
      report.invalid += o.invalid;
      if (o.failed) report.failedPeers.push(this.peers[i].id);
    });
    return report;
  }

  /**
   * Runs pull rounds in the background: each round pulls every epoch of `epochs()` in turn, and the next round starts
   * `intervalMs` after the previous one ended (one round at a time). The timer is unref'd, so it does not keep the
   * process alive. Cursors of epochs no longer listed are dropped. If `epochs` throws, the loop stops and `stop`
   * rethrows the error.
   */
  start(epochs: () => readonly bigint[], intervalMs: number): void {
    if (this.started) throw new Error("PeerSync already started");
    if (!Number.isFinite(intervalMs) || intervalMs < 0) throw new RangeError("intervalMs must be non-negative");
    this.started = true;
    const tick = (): void => {
      this.timer = undefined;
      if (this.stopped) return;
      this.round = this.runRound(epochs).finally(() => {
        this.round = undefined;
        if (!this.stopped && this.loopError === undefined) this.schedule(tick, intervalMs);
      });
    };
    this.schedule(tick, 0);
  }

  /** Stops the loop: no new round starts, in-flight requests are aborted, and the running round is awaited. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await this.round;
    if (this.loopError !== undefined) throw this.loopError;
  }

  private schedule(tick: () => void, ms: number): void {
    this.timer = setTimeout(tick, ms);
    this.timer.unref();
  }

  private async runRound(epochs: () => readonly bigint[]): Promise<void> {
    let list: readonly bigint[];
    try {
      list = epochs();
    } catch (error) {
      this.loopError = error;
      this.logger?.error({ err: error }, "sync stopped: epochs() failed");
      return;
    }
    for (const epoch of list) {
      if (this.stopped) return;
      const report = await this.pullEpoch(epoch);
      const fields = { epoch: epoch.toString(), ...report };
      const failed = report.failedPeers.join(",");
      const changed = failed !== this.lastFailed;
      this.lastFailed = failed;
      if (report.invalid > 0 || (changed && failed !== "")) this.logger?.warn(fields, "sync round");
      else if (report.imported > 0) this.logger?.info(fields, "sync round");
      else this.logger?.debug(fields, "sync round");
    }
    const keep = new Set(list.map((e) => e.toString()));
    for (const key of this.cursors.keys()) {
      if (!keep.has(key.slice(key.lastIndexOf(" ") + 1))) this.cursors.delete(key);
    }
  }

  /** All new pages of one peer for one epoch; the cursor advances page by page, only over fully handled pages. */
  private async pullPeer(peer: Peer, epoch: bigint): Promise<PeerOutcome> {
    const key = `${peer.id} ${epoch}`;
    const outcome: PeerOutcome = { imported: 0, duplicates: 0, invalid: 0, failed: false };
    try {
      for (let pages = 0; pages < this.maxPagesPerPull; pages++) {
        const after = this.cursors.get(key) ?? 0;
        const page = await this.fetchPage(peer, epoch, after);
        // All at once: the signatures go to the verifier pool together and the inserts share one group commit.
        const settled = await Promise.allSettled(page.proofs.map((proof) => this.importOne(proof, epoch, outcome)));
        const failure = settled.find((s) => s.status === "rejected");
        if (failure !== undefined) throw failure.reason;
        this.cursors.set(key, Math.max(page.next, this.cursors.get(key) ?? 0));
        if (page.proofs.length < this.pageSize) break;
      }
    } catch (error) {
      outcome.failed = true;
      // Debug only: the round reports failed peers once, when the set changes.
      this.logger?.debug(
        { peer: peer.id, epoch: epoch.toString(), err: error instanceof Error ? error.message : String(error) },
        "sync: peer failed",
      );
    }
    return outcome;
  }

  private async importOne(proof: unknown, epoch: bigint, outcome: PeerOutcome): Promise<void> {
    const fields = epochField.safeParse(proof);
    if (!fields.success || fields.data.epoch !== epoch.toString()) {
      outcome.invalid += 1;
      return;
    }
    try {
      const { inserted } = await this.importProof(proof);
      if (inserted) outcome.imported += 1;
      else outcome.duplicates += 1;
    } catch (error) {
      // 4xx: the proof itself is not acceptable (forged, unknown device...); anything else is ours to retry.
      if (classifyError(error).status >= 500) throw new PeerFailure("import failed", { cause: error });
      outcome.invalid += 1;
    }
  }

  private async fetchPage(peer: Peer, epoch: bigint, after: number): Promise<z.infer<typeof pageSchema>> {
    const url = `${peer.url}/v1/sync/proofs?epoch=${epoch}&after=${after}&limit=${this.pageSize}`;
    // One controller with a plain timer: an `AbortSignal.timeout` combined through `AbortSignal.any` is held weakly and
    // can be garbage-collected before it fires, leaving the request hanging.
    const request = new AbortController();
    const stop = (): void => request.abort(this.abort.signal.reason);
    this.abort.signal.addEventListener("abort", stop, { once: true });
    const timer = setTimeout(
      () => request.abort(new PeerFailure(`no answer within ${this.timeoutMs} ms`)),
      this.timeoutMs,
    );
    let res: Response;
    let text: string;
    try {
      res = await this.fetchFn(url, { signal: request.signal, headers: { accept: "application/json" } });
      text = await readLimited(res, this.maxPageBytes);
    } finally {
      clearTimeout(timer);
      this.abort.signal.removeEventListener("abort", stop);
    }
    if (!res.ok) throw new PeerFailure(`HTTP ${res.status}`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new PeerFailure("page is not JSON");
    }
    const parsed = pageSchema.safeParse(body);
    if (!parsed.success) throw new PeerFailure(`malformed page: ${parsed.error.issues[0]?.message ?? "?"}`);
    const page = parsed.data;
    if (page.epoch !== epoch.toString()) throw new PeerFailure(`page of epoch ${page.epoch}, asked ${epoch}`);
    if (page.proofs.length > this.pageSize) throw new PeerFailure("page larger than the limit asked for");
    if (page.proofs.length > 0 ? page.next <= after : page.next !== after) {
      throw new PeerFailure(`cursor does not advance (after ${after}, next ${page.next})`);
    }
    return page;
  }
}

/** The body as text, failing (and cancelling the stream) past `maxBytes`. */
async function readLimited(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new PeerFailure(`page of ${declared} bytes exceeds ${maxBytes}`);
  }
  if (res.body === null) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new PeerFailure(`page exceeds ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
