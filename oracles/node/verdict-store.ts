/**
 * `VerdictStore`: what the submit stage must not forget across a crash, on the node's SQLite file (its own
 * connection; same durability settings as the proof store).
 *
 * - `files`: verdict files by their EIP-712 digest: the ones this oracle computed and the ones it fetched from peers
 *   (the next epoch's cumulative rewards and the faults to apply are read from the file of the submitted digest).
 * - `own`: per epoch, the digest this oracle signed last and how many proofs it was computed from.
 * - `signatures`: per (epoch, signer), the latest verdict signature of each committee member, this oracle's included.
 *   Signatures are checked before they are stored (see verdict-routes.ts), so any quorum read back is submittable.
 *
 * A write that fails (full disk, I/O error, closed store) throws `StoreUnavailableError` with the SQLite error as its
 * cause: HTTP 503 on the verdict routes, and in the epoch driver a failed tick that is logged and retried on the next
 * poll (every write here is idempotent, and a verdict is recomputed while `own` is not recorded).
 */
import Database from "better-sqlite3";

import { StoreUnavailableError } from "./errors";

import { verdictFromJson, verdictToJson, type EpochVerdict, type EpochVerdictJson } from "../../sdk/verdict";

export interface StoredSignature {
  signer: string;
  digest: string;
  verdict: EpochVerdict;
  signature: string;
  /** Unix milliseconds of the first time this (signer, digest) was seen. */
  receivedAt: number;
}

export interface OwnVerdict {
  digest: string;
  /** Proofs of the epoch the verdict was computed from. */
  proofCount: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS verdict_files (
  digest  TEXT PRIMARY KEY,
  epoch   TEXT NOT NULL,
  verdict TEXT NOT NULL,
  file    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS own_verdicts (
  epoch       TEXT PRIMARY KEY,
  digest      TEXT NOT NULL,
  proof_count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS verdict_signatures (
  epoch       TEXT NOT NULL,
  signer      TEXT NOT NULL,
  digest      TEXT NOT NULL,
  verdict     TEXT NOT NULL,
  signature   TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (epoch, signer)
);
`;

/** SQLite's default `max_page_count` (the largest page count it allows). */
const DEFAULT_MAX_PAGE_COUNT = 4294967294;

export class VerdictStore {
  private readonly db: Database.Database;

  /** Opens (creating if needed) the tables in the SQLite file at `path`; `:memory:` for a throwaway store. */
  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.exec(SCHEMA);
  }

  /** Runs a write; any failure of it is the store's (its inputs are validated), so `StoreUnavailableError`. */
  private write<T>(what: string, run: () => T): T {
    try {
      return run();
    } catch (cause) {
      const reason = cause instanceof Error ? `: ${cause.message}` : "";
      throw new StoreUnavailableError(`verdict store could not ${what}${reason}`, { cause });
    }
  }

  /**
   * Caps the database at `pages` pages (SQLite's `max_page_count`; `null` restores the default): writes beyond it fail
   * with SQLITE_FULL as on a full disk. For tests; this connection only. Returns the cap in effect.
   */
  setMaxPageCount(pages: number | null): number {
    if (pages !== null && (!Number.isSafeInteger(pages) || pages < 1)) {
      throw new RangeError("pages must be a positive integer");
    }
    return this.db.pragma(`max_page_count = ${pages ?? DEFAULT_MAX_PAGE_COUNT}`, { simple: true }) as number;
  }

  /** Keeps a verdict file under its digest (idempotent). */
  saveFile(digest: string, verdict: EpochVerdict, file: string): void {
    this.write("save a verdict file", () =>
      this.db
        .prepare("INSERT INTO verdict_files (digest, epoch, verdict, file) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")
        .run(digest.toLowerCase(), verdict.epoch.toString(), JSON.stringify(verdictToJson(verdict)), file),
    );
  }

  fileByDigest(digest: string): { verdict: EpochVerdict; file: string } | null {
    const row = this.db
      .prepare<[string], { verdict: string; file: string }>("SELECT verdict, file FROM verdict_files WHERE digest = ?")
      .get(digest.toLowerCase());
    return row === undefined ? null : { verdict: verdictFromJson(JSON.parse(row.verdict)), file: row.file };
  }

  setOwn(epoch: bigint, own: OwnVerdict): void {
    this.write("record its own verdict", () =>
      this.db
        .prepare(
          `INSERT INTO own_verdicts (epoch, digest, proof_count) VALUES (?, ?, ?)
         ON CONFLICT (epoch) DO UPDATE SET digest = excluded.digest, proof_count = excluded.proof_count`,
        )
        .run(epoch.toString(), own.digest.toLowerCase(), own.proofCount),
    );
  }

  own(epoch: bigint): OwnVerdict | null {
    const row = this.db
      .prepare<[string], { digest: string; proof_count: number }>(
        "SELECT digest, proof_count FROM own_verdicts WHERE epoch = ?",
      )
      .get(epoch.toString());
    return row === undefined ? null : { digest: row.digest, proofCount: row.proof_count };
  }

  /**
   * Records `signer`'s latest signature for the epoch. Returns false, storing nothing, when the same signer's
   * signature of the same digest is already there.
   */
  putSignature(signature: Omit<StoredSignature, "receivedAt">, receivedAt: number = Date.now()): boolean {
    const info = this.write("store a signature", () =>
      this.db
        .prepare(
          `INSERT INTO verdict_signatures (epoch, signer, digest, verdict, signature, received_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (epoch, signer) DO UPDATE SET digest = excluded.digest, verdict = excluded.verdict,
           signature = excluded.signature, received_at = excluded.received_at
         WHERE verdict_signatures.digest <> excluded.digest`,
        )
        .run(
          signature.verdict.epoch.toString(),
          signature.signer,
          signature.digest.toLowerCase(),
          JSON.stringify(verdictToJson(signature.verdict)),
          signature.signature,
          receivedAt,
        ),
    );
    return info.changes === 1;
  }

  /** The latest signature of every signer for `epoch`, by signer. */
  signatures(epoch: bigint): StoredSignature[] {
    return this.db
      .prepare<[string], { signer: string; digest: string; verdict: string; signature: string; received_at: number }>(
        "SELECT signer, digest, verdict, signature, received_at FROM verdict_signatures WHERE epoch = ? ORDER BY lower(signer)",
      )
      .all(epoch.toString())
      .map((row) => ({
        signer: row.signer,
        digest: row.digest,
        verdict: verdictFromJson(JSON.parse(row.verdict) as EpochVerdictJson),
        signature: row.signature,
        receivedAt: row.received_at,
      }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
