/**
 * `ProofStore`: the durable hand-off between ingest and verify, on embedded SQLite (better-sqlite3).
 *
 * Durability: WAL journal with `synchronous = FULL`, so every commit is fsynced to the WAL before it is reported.
 * Ingest acknowledges (202) only once its proof is committed, so an acknowledged proof survives a crash or a power
 * loss. (`NORMAL` in WAL mode would stay consistent but could lose the last acknowledged proofs on power loss.)
 *
 * Group commit (`insertGrouped`): the inserts requested within one event-loop turn (concurrent requests, the items
 * of a batch) are committed in ONE transaction, so one fsync per group instead of one per proof. Each caller's
 * promise resolves only after that commit, so the guarantee above is unchanged: nothing is acknowledged before it
 * is on disk. Inside a group the rows are inserted in request order, so duplicates behave exactly as one by one (the
 * first is stored, a later one is 'duplicate'). If the commit fails the transaction is rolled back, nothing of the
 * group is stored and every caller's promise rejects with `StoreUnavailableError` (HTTP 503).
 *
 * uint64 fields (epoch, nonce) are stored as canonical decimal TEXT (SQLite integers are signed 64-bit); the body
 * is the record's JSON wire form (`toProofJson`), re-validated by `parseProofRecord` when read.
 */
import Database from "better-sqlite3";
import { parseProofRecord } from "../proof/parse";
import { toProofJson } from "../proof/wire";
import type { ProofRecord } from "../proof/kinds";
import { StoreUnavailableError } from "./errors";

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

interface PendingInsert {
  record: ProofRecord;
  digest: string;
  receivedAt: number;
  resolve: (result: InsertResult) => void;
  reject: (error: StoreUnavailableError) => void;
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
  private readonly insertGroup: (group: PendingInsert[]) => InsertResult[];
  private pending: PendingInsert[] = [];
  private commitScheduled = false;
  private groups = 0;

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
    // BEGIN ... COMMIT around the group; better-sqlite3 rolls back if a statement throws.
    this.insertGroup = this.db.transaction((group: PendingInsert[]) =>
      group.map((p) => this.insertRow(p.record, p.digest, p.receivedAt)),
    );
  }

  private insertRow(record: ProofRecord, digest: string, receivedAt: number): InsertResult {
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

  /**
   * Stores `record` under `digest` (its EIP-712 digest). Returns 'duplicate', storing nothing, when a proof with the
   * same (device, nonce) or the same digest is already there (a replay). Committed and synced when it returns.
   */
  insert(record: ProofRecord, digest: string, receivedAt: number = Date.now()): InsertResult {
    return this.insertRow(record, digest, receivedAt);
  }

  /**
   * Like `insert`, with group commit (see the top of this file): queued, committed with every other insert requested
   * in this event-loop turn in one transaction, and resolved once that transaction is committed and synced. Rejects
   * with `StoreUnavailableError` (nothing of the group stored) if the commit fails or the store is closed.
   */
  insertGrouped(record: ProofRecord, digest: string, receivedAt: number = Date.now()): Promise<InsertResult> {
    if (!this.db.open) return Promise.reject(new StoreUnavailableError("proof store is closed"));
    return new Promise((resolve, reject) => {
      this.pending.push({ record, digest, receivedAt, resolve, reject });
      if (!this.commitScheduled) {
        this.commitScheduled = true;
        // setImmediate runs after this turn's I/O callbacks: every request parsed in this turn joins the group.
        setImmediate(() => this.commitPending());
      }
    });
  }

  /** Number of group commits so far (a metric, and what the tests check). */
  get groupCommits(): number {
    return this.groups;
  }

  private commitPending(): void {
    this.commitScheduled = false;
    const group = this.pending;
    this.pending = [];
    if (group.length === 0) return;
    let results: InsertResult[];
    try {
      if (!this.db.open) throw new Error("proof store is closed");
      results = this.insertGroup(group);
      this.groups += 1;
    } catch (cause) {
      const error = new StoreUnavailableError(`commit of ${group.length} proofs failed; none stored`, { cause });
      for (const p of group) p.reject(error);
      return;
    }
    for (let i = 0; i < group.length; i++) group[i].resolve(results[i]);
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

  /** Commits the inserts still queued, then closes. */
  close(): void {
    this.commitPending();
    if (this.db.open) this.db.close();
  }
}
