/**
 * `runAgent`: the loop of a real device agent (one device, one process; `main.ts` is its command line).
 *
 * Every `pollMs` (default 1 s) it reads chain time (`ChainTime`, the clock the oracles and contracts use) and, for the
 * open epoch e, sends e's proofs ONCE, as one batch, when all of these hold:
 * - e's seed is recorded (`EpochSeed.hasSeed(e)`): challenges are drawn from it;
 * - chain time is within the last `sendBeforeEndS` seconds (default 300) of e, or e has already ended (the agent was
 *   running during e but a time jump skipped the window: e is still accepted as the oracles' grace epoch). An agent
 *   started late in an epoch sends at once.
 * Proofs are built for the window `agentWindow(epochWindow, now)` = [start, min(end, now + 1)), so every timestamp
 * lies in the epoch and none is in the future (ingest rejects future timestamps). The batch goes to the first oracle
 * of the list that answers; an epoch whose batch no oracle took is retried every `retryMs` while it is still open or
 * in grace.
 *
 * Rewards: once an epoch's verdict is final on-chain (`OracleHub.getVerdict(e).status == Finalised`), the agent reads
 * `GET <oracle>/v1/verdicts/<e>/file`, checks its rewards root against the chain, and prints the device's cumulative
 * reward there (what the operator can claim in total).
 *
 * Storage data (`capacityStore`): the verifier challenges indexes in [0, capacity x 262 144) (`STORAGE_CHUNKS_PER_GIB`
 * 4 KiB chunks per declared GiB), so the committed data must have exactly that many chunks. The folder's bytes (in
 * the `storage-folder.ts` layout: files sorted by path, concatenated) are the first chunks; the rest of the declared
 * capacity is zero chunks, as if the folder's data were followed by zero bytes up to the capacity (chunks are
 * zero-padded on the wire anyway, `chunkAt`). The root and paths equal `memoryStore` over that padded data, but only
 * the folder's chunks are hashed one by one: zero subtrees are hashed once per level. This proves retrievability of
 * the folder's data; the padding proves nothing (no sealing here, as for the simulator's `periodicStore`).
 */
import type { Provider, TypedDataDomain } from "ethers";

import type { ProtocolContracts } from "../../sdk/deployment";
import { ResourceClass } from "../../sdk/enums";
import { ChainTime, epochWindow } from "../chain/clock";
import { toProofJson, type ProofRecord } from "../proof";
import { STORAGE_CHUNKS_PER_GIB } from "../verify/epoch";
import type { EpochWindow } from "../verify/mapping";
import {
  STORAGE_CHUNK_SIZE,
  STORAGE_PAD_NODE,
  chunkAt,
  chunkLeaves,
  hashPair,
} from "../verify/storage";
import type { ChunkStore } from "./chunks";
import type { Device } from "./device";

/** Default: proofs are sent in the last 300 s of an epoch. */
export const DEFAULT_SEND_BEFORE_END_S = 300;
/** `OracleHub` `VerdictStatus.Finalised`. */
export const VERDICT_FINALISED = 3n;

/** Classes an agent on one ordinary machine can really serve. */
export const AGENT_CLASSES: ReadonlySet<ResourceClass> = new Set([
  ResourceClass.Storage,
  ResourceClass.ComputeCpu,
  ResourceClass.ComputeGpu,
]);

/* STORAGE DATA */

/** 4 KiB chunks committed for a declared storage capacity in GiB. */
export function committedChunks(capacityGiB: bigint): number {
  const count = capacityGiB * STORAGE_CHUNKS_PER_GIB;
  if (capacityGiB <= 0n || count > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(
      `storage capacity must be positive and below 2^53 chunks: ${capacityGiB} GiB`,
    );
  }
  return Number(count);
}

/** One level of the padded tree: explicit nodes first, then `filler` repeated, the last node `last`. */
interface PaddedLevel {
  count: number;
  explicit: string[];
  filler: string;
  last: string;
}

const nodeAt = (level: PaddedLevel, i: number): string =>
  i < level.explicit.length
    ? level.explicit[i]
    : i === level.count - 1
      ? level.last
      : level.filler;

/**
 * `data` followed by zero chunks up to `chunkCount` chunks (module comment). Root and paths equal those of
 * `memoryStore` over `data` zero-padded to `chunkCount · 4096` bytes. Throws RangeError on empty data or data
 * larger than `chunkCount` chunks.
 */
export function capacityStore(
  data: Uint8Array,
  chunkCount: number,
): ChunkStore {
  if (data.length === 0) throw new RangeError("empty data has no commitment");
  if (!Number.isSafeInteger(chunkCount) || chunkCount <= 0)
    throw new RangeError("chunkCount must be positive");
  const dataChunks = Math.ceil(data.length / STORAGE_CHUNK_SIZE);
  if (dataChunks > chunkCount) {
    throw new RangeError(
      `${data.length} bytes need ${dataChunks} chunks, more than the ${chunkCount} committed`,
    );
  }
  const zero = new Uint8Array(STORAGE_CHUNK_SIZE);
  const packed = chunkLeaves(data);
  const leaves: string[] = [];
  for (let i = 0; i < dataChunks; i++)
    leaves.push(
      `0x${Buffer.from(packed.subarray(i * 32, (i + 1) * 32)).toString("hex")}`,
    );
  const zeroLeaf = chunkLeaves(zero);
  const zeroHex = `0x${Buffer.from(zeroLeaf).toString("hex")}`;
  const levels: PaddedLevel[] = [
    {
      count: chunkCount,
      explicit: leaves,
      filler: zeroHex,
      last: dataChunks === chunkCount ? leaves[dataChunks - 1] : zeroHex,
    },
  ];
  for (
    let level = levels[0];
    level.count > 1;
    level = levels[levels.length - 1]
  ) {
    const count = Math.ceil(level.count / 2);
    const pair = (j: number): string =>
      hashPair(
        nodeAt(level, 2 * j),
        2 * j + 1 < level.count ? nodeAt(level, 2 * j + 1) : STORAGE_PAD_NODE,
      );
    const explicit = Array.from(
      { length: Math.ceil(level.explicit.length / 2) },
      (_, j) => pair(j),
    );
    // Nodes past the explicit ones and before the last have two filler children (see the tests for the edge cases).
    levels.push({
      count,
      explicit,
      filler: hashPair(level.filler, level.filler),
      last: pair(count - 1),
    });
  }
  const root = nodeAt(levels[levels.length - 1], 0);
  const check = (index: number): void => {
    if (!Number.isSafeInteger(index) || index < 0 || index >= chunkCount)
      throw new RangeError(`no chunk ${index}`);
  };
  return {
    dataRoot: root,
    chunkCount,
    chunk(index) {
      check(index);
      return index < dataChunks ? chunkAt(data, index) : zero;
    },
    proof(index) {
      check(index);
      const path: string[] = [];
      let at = index;
      for (let d = 0; d < levels.length - 1; d++) {
        const sibling = at ^ 1;
        path.push(
          sibling >= levels[d].count
            ? STORAGE_PAD_NODE
            : nodeAt(levels[d], sibling),
        );
        at = Math.floor(at / 2);
      }
      return path;
    },
  };
}

/* PROOFS */

/** The window an agent builds its proofs for at chain time `now`: [start, min(end, now + 1)), never in the future. */
export function agentWindow(window: EpochWindow, now: bigint): EpochWindow {
  const cap = Number(now) + 1;
  return {
    start: window.start,
    end: Math.max(window.start + 1, Math.min(window.end, cap)),
  };
}

/** Whether an epoch with `window` is due at `now`: in its last `sendBeforeEndS` seconds, or already over. */
export function isDue(
  window: EpochWindow,
  now: bigint,
  sendBeforeEndS: number,
): boolean {
  return Number(now) >= window.end - sendBeforeEndS;
}

/** The honest proofs of `epoch` as `device` makes them at chain time `now` (timestamps never after `now`). */
export function epochProofs(
  device: Device,
  ctx: {
    epoch: bigint;
    seed: string;
    window: EpochWindow;
    domain: TypedDataDomain;
  },
  now: bigint,
): ProofRecord[] {
  return device.proofs({
    epoch: ctx.epoch,
    seed: ctx.seed,
    domain: ctx.domain,
    window: agentWindow(ctx.window, now),
  });
}

/* ORACLES */

/** What one batch POST achieved. */
export interface BatchOutcome {
  oracle: string;
  sent: number;
  accepted: number;
  /** Distinct error codes of the rejected items, e.g. "future_timestamp". */
  errors: string[];
}

type FetchFn = typeof fetch;

/** Sends `proofs` to the first oracle that answers with a batch result. Throws if none does. */
export async function postBatch(
  oracles: readonly string[],
  proofs: readonly ProofRecord[],
  fetchFn: FetchFn = fetch,
): Promise<BatchOutcome> {
  const body = JSON.stringify(proofs.map(toProofJson));
  const failures: string[] = [];
  for (const oracle of oracles) {
    try {
      const response = await fetchFn(`${trimUrl(oracle)}/v1/proofs/batch`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(15_000),
      });
      if (!response.ok) {
        failures.push(`${oracle}: HTTP ${response.status}`);
        continue;
      }
      const json = (await response.json()) as {
        results?: { accepted: boolean; error?: string }[];
      };
      const results = json.results ?? [];
      return {
        oracle,
        sent: proofs.length,
        accepted: results.filter((r) => r.accepted).length,
        errors: [
          ...new Set(
            results
              .filter((r) => !r.accepted)
              .map((r) => r.error ?? "rejected"),
          ),
        ],
      };
    } catch (error) {
      failures.push(`${oracle}: ${reasonOf(error)}`);
    }
  }
  throw new Error(`no oracle took the batch (${failures.join("; ")})`);
}

/** Whether `oracle` answers GET /health. */
export async function oracleAlive(
  oracle: string,
  fetchFn: FetchFn = fetch,
): Promise<boolean> {
  try {
    const response = await fetchFn(`${trimUrl(oracle)}/health`, {
      signal: AbortSignal.timeout(5_000),
    });
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * The device's cumulative reward in the verdict file of `epoch` (0 when the file has no entry for it), from the first
 * oracle that serves a file whose rewards root is `rewardsRoot`; null if none does.
 */
export async function cumulativeReward(
  oracles: readonly string[],
  epoch: bigint,
  rewardsRoot: string,
  device: string,
  fetchFn: FetchFn = fetch,
): Promise<{ oracle: string; cumulative: bigint } | null> {
  for (const oracle of oracles) {
    try {
      const response = await fetchFn(
        `${trimUrl(oracle)}/v1/verdicts/${epoch}/file`,
        {
          signal: AbortSignal.timeout(10_000),
        },
      );
      if (!response.ok) continue;
      const file = (await response.json()) as {
        rewardsRoot?: string;
        rewards?: { device: string; cumulative: string }[];
      };
      if (file.rewardsRoot?.toLowerCase() !== rewardsRoot.toLowerCase())
        continue;
      const entry = (file.rewards ?? []).find(
        (r) => r.device.toLowerCase() === device.toLowerCase(),
      );
      return {
        oracle,
        cumulative: entry === undefined ? 0n : BigInt(entry.cumulative),
      };
    } catch {
      // try the next oracle
    }
  }
  return null;
}

/* THE LOOP */

export interface AgentOptions {
  device: Device;
  provider: Provider;
  contracts: Pick<ProtocolContracts, "config" | "seeds" | "hub">;
  /** EIP-712 domain of proofs (`proofDomain(chainId, registry)`). */
  domain: TypedDataDomain;
  /** Oracle base URLs, in order of preference. */
  oracles: readonly string[];
  /** Send in the last this many seconds of an epoch (default `DEFAULT_SEND_BEFORE_END_S`). */
  sendBeforeEndS?: number;
  /** Milliseconds between loop ticks (default 1000). */
  pollMs?: number;
  /** Milliseconds between retries of a batch no oracle took, and between verdict checks (default 5000). */
  retryMs?: number;
  /** Where the one-line log goes (default stdout). */
  log?: (line: string) => void;
  fetch?: FetchFn;
}

/** Epochs after this many without a final verdict are no longer watched for rewards. */
const WATCH_EPOCHS = 20n;

/** Runs until `signal` aborts; resolves then. Errors of one tick are logged and the loop goes on. */
export async function runAgent(
  options: AgentOptions,
  signal: AbortSignal,
): Promise<void> {
  const { device, contracts, oracles } = options;
  const log =
    options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const fetchFn = options.fetch ?? fetch;
  const sendBeforeEndS = options.sendBeforeEndS ?? DEFAULT_SEND_BEFORE_END_S;
  const pollMs = options.pollMs ?? 1_000;
  const retryMs = options.retryMs ?? 5_000;
  const [genesis, epochLength] = await Promise.all([
    contracts.config.genesis(),
    contracts.config.epochLength(),
  ]);
  const time = new ChainTime(options.provider, { pollMs });
  await time.start();

  const epochAt = (now: bigint): bigint | null =>
    now < genesis ? null : (now - genesis) / epochLength;
  const startEpoch = epochAt(time.now());
  const sent = new Set<bigint>();
  const watching = new Set<bigint>();
  const nextTry = new Map<bigint, number>();
  let lastError = "";

  const tick = async (): Promise<void> => {
    const now = time.now();
    const current = epochAt(now);
    if (current === null) return;
    const candidates = [current - 1n, current].filter(
      (e) => e >= 0n && startEpoch !== null && e >= startEpoch,
    );
    for (const epoch of candidates) {
      if (sent.has(epoch) || (nextTry.get(epoch) ?? 0) > Date.now()) continue;
      const window = epochWindow(genesis, epochLength, epoch);
      if (
        !isDue(window, now, sendBeforeEndS) ||
        !(await contracts.seeds.hasSeed(epoch))
      )
        continue;
      const seed = await contracts.seeds.seedOf(epoch);
      const proofs = epochProofs(
        device,
        { epoch, seed, window, domain: options.domain },
        now,
      );
      try {
        const out = await postBatch(oracles, proofs, fetchFn);
        const rejected =
          out.errors.length > 0 ? ` (rejected: ${out.errors.join(", ")})` : "";
        log(
          `epoch ${epoch}: ${out.sent} proofs sent to ${out.oracle}, ${out.accepted} accepted${rejected}`,
        );
        sent.add(epoch);
        watching.add(epoch);
      } catch (error) {
        nextTry.set(epoch, Date.now() + retryMs);
        log(`epoch ${epoch}: ${reasonOf(error)}; retrying`);
      }
    }
    for (const epoch of [...watching].sort((a, b) => (a < b ? -1 : 1))) {
      if (epoch >= current) continue;
      if (epoch + WATCH_EPOCHS < current) {
        watching.delete(epoch);
        log(
          `epoch ${epoch}: no final verdict after ${WATCH_EPOCHS} epochs; no longer watching`,
        );
        continue;
      }
      const key = -1n - epoch; // verdict checks share `nextTry` with sends under negative keys
      if ((nextTry.get(key) ?? 0) > Date.now()) continue;
      nextTry.set(key, Date.now() + retryMs);
      const record = await contracts.hub.getVerdict(epoch);
      if (BigInt(record.status) !== VERDICT_FINALISED) continue;
      const reward = await cumulativeReward(
        oracles,
        epoch,
        record.rewardsRoot,
        device.address,
        fetchFn,
      );
      if (reward === null) continue;
      watching.delete(epoch);
      log(
        `epoch ${epoch}: verdict final, cumulative reward of ${device.address}: ${formatMesh(reward.cumulative)} MESH`,
      );
    }
  };

  try {
    while (!signal.aborted) {
      try {
        await tick();
        lastError = "";
      } catch (error) {
        const line = reasonOf(error);
        if (line !== lastError) log(`error: ${line}`); // logged once until it changes or clears
        lastError = line;
      }
      await sleep(pollMs, signal);
    }
  } finally {
    time.stop();
  }
}

/** A MESH amount (18 decimals) in decimal, trailing zeros trimmed. */
export function formatMesh(wei: bigint): string {
  const whole = wei / 10n ** 18n;
  const frac = (wei % 10n ** 18n)
    .toString()
    .padStart(18, "0")
    .replace(/0+$/, "");
  return frac === "" ? whole.toString() : `${whole}.${frac}`;
}

function trimUrl(url: string): string {
  return url.replace(/\/+$/, "");
}

function reasonOf(error: unknown): string {
  if (error instanceof Error) {
    const short = (error as Error & { shortMessage?: unknown }).shortMessage;
    const cause = error.cause as { code?: unknown } | undefined;
    const text = typeof short === "string" ? short : error.message;
    return typeof cause?.code === "string" ? `${text} (${cause.code})` : text;
  }
  return String(error);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
