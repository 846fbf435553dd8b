/**
 * `VerifierPool`: proof signature checks (digest + recovery + signer match) on worker threads, so the main thread
 * keeps parsing HTTP bodies and committing to SQLite while the workers verify.
 *
 * - Jobs submitted within one event-loop turn (from concurrent requests, or one batch) are coalesced and split into
 *   at most `maxBatch` proofs per message, each sent to the worker with the fewest proofs in flight; a batch travels
 *   as one transferred ArrayBuffer (verifier-codec.ts), not as cloned objects.
 * - Results are the ones of the in-thread path (`checkProofSignature`): same digest, same `InvalidSignatureError`
 *   messages, `SignerMismatchError` for another key. Records must come from `parseProofRecord`.
 * - A worker that dies (crash, OOM, `process.exit`) never loses a proof nor accepts a wrong one: the proofs it had in
 *   flight are verified again on the main thread (`onWorkerFailure: "in-thread"`, the default) or rejected with
 *   `VerifierUnavailableError` (`"reject"`, HTTP 503: the client retries). The worker is replaced up to
 *   `maxRestarts` times; past that the pool carries on with the workers left, and with none, in-thread or 503.
 * - `close()` rejects jobs not yet sent with `VerifierUnavailableError`, waits for the batches in flight and
 *   terminates the workers. Idempotent.
 */
import { availableParallelism } from "node:os";
import { extname, join } from "node:path";
import { Worker } from "node:worker_threads";
import type { TypedDataDomain } from "ethers";
import { domainSeparator } from "./digest";
import { InvalidSignatureError, SignerMismatchError, VerifierUnavailableError } from "./errors";
import { bytesToHex, hexToBytes, recoverFailureError, RecoverFailure, toChecksumAddress } from "./hash";
import type { ProofRecord } from "./kinds";
import {
  encodeBatch,
  RESULT_BYTES,
  VerifyStatus,
  type BatchMessage,
  type EncodableJob,
  type ResultMessage,
} from "./verifier-codec";
import { checkProofSignature } from "./verify";

export interface VerifierPoolOptions {
  /** Number of worker threads (default `os.availableParallelism()`). 0 verifies in-thread (no workers). */
  size?: number;
  /** Max proofs per message to a worker (default 256). */
  maxBatch?: number;
  /** What happens to the proofs of a worker that died: verified in-thread (default) or rejected with a 503. */
  onWorkerFailure?: "in-thread" | "reject";
  /** How many dead workers are replaced over the pool's life (default 8). */
  maxRestarts?: number;
}

/** A verified proof: its EIP-712 digest (0x + lowercase hex). */
export interface Verified {
  digest: string;
}

/** One proof's outcome in `verifyMany`: its digest, or the error `verify` would have thrown. */
export type VerifyOutcome =
  | { ok: true; digest: string }
  | { ok: false; error: InvalidSignatureError | SignerMismatchError | VerifierUnavailableError };

interface Job extends EncodableJob {
  resolve: (outcome: VerifyOutcome) => void;
}

interface InFlight {
  jobs: Job[];
}

interface Slot {
  worker: Worker;
  /** Proofs sent and not answered. */
  load: number;
  batches: Map<number, InFlight>;
  exited: boolean;
  /** What killed it (the worker's uncaught error), for the `cause` of the errors it leads to. */
  failure?: unknown;
}

const SIGNATURE = /^0x[0-9a-f]{130}$/;
const DEVICE = /^0x[0-9a-fA-F]{40}$/;
const U64_MAX = (1n << 64n) - 1n;
const isU64 = (v: unknown): boolean => typeof v === "bigint" && v >= 0n && v <= U64_MAX;
const isU8 = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255;

/** The worker entry: the .js worker in a compiled build, a ts-node bootstrap when running from sources. */
function workerEntry(): { filename: string; workerData: { entry?: string } } {
  const ext = extname(__filename);
  const entry = join(__dirname, `verifier-worker${ext}`);
  return ext === ".ts"
    ? { filename: join(__dirname, "verifier-worker-boot.js"), workerData: { entry } }
    : { filename: entry, workerData: {} };
}

/** The outcome of the in-thread path, as a `VerifyOutcome`. */
function verifyInThread(record: ProofRecord, domainSep: Uint8Array): VerifyOutcome {
  try {
    const { digest, signer, match } = checkProofSignature(record, domainSep);
    if (match) return { ok: true, digest: bytesToHex(digest) };
    return { ok: false, error: mismatch(record, signer) };
  } catch (error) {
    if (error instanceof InvalidSignatureError) return { ok: false, error };
    return {
      ok: false,
      error: new InvalidSignatureError("proof cannot be verified (malformed record)", { cause: error }),
    };
  }
}

function mismatch(record: ProofRecord, signer: Uint8Array): SignerMismatchError {
  return new SignerMismatchError("proof not signed by its device for this chain and registry", {
    details: { device: record.device, signer: toChecksumAddress(bytesToHex(signer)) },
  });
}

export class VerifierPool {
  readonly size: number;
  private readonly maxBatch: number;
  private readonly onWorkerFailure: "in-thread" | "reject";
  private restartsLeft: number;
  private readonly slots: Slot[] = [];
  private queue: Job[] = [];
  private scheduled = false;
  private nextId = 1;
  private closed = false;
  private closing?: Promise<void>;
  private drained?: () => void;

  constructor(options: VerifierPoolOptions = {}) {
    this.size = options.size ?? availableParallelism();
    if (!Number.isInteger(this.size) || this.size < 0) throw new RangeError("size must be a non-negative integer");
    this.maxBatch = options.maxBatch ?? 256;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) throw new RangeError("maxBatch must be >= 1");
    this.onWorkerFailure = options.onWorkerFailure ?? "in-thread";
    this.restartsLeft = options.maxRestarts ?? 8;
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn());
  }

  /** Live workers. */
  get workers(): number {
    return this.slots.filter((s) => !s.exited).length;
  }

  /**
   * Verifies `record` (from `parseProofRecord`) under `domain`: resolves with its digest when its device signed it;
   * rejects with `InvalidSignatureError`, `SignerMismatchError`, or `VerifierUnavailableError` (pool closed, or
   * workers failed with `onWorkerFailure: "reject"`).
   */
  async verify(domain: TypedDataDomain, record: ProofRecord): Promise<Verified> {
    const [outcome] = await this.verifyMany(domain, [record]);
    if (!outcome.ok) throw outcome.error;
    return { digest: outcome.digest };
  }

  /** Verifies each record; never rejects: one outcome per record, in order. */
  verifyMany(domain: TypedDataDomain, records: readonly ProofRecord[]): Promise<VerifyOutcome[]> {
    const domainSep = domainSeparator(domain);
    const outcomes = new Array<VerifyOutcome>(records.length);
    let waiting = 0;
    return new Promise((resolve) => {
      // One promise for the whole call; each job fills its slot.
      const settle = (): void => {
        if (--waiting === 0) resolve(outcomes);
      };
      waiting = 1; // held until every job is queued
      const noWorkers = this.workers === 0;
      for (let i = 0; i < records.length; i++) {
        const record = records[i];
        if (this.closed) {
          outcomes[i] = { ok: false, error: new VerifierUnavailableError("verifier pool is closed") };
        } else if (noWorkers || !this.encodable(record)) {
          outcomes[i] = this.fallback(record, domainSep);
        } else {
          waiting += 1;
          this.enqueue({
            record,
            domainSeparator: domainSep,
            resolve: (outcome) => {
              outcomes[i] = outcome;
              settle();
            },
          });
        }
      }
      settle();
    });
  }

  /** Rejects jobs not yet sent, waits for the batches in flight, terminates the workers. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      const queued = this.queue;
      this.queue = [];
      for (const job of queued) {
        job.resolve({ ok: false, error: new VerifierUnavailableError("verifier pool is closed") });
      }
      if (this.inFlight() > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
    })();
    return this.closing;
  }

  /** Test hook: makes worker `index` exit with `code` (as a crash would), whatever it is doing. */
  crashWorkerForTest(index: number, code = 1): void {
    this.slots[index]?.worker.postMessage({ type: "exit", code });
  }

  private encodable(record: ProofRecord): boolean {
    return (
      typeof record.device === "string" &&
      DEVICE.test(record.device) &&
      typeof record.signature === "string" &&
      SIGNATURE.test(record.signature) &&
      isU64(record.epoch) &&
      isU64(record.nonce) &&
      isU64(record.timestamp) &&
      isU8(record.resourceClass) &&
      isU8(record.kind)
    );
  }

  private fallback(record: ProofRecord, domainSep: Uint8Array, cause?: unknown): VerifyOutcome {
    if (this.onWorkerFailure === "reject" && this.encodable(record)) {
      return { ok: false, error: new VerifierUnavailableError("no verifier worker available", { cause }) };
    }
    return verifyInThread(record, domainSep);
  }

  private enqueue(job: Job): void {
    this.queue.push(job);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    const live = this.slots.filter((s) => !s.exited);
    if (live.length === 0) {
      for (const job of queue) job.resolve(this.fallback(job.record, job.domainSeparator));
      return;
    }
    // Even chunks over the live workers, at most maxBatch each.
    const chunk = Math.min(this.maxBatch, Math.ceil(queue.length / live.length));
    for (let start = 0; start < queue.length; start += chunk) {
      const jobs = queue.slice(start, start + chunk);
      const slot = live.reduce((best, s) => (s.load < best.load ? s : best));
      this.send(slot, jobs);
    }
  }

  private send(slot: Slot, jobs: Job[]): void {
    const id = this.nextId++;
    let buf: ArrayBuffer;
    try {
      buf = encodeBatch(jobs);
    } catch {
      for (const job of jobs) job.resolve(verifyInThread(job.record, job.domainSeparator));
      return;
    }
    slot.batches.set(id, { jobs });
    slot.load += jobs.length;
    if (slot.batches.size === 1) slot.worker.ref();
    const message: BatchMessage = { id, count: jobs.length, buf };
    slot.worker.postMessage(message, [buf]);
  }

  private inFlight(): number {
    return this.slots.reduce((n, s) => n + s.batches.size, 0);
  }

  private settled(): void {
    if (this.drained && this.inFlight() === 0) this.drained();
  }

  private spawn(): Slot {
    const { filename, workerData } = workerEntry();
    const worker = new Worker(filename, { workerData });
    worker.unref(); // an idle pool does not keep the process alive (ref'd while batches are in flight)
    const slot: Slot = { worker, load: 0, batches: new Map(), exited: false };
    worker.on("message", (message: ResultMessage) => this.onResult(slot, message));
    worker.on("error", (error) => {
      slot.failure = error; // always followed by 'exit', where its proofs are handled
    });
    worker.on("exit", () => this.onExit(slot));
    return slot;
  }

  private onResult(slot: Slot, message: ResultMessage): void {
    const batch = slot.batches.get(message.id);
    if (batch === undefined) return;
    slot.batches.delete(message.id);
    slot.load -= batch.jobs.length;
    if (slot.batches.size === 0) slot.worker.unref();
    const out = Buffer.from(message.buf);
    for (let i = 0; i < batch.jobs.length; i++) {
      const job = batch.jobs[i];
      const at = i * RESULT_BYTES;
      const status = out[at];
      if (status === VerifyStatus.Ok) {
        job.resolve({ ok: true, digest: `0x${out.toString("hex", at + 1, at + 33)}` }); // = bytesToHex
      } else if (status === VerifyStatus.SignerMismatch) {
        job.resolve({ ok: false, error: mismatch(job.record, out.subarray(at + 33, at + 53)) });
      } else {
        const failure = (status - VerifyStatus.InvalidSignature + RecoverFailure.BadV) as RecoverFailure;
        job.resolve({ ok: false, error: recoverFailureError(failure, hexToBytes(job.record.signature)) });
      }
    }
    this.settled();
  }

  private onExit(slot: Slot): void {
    slot.exited = true;
    const lost = [...slot.batches.values()].flatMap((b) => b.jobs);
    slot.batches.clear();
    slot.load = 0;
    for (const job of lost) {
      job.resolve(
        this.closed && this.onWorkerFailure === "reject"
          ? { ok: false, error: new VerifierUnavailableError("verifier pool is closed") }
          : this.fallback(job.record, job.domainSeparator, slot.failure),
      );
    }
    if (!this.closed && this.restartsLeft > 0) {
      this.restartsLeft -= 1;
      this.slots[this.slots.indexOf(slot)] = this.spawn();
    }
    this.settled();
  }
}
