/**
 * `ProofStore`: the durable hand-off between ingest and verify, on embedded SQLite (better-sqlite3).
 *
 * Durability: WAL journal with `synchronous = FULL`, so every committed insert is fsynced to the WAL before
 * `insert` returns. Ingest acknowledges (202) only after `insert`, so an acknowledged proof survives a crash or a
 * power loss. (`NORMAL` in WAL mode would stay consistent but could lose the last acknowledged proofs on power loss.)
 *
 * uint64 fields (epoch, nonce) are stored as canonical decimal TEXT (SQLite integers are signed 64-bit); the body
 * is the record's JSON wire form (`toProofJson`), re-validated by `parseProofRecord` when read.
 */
import Database from "better-sqlite3";
import { parseProofRecord } from "../proof/parse";
import { toProofJson } from "../proof/wire";
import type { ProofRecord } from "../proof/kinds";

export type InsertResult = "inserted" | "duplicate";

/** One page of an epoch's proofs (`ProofStore.page`). */
export interface ProofPage {
  /** The proofs, by id ascending; `id` is the store's insertion order, stable for the store's life. */
  /** `body` is the stored wire JSON (validated when it was stored), served as is: peers check every proof again. */
  proofs: { id: number; body: string; digest: string }[];
  /** The id to pass as `afterId` for the next page: the last id served, or `afterId` itself when the page is empty. */
  next: number;
}

export interface StoredProof {
  record: ProofRecord;
  digest: string;
  /** Unix milliseconds at which ingest stored it. */
  receivedAt: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS proofs (
  id          INTEGER PRIMARY KEY,
  device      TEXT    NOT NULL,
  nonce       TEXT    NOT NULL,
  epoch       TEXT    NOT NULL,
  kind        INTEGER NOT NULL,
  digest      TEXT    NOT NULL UNIQUE,
  body        TEXT    NOT NULL,
  received_at INTEGER NOT NULL,
  UNIQUE (device, nonce)
);
CREATE INDEX IF NOT EXISTS proofs_by_epoch ON proofs (epoch);
`;

interface PageRow {
  id: number;
  digest: string;
  body: string;
}

interface Row {
  digest: string;
  body: string;
  received_at: number;
}

export class ProofStore {
  private readonly db: Database.Database;
  private readonly insertStmt: Database.Statement<[string, string, string, number, string, string, number]>;
  private readonly byEpochStmt: Database.Statement<[string], Row>;
  private readonly pageStmt: Database.Statement<[string, number, number], PageRow>;
  private readonly countStmt: Database.Statement<[], { n: number }>;
  private readonly digestStmt: Database.Statement<[string, string], { digest: string }>;
  private readonly countByEpochStmt: Database.Statement<[string], { n: number }>;

  /** Opens (creating if needed) the store at `path`; `:memory:` for a throwaway store. */
  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.exec(SCHEMA);
    this.insertStmt = this.db.prepare(
      `INSERT INTO proofs (device, nonce, epoch, kind, digest, body, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    this.byEpochStmt = this.db.prepare("SELECT digest, body, received_at FROM proofs WHERE epoch = ? ORDER BY id");
    // The epoch index holds the rowid (id), so this is a range scan of (epoch, id).
    this.pageStmt = this.db.prepare(
      "SELECT id, digest, body FROM proofs WHERE epoch = ? AND id > ? ORDER BY id LIMIT ?",
    );
    this.countStmt = this.db.prepare("SELECT COUNT(*) AS n FROM proofs");
    this.digestStmt = this.db.prepare("SELECT digest FROM proofs WHERE device = ? AND nonce = ?");
    this.countByEpochStmt = this.db.prepare("SELECT COUNT(*) AS n FROM proofs WHERE epoch = ?");
  }

  /**
   * Stores `record` under `digest` (its EIP-712 digest). Returns 'duplicate', storing nothing, when a proof with the
   * same (device, nonce) or the same digest is already there (a replay). Committed and synced when it returns.
   */
  insert(record: ProofRecord, digest: string, receivedAt: number = Date.now()): InsertResult {
    const info = this.insertStmt.run(
      record.device,
      record.nonce.toString(),
      record.epoch.toString(),
      record.kind,
      digest.toLowerCase(),
      JSON.stringify(toProofJson(record)),
      receivedAt,
    );
    return info.changes === 1 ? "inserted" : "duplicate";
  }

  /** The proofs of `epoch`, in the order they were stored. */
  byEpoch(epoch: bigint): StoredProof[] {
    return this.byEpochStmt.all(epoch.toString()).map((row) => ({
      record: parseProofRecord(JSON.parse(row.body)),
      digest: row.digest,
      receivedAt: row.received_at,
    }));
  }

  /**
   * Up to `limit` proofs of `epoch` with an id above `afterId`, by id ascending. Ids only grow (rows are never
   * deleted), so paging with `next` from page to page, now or later, sees every proof of the epoch exactly once.
   */
  page(epoch: bigint, afterId: number, limit: number): ProofPage {
    if (!Number.isSafeInteger(afterId) || afterId < 0) throw new RangeError("afterId must be a non-negative integer");
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError("limit must be a positive integer");
    const rows = this.pageStmt.all(epoch.toString(), afterId, limit);
    return {
      proofs: rows.map((row) => ({ id: row.id, body: row.body, digest: row.digest })),
      next: rows.length === 0 ? afterId : rows[rows.length - 1].id,
    };
  }

  /** Digest of the stored proof of `device` (checksummed) with `nonce`, or null. */
  digestOf(device: string, nonce: bigint): string | null {
    return this.digestStmt.get(device, nonce.toString())?.digest ?? null;
  }

  /** The number of stored proofs of `epoch`. */
  countByEpoch(epoch: bigint): number {
    return this.countByEpochStmt.get(epoch.toString())?.n ?? 0;
  }

  count(): number {
    return this.countStmt.get()?.n ?? 0;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
