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
 * Store faults (full disk, store file gone) refuse, they never acknowledge: a failed commit rejects its group with
 * `StoreUnavailableError` and the next group is tried afresh, so the store recovers by itself once space is back.
 * SQLite in WAL mode keeps writing through its open file descriptors when the store file (or its directory) is moved
 * or deleted under it: those commits would land in an orphaned inode and be gone after a restart, although they were
 * acknowledged. So every group commit first checks that the path still names the files this store opened (`dev` and
 * `ino` of the database and of its `-wal`), and refuses with `StoreUnavailableError` while it does not (writes resume
 * if the same files come back, e.g. a volume re-mounted at the path).
 *
 * Equivocation: a device may sign two different proofs under one nonce and send one to each oracle. If each oracle
 * kept the first it got (and skipped the other as a duplicate in sync), their proof sets, hence their verdicts, would
 * differ for good, and a few such devices could split the committee below its quorum. So an insert from a peer
 * (`keepSmaller`) settles two proofs with the same (device, nonce) by keeping the one with the SMALLER digest, in
 * whatever order they arrive: the larger is a 'duplicate', the smaller replaces it ('replaced', under a new id so that
 * peers' sync cursors serve it again). A device itself gets no second proof in under a used nonce (a replay).
 *
 * uint64 fields (epoch, nonce) are stored as canonical decimal TEXT (SQLite integers are signed 64-bit); the body
 * is the record's JSON wire form (`toProofJson`), re-validated by `parseProofRecord` when read.
 */
import Database from "better-sqlite3";
import { statSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { parseProofRecord } from "../proof/parse";
import { toProofJson } from "../proof/wire";
import type { ProofRecord } from "../proof/kinds";
import { StoreUnavailableError } from "./errors";

export type InsertResult = "inserted" | "replaced" | "duplicate";

export interface InsertOptions {
  /** Of two proofs under one (device, nonce), keep the smaller digest (proofs from peers; see the top). */
  keepSmaller?: boolean;
}

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
  keepSmaller: boolean;
  resolve: (result: InsertResult) => void;
  reject: (error: StoreUnavailableError) => void;
}

/** Identity of a file on disk: moving or replacing a path changes what `statSync(path)` reports. */
interface FileId {
  /** What the file is, for messages (clients see them: no path). */
  role: string;
  path: string;
  dev: number;
  ino: number;
}

function fileId(role: string, path: string): FileId | null {
  try {
    const st = statSync(path);
    return { role, path, dev: st.dev, ino: st.ino };
  } catch {
    return null;
  }
}

/** SQLite's default `max_page_count` (the largest page count it allows). */
const DEFAULT_MAX_PAGE_COUNT = 4294967294;

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
  private readonly storedStmt: Database.Statement<[string, string], { body: string; digest: string }>;
  private readonly replaceStmt: Database.Statement<[string, number, string, string, number, string, string]>;
  private readonly versionStmt: Database.Statement<[string], { n: number; last: number }>;
  private readonly insertGroup: (group: PendingInsert[]) => InsertResult[];
  private pending: PendingInsert[] = [];
  private commitScheduled = false;
  private groups = 0;
  /** Why the last group commit failed; null once one succeeds. */
  private lastFailure: string | null = null;
  /** The files opened at `path` (database, then its WAL); empty for an in-memory store. */
  private readonly files: FileId[] = [];

  /** Opens (creating if needed) the store at `path`; `:memory:` for a throwaway store. */
  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.exec(SCHEMA);
    if (path !== ":memory:" && path !== "" && !path.startsWith("file:")) {
      const absolute = resolvePath(path);
      for (const [role, p] of [
        ["database", absolute],
        ["WAL", `${absolute}-wal`],
      ] as const) {
        const id = fileId(role, p);
        if (id !== null) this.files.push(id);
      }
    }
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
    this.storedStmt = this.db.prepare("SELECT body, digest FROM proofs WHERE device = ? AND nonce = ?");
    // The row moves to a new, highest id (a deleted last rowid would be reused, and peers' cursors passed it).
    this.replaceStmt = this.db.prepare(
      `UPDATE proofs SET id = (SELECT MAX(id) + 1 FROM proofs), epoch = ?, kind = ?, digest = ?, body = ?,
       received_at = ? WHERE device = ? AND nonce = ?`,
    );
    this.versionStmt = this.db.prepare("SELECT COUNT(*) AS n, COALESCE(MAX(id), 0) AS last FROM proofs WHERE epoch = ?");
    // BEGIN ... COMMIT around the group; better-sqlite3 rolls back if a statement throws.
    this.insertGroup = this.db.transaction((group: PendingInsert[]) =>
      group.map((p) => this.insertRow(p.record, p.digest, p.receivedAt, p.keepSmaller)),
    );
  }

  private insertRow(record: ProofRecord, digest: string, receivedAt: number, keepSmaller: boolean): InsertResult {
    const nonce = record.nonce.toString();
    const lower = digest.toLowerCase();
    const body = JSON.stringify(toProofJson(record));
    const row = [record.device, nonce, record.epoch.toString(), record.kind, lower, body, receivedAt] as const;
    if (this.insertStmt.run(...row).changes === 1) return "inserted";
    if (!keepSmaller) return "duplicate";
    // Equivocation (see the top of this file): the smaller digest wins, in every store.
    const stored = this.digestStmt.get(record.device, nonce)?.digest;
    if (stored === undefined || stored <= lower) return "duplicate";
    this.replaceStmt.run(record.epoch.toString(), record.kind, lower, body, receivedAt, record.device, nonce);
    return "replaced";
  }

  /**
   * Stores `record` under `digest` (its EIP-712 digest). Returns 'duplicate', storing nothing, when the same proof or
   * another one with the same (device, nonce) is already there (a replay); with `keepSmaller` (a proof from a peer),
   * a stored one with a larger digest is 'replaced' instead. Committed and synced when it returns.
   */
  insert(
    record: ProofRecord,
    digest: string,
    receivedAt: number = Date.now(),
    options: InsertOptions = {},
  ): InsertResult {
    const problem = this.fileProblem();
    if (problem !== null) throw new StoreUnavailableError(`insert failed: ${problem}; not stored`);
    return this.insertRow(record, digest, receivedAt, options.keepSmaller ?? false);
  }

  /**
   * Like `insert`, with group commit (see the top of this file): queued, committed with every other insert requested
   * in this event-loop turn in one transaction, and resolved once that transaction is committed and synced. Rejects
   * with `StoreUnavailableError` (nothing of the group stored) if the commit fails or the store is closed.
   */
  insertGrouped(
    record: ProofRecord,
    digest: string,
    receivedAt: number = Date.now(),
    options: InsertOptions = {},
  ): Promise<InsertResult> {
    if (!this.db.open) return Promise.reject(new StoreUnavailableError("proof store is closed"));
    return new Promise((resolve, reject) => {
      this.pending.push({ record, digest, receivedAt, keepSmaller: options.keepSmaller ?? false, resolve, reject });
      if (!this.commitScheduled) {
        this.commitScheduled = true;
        // setImmediate runs after this turn's I/O callbacks: every request parsed in this turn joins the group.
        setImmediate(() => this.commitPending());
      }
    });
  }

  /**
   * Null while the path still names the files this store opened; else why writes are refused (see the top of this
   * file). One `stat` per file, once per group commit.
   */
  private fileProblem(): string | null {
    for (const f of this.files) {
      const now = fileId(f.role, f.path);
      if (now === null) return `the store's ${f.role} file is gone from its path (moved or deleted)`;
      if (now.dev !== f.dev || now.ino !== f.ino) return `the store's ${f.role} file was replaced by another file`;
    }
    return null;
  }

  /**
   * Caps the database at `pages` pages (SQLite's `max_page_count`; `null` restores the default). A write that needs a
   * page beyond it fails with SQLITE_FULL exactly as on a full disk, so tests use it to fill the "disk" and free it
   * again without touching the file system. Applies to this store's connection only (the pragma is per connection);
   * SQLite never sets it below the current size. Returns the cap in effect.
   */
  setMaxPageCount(pages: number | null): number {
    if (pages !== null && (!Number.isSafeInteger(pages) || pages < 1)) {
      throw new RangeError("pages must be a positive integer");
    }
    return this.db.pragma(`max_page_count = ${pages ?? DEFAULT_MAX_PAGE_COUNT}`, { simple: true }) as number;
  }

  /**
   * Whether the store takes writes, as far as it knows without writing: the path still names its files, and the
   * last group commit did not fail (else the reason, e.g. "database or disk is full"). For a health check: reads keep
   * working while writes are refused.
   */
  writeStatus(): { ok: true } | { ok: false; reason: string } {
    if (!this.db.open) return { ok: false, reason: "proof store is closed" };
    const reason = this.fileProblem() ?? this.lastFailure;
    return reason === null ? { ok: true } : { ok: false, reason };
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
      const problem = this.fileProblem();
      if (problem !== null) throw new Error(problem);
      results = this.insertGroup(group);
      this.groups += 1;
      this.lastFailure = null;
    } catch (cause) {
      this.lastFailure = cause instanceof Error ? cause.message : String(cause);
      const reason = cause instanceof Error ? `: ${cause.message}` : "";
      const error = new StoreUnavailableError(`commit of ${group.length} proofs failed${reason}; none stored`, {
        cause,
      });
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
  /** The stored wire JSON and digest of the proof with this (device, nonce), or null. */
  storedAt(device: string, nonce: bigint): { body: string; digest: string } | null {
    return this.storedStmt.get(device, nonce.toString()) ?? null;
  }

  /** How many proofs `epoch` has, and the highest id among them: both stay put only while its set is unchanged. */
  epochVersion(epoch: bigint): { count: number; lastId: number } {
    const row = this.versionStmt.get(epoch.toString());
    return { count: row?.n ?? 0, lastId: row?.last ?? 0 };
  }

  countByEpoch(epoch: bigint): number {
    return this.epochVersion(epoch).count;
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
