/**
 * `EpochDriver`: the oracle's epoch loop on chain time (verify -> aggregate -> submit, then settle). One `tick` at a
 * time, every `pollMs`:
 *
 * 1. **Seed.** If the current epoch has no seed yet, record it (EpochSeed.recordSeed).
 * 2. **Submit**, epoch by epoch from the oldest without a verdict, once the epoch has closed (a block after its end
 *    exists, so every oracle reads chain state at the same reference block):
 *    pull the epoch's proofs from every peer, verify and aggregate them (with the Marketplace's leases of the epoch)
 *    on top of the previous submitted verdict's cumulative rewards and lease deliveries, keep the verdict file, sign
 *    the verdict, share the signature with the peers, and relay the verdict once `threshold` committee members signed
 *    the same digest. While the epoch has no verdict on-chain the pull is repeated every tick and the verdict
 *    recomputed (and re-signed) whenever new proofs arrived, so oracles converge on the union of what any of them
 *    acknowledged.
 * 3. **Settle**, epoch by epoch: finalise a pending verdict once its challenge window has passed, expire an unruled
 *    dispute, and apply the faults of a finalised verdict (OracleHub.applyFault with the Merkle proofs of its file).
 *
 * Who sends the transactions: every action has a rotation (`turnOf`, starting at member `epoch mod n`); the member
 * whose turn is k acts `k x staggerMs` after the action became due, and only if nobody did it yet, so one oracle
 * normally acts and a dead one is replaced by the next. Every action re-reads the chain first and treats "already
 * done" reverts as success: retries are idempotent and nothing is submitted twice.
 *
 * Faults of the chain endpoint (timeouts, HTTP 5xx, JSON-RPC errors, lost answers):
 * - every RPC request is bounded (`rpcTimeoutMs`, server.ts) and a receipt is awaited at most `txTimeoutMs`; a failure
 *   anywhere fails the tick, and the next tick starts over from chain state;
 * - failed ticks back off exponentially with jitter (`backoffDelay`: pollMs x 2^k, capped at `maxBackoffMs`, reset by
 *   the first tick that succeeds); a streak is logged once when it starts (warn) and once when it ends (info), every
 *   failure in between at debug, and GET /metrics shows the failures, the current streak and the current delay;
 * - no double submission: every action re-reads the chain before acting (a transaction that landed although its
 *   answer was lost is seen as done), the transaction is signed here so its hash is known before it is broadcast, and
 *   an action whose previous transaction is still pending waits for that transaction instead of sending another.
 *
 * Restarts: cursors start again from the latest finalised epoch (faults already applied are skipped by
 * `Slashing.penalised`), and verdict files, own verdicts and signatures come back from the VerdictStore.
 */
import { ethers, Transaction, type ContractTransaction, type Signer, type TypedDataDomain } from "ethers";
import type { Logger } from "pino";

import { Param, VerdictStatus } from "../../sdk/enums";
import { hubDomain, signVerdict, verdictDigest, verdictToJson, type EpochVerdict } from "../../sdk/verdict";
import {
  aggregateEpoch,
  leasesOfVerdictFile,
  verdictFileDataHash,
  type LeaseCumulative,
  type LeaseState,
} from "../aggregate";
import {
  epochWindow,
  isRevert,
  readEpochState,
  readLeases,
  type ChainTime,
  type DeviceIndex,
  type LeaseSource,
  type ProtocolContracts,
} from "../chain";
import { MeshworkError } from "../proof/errors";
import { lastMeterReadings, verifyEpoch, type EpochDevice } from "../verify/epoch";
import { quorumSignatures, turnOf } from "./quorum";
import type { ProofStore } from "./store";
import type { Peer, PeerSync } from "./sync";
import type { CommitteeInfo } from "./verdict-routes";
import type { VerdictStore } from "./verdict-store";

/** `Slashing.faultId`: keccak256(abi.encode(device, kind, epoch)). */
export function faultId(device: string, kind: number, epoch: bigint): string {
  return ethers.keccak256(
    ethers.AbiCoder.defaultAbiCoder().encode(["address", "uint8", "uint64"], [device, kind, epoch]),
  );
}

/** The previous verdict's file is needed and neither this oracle nor any peer has it (yet). */
export class MissingVerdictFileError extends MeshworkError {}

/** A transaction this oracle sent was mined but reverted (the next tick re-reads the chain and decides again). */
export class TransactionRevertedError extends MeshworkError {}

/**
 * Delay before the next tick after `failures` consecutive failed ticks (0: the tick succeeded, `baseMs`): exponential,
 * `baseMs x 2^failures` capped at `maxMs`, with "equal jitter" (a uniform draw in the upper half), so oracles that
 * failed together do not retry together, and each delay is at least the previous one until the cap.
 */
export function backoffDelay(
  failures: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  if (failures <= 0) return baseMs;
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(failures, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export interface EpochDriverOptions {
  /** Contracts connected to the oracle's signer (transactions are sent from it). */
  contracts: ProtocolContracts;
  /** The Marketplace whose leases the verdicts cover; absent or null: a deployment without one (no leases). */
  marketplace?: LeaseSource | null;
  /** The oracle key: signs verdicts and sends transactions. */
  signer: Signer;
  time: ChainTime;
  index: DeviceIndex;
  proofs: ProofStore;
  verdicts: VerdictStore;
  sync: PeerSync;
  peers: readonly Peer[];
  /** How long each member waits for the previous one in an action's rotation. */
  staggerMs: number;
  logger: Logger;
  fetch?: typeof fetch;
  /** Per-request timeout towards peers. */
  peerTimeoutMs?: number;
  /** Longest wait for a sent transaction's receipt within one tick (default 120 000). */
  txTimeoutMs?: number;
  /** Cap of the backoff after failed ticks (default 60 000). */
  maxBackoffMs?: number;
}

type Step = "advance" | "wait";

interface PreviousVerdict {
  epoch: bigint | null;
  cumulative: Map<string, bigint>;
  allocated: bigint;
  /** Cumulative delivery per lease id (none in a version-1 file). */
  leases: Map<bigint, LeaseCumulative>;
}

interface ChainClock {
  genesis: bigint;
  epochLength: bigint;
}

export class EpochDriver {
  readonly address: Promise<string>;
  private self = "";
  private domain: TypedDataDomain | undefined;
  private clock: ChainClock | undefined;
  private submitCursor = 0n;
  private settleCursor = 0n;
  private readonly dueSince = new Map<string, number>();
  private readonly committees = new Map<bigint, CommitteeInfo>();
  private readonly acked = new Set<string>();
  private readonly warned = new Set<string>();
  /** Counters for GET /metrics. */
  private readonly counters = {
    computed: 0,
    transactions: new Map<string, number>(),
    reverted: new Map<string, number>(),
    lastSubmitted: -1n,
    failedTicks: 0,
    streaks: 0,
  };
  /** Consecutive failed ticks, the delay before the next tick (0 when healthy), and when the streak began. */
  private readonly backoff = { streak: 0, delayMs: 0, since: 0 };
  /** Per action key, the hash of this oracle's last transaction for it whose receipt was not seen yet. */
  private readonly inflight = new Map<string, { hash: string; at: number }>();
  /** Per epoch, the highest proof id when this oracle last computed (or, after a restart, first reused) its verdict. */
  private readonly computedAt = new Map<bigint, number>();
  /** Per epoch, its leases and SlaBreachEpochs as read at its reference block (they do not change; pruned on advance). */
  private readonly leaseInputs = new Map<bigint, { leases: LeaseState[]; slaBreachEpochs: number }>();
  /** Fault ids known to be penalised (they stay so). */
  private readonly penalised = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: EpochDriverOptions) {
    this.address = options.signer.getAddress();
  }

  /** Reads the epoch clock and the hub's domain, and places the cursors after the latest finalised epoch. */
  async init(): Promise<void> {
    const { config, hub } = this.options.contracts;
    this.self = await this.address;
    const [genesis, epochLength, network, latest] = await Promise.all([
      config.genesis(),
      config.epochLength(),
      hub.runner!.provider!.getNetwork(),
      hub.latestFinalised(),
    ]);
    this.clock = { genesis, epochLength };
    this.domain = hubDomain(network.chainId, await hub.getAddress());
    const start = latest.exists ? latest.epoch : 0n;
    this.submitCursor = start;
    this.settleCursor = start;
  }

  /** The hub's EIP-712 domain (after `init`). */
  verdictDomain(): TypedDataDomain {
    if (this.domain === undefined) throw new MeshworkError("EpochDriver.init() has not run");
    return this.domain;
  }

  /** The committee in force for `epoch` (cached: a committee only changes from a future epoch on). */
  async committee(epoch: bigint): Promise<CommitteeInfo> {
    const cached = this.committees.get(epoch);
    if (cached !== undefined) return cached;
    const c = await this.options.contracts.hub.committeeAt(epoch);
    const info = { members: [...c.members].map((m) => ethers.getAddress(m)), threshold: Number(c.threshold) };
    if (epoch <= this.currentEpoch()) this.committees.set(epoch, info);
    return info;
  }

  /** Digest of the verdict on-chain for `epoch`, or null. */
  async submitted(epoch: bigint): Promise<string | null> {
    const record = await this.options.contracts.hub.getVerdict(epoch);
    return Number(record.status) === VerdictStatus.None ? null : record.digest.toLowerCase();
  }

  /** The driver's counters in the Prometheus text format. */
  metrics(): string {
    const tx = [...this.counters.transactions.entries()].sort(([a], [b]) => a.localeCompare(b));
    return (
      [
        "# HELP meshwork_oracle_verdicts_computed_total Verdicts this oracle computed and signed (recomputations included).",
        "# TYPE meshwork_oracle_verdicts_computed_total counter",
        `meshwork_oracle_verdicts_computed_total ${this.counters.computed}`,
        "# HELP meshwork_oracle_transactions_total Transactions this oracle sent, by action.",
        "# TYPE meshwork_oracle_transactions_total counter",
        ...tx.map(([action, n]) => `meshwork_oracle_transactions_total{action="${action}"} ${n}`),
        "# HELP meshwork_oracle_transactions_reverted_total Transactions this oracle sent that were mined but reverted.",
        "# TYPE meshwork_oracle_transactions_reverted_total counter",
        ...[...this.counters.reverted.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([action, n]) => `meshwork_oracle_transactions_reverted_total{action="${action}"} ${n}`),
        "# HELP meshwork_oracle_submitted_epoch Latest epoch with a verdict on-chain seen by this oracle (-1: none).",
        "# TYPE meshwork_oracle_submitted_epoch gauge",
        `meshwork_oracle_submitted_epoch ${this.counters.lastSubmitted}`,
        "# HELP meshwork_oracle_tick_failures_total Epoch loop ticks that failed (chain RPC, peers, store).",
        "# TYPE meshwork_oracle_tick_failures_total counter",
        `meshwork_oracle_tick_failures_total ${this.counters.failedTicks}`,
        "# HELP meshwork_oracle_tick_failure_streaks_total Runs of consecutive failed ticks.",
        "# TYPE meshwork_oracle_tick_failure_streaks_total counter",
        `meshwork_oracle_tick_failure_streaks_total ${this.counters.streaks}`,
        "# HELP meshwork_oracle_tick_failure_streak Consecutive failed ticks now (0: the last tick succeeded).",
        "# TYPE meshwork_oracle_tick_failure_streak gauge",
        `meshwork_oracle_tick_failure_streak ${this.backoff.streak}`,
        "# HELP meshwork_oracle_tick_backoff_ms Backoff before the next tick after failures (0 when healthy).",
        "# TYPE meshwork_oracle_tick_backoff_ms gauge",
        `meshwork_oracle_tick_backoff_ms ${this.backoff.delayMs}`,
      ].join("\n") + "\n"
    );
  }

  /** Runs `tick` every `pollMs` until `stop`; after failed ticks, waits `backoffDelay` instead (module comment). */
  start(pollMs: number): void {
    const maxMs = Math.max(pollMs, this.options.maxBackoffMs ?? 60_000);
    const { logger } = this.options;
    const loop = (): void => {
      if (this.stopped) return;
      this.running = this.tick()
        .then(
          () => {
            if (this.backoff.streak > 0) {
              logger.info(
                { failures: this.backoff.streak, forMs: Date.now() - this.backoff.since },
                "epoch loop recovered",
              );
            }
            this.backoff.streak = 0;
            this.backoff.delayMs = 0;
            return pollMs;
          },
          (err: unknown) => {
            const b = this.backoff;
            // Rotation turns wait again from the next success: after a common outage every member would otherwise
            // find its turn long due and act at once (one transaction each, all but one reverting).
            this.dueSince.clear();
            b.streak += 1;
            this.counters.failedTicks += 1;
            b.delayMs = backoffDelay(b.streak, pollMs, maxMs);
            if (b.streak === 1) {
              b.since = Date.now();
              this.counters.streaks += 1;
              logger.warn({ err, retryInMs: b.delayMs }, "epoch tick failed; backing off until a tick succeeds");
            } else {
              logger.debug(
                { err: err instanceof Error ? err.message : String(err), failures: b.streak, retryInMs: b.delayMs },
                "epoch tick failed again",
              );
            }
            return b.delayMs;
          },
        )
        .then((delay) => {
          if (!this.stopped) this.timer = setTimeout(loop, delay);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: seed, submit, settle. */
  async tick(): Promise<void> {
    await this.options.time.refresh();
    const current = this.currentEpoch();
    await this.recordSeed(current);
    while (this.submitCursor < current && (await this.submit(this.submitCursor)) === "advance") this.submitCursor++;
    for (const epoch of this.leaseInputs.keys()) if (epoch < this.submitCursor) this.leaseInputs.delete(epoch);
    while (this.settleCursor < this.submitCursor && (await this.settle(this.settleCursor)) === "advance") {
      this.settleCursor++;
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Seed

  private async recordSeed(epoch: bigint): Promise<void> {
    const { seeds } = this.options.contracts;
    const now = this.options.time.now();
    if (now < this.clock!.genesis || (await seeds.hasSeed(epoch))) return;
    if (!(await this.myTurn(`seed:${epoch}`, epoch))) return;
    await this.send(
      "seed",
      `seed:${epoch}`,
      `record seed of epoch ${epoch}`,
      () => seeds.recordSeed.populateTransaction(),
      ["SeedAlreadyRecorded"],
    );
  }

  // -------------------------------------------------------------------------------------------------------------
  // Submit

  private async submit(epoch: bigint): Promise<Step> {
    const { hub, config } = this.options.contracts;
    const record = await hub.getVerdict(epoch);
    if (Number(record.status) !== VerdictStatus.None) {
      if (epoch > this.counters.lastSubmitted) this.counters.lastSubmitted = epoch;
      return "advance";
    }
    const window = epochWindow(this.clock!.genesis, this.clock!.epochLength, epoch);
    const submissionWindow = await config.param(Param.VerdictSubmissionWindow);
    if (this.options.time.now() > BigInt(window.end) + submissionWindow) {
      this.options.logger.warn(
        { epoch: epoch.toString() },
        "submission window closed without a verdict; epoch skipped",
      );
      return "advance";
    }

    const own = await this.computeIfNeeded(epoch);
    if (own === null) return "wait";
    await this.shareSignature(epoch, own.digest);

    const { members, threshold } = await this.committee(epoch);
    const signatures = quorumSignatures(this.options.verdicts.signatures(epoch), members, own.digest, threshold);
    if (signatures === null || !(await this.myTurn(`relay:${epoch}:${own.digest}`, epoch))) return "wait";
    const verdict = this.options.verdicts.fileByDigest(own.digest)!.verdict;
    await this.send(
      "relay",
      `relay:${epoch}`,
      `relay verdict of epoch ${epoch} (${signatures.length} signatures)`,
      () => hub.submitVerdict.populateTransaction(verdict, signatures),
      ["VerdictAlreadySubmitted", "EpochAlreadySettled"],
    );
    return Number((await hub.getVerdict(epoch)).status) === VerdictStatus.None ? "wait" : "advance";
  }

  /**
   * This oracle's verdict for `epoch`, computed again when the epoch's proof set grew since the last computation.
   * Null while the epoch's chain state cannot be read yet.
   */
  private async computeIfNeeded(epoch: bigint): Promise<{ digest: string } | null> {
    const { contracts, proofs, verdicts, sync, logger } = this.options;
    const report = await sync.pullEpoch(epoch);
    if (report.failedPeers.length > 0) {
      logger.debug({ epoch: epoch.toString(), failed: report.failedPeers }, "some peers did not answer the sync");
    }
    // The proof set changed if it grew, or if a proof was replaced (equivocation, store.ts: same count, new id).
    const { count: proofCount, lastId } = proofs.epochVersion(epoch);
    const own = verdicts.own(epoch);
    if (own !== null && own.proofCount === proofCount && (this.computedAt.get(epoch) ?? lastId) === lastId) {
      this.computedAt.set(epoch, lastId); // after a restart: the set the stored verdict was computed from
      return own;
    }

    const state = await readEpochState(contracts, this.options.index, epoch);
    if (state === null) return null;
    const previous = await this.previousVerdict(epoch);
    const { leases, slaBreachEpochs } = await this.leaseInput(epoch, state.referenceBlock);
    const emission = state.cumulativeEmission - previous.allocated;
    if (emission < 0n) {
      throw new MeshworkError(`previous verdicts allocated more than the emission up to epoch ${epoch}`);
    }
    const stored = proofs.byEpoch(epoch);
    const devices = new Map<string, EpochDevice>(
      state.devices.map((d) => [d.device, { resourceClass: d.resourceClass, capacity: d.capacity }]),
    );
    const outcomes = verifyEpoch({
      epoch,
      seed: state.seed ?? ethers.ZeroHash,
      window: state.window,
      devices,
      proofs: stored,
      previousReadings: epoch === 0n ? new Map() : lastMeterReadings(proofs.byEpoch(epoch - 1n)),
    });
    const result = aggregateEpoch({
      epoch,
      devices: state.devices,
      outcomes,
      emission,
      classSplitBps: state.classSplitBps,
      previous: previous.cumulative,
      leases,
      previousLeases: previous.leases,
      slaBreachEpochs,
    });
    const domain = this.verdictDomain();
    const digest = verdictDigest(domain, result.verdict).toLowerCase();
    verdicts.saveFile(digest, result.verdict, result.file);
    const { signature } = await signVerdict(this.options.signer, domain, result.verdict);
    verdicts.putSignature({ signer: this.self, digest, verdict: result.verdict, signature });
    verdicts.setOwn(epoch, { digest, proofCount });
    this.computedAt.set(epoch, lastId);
    this.counters.computed += 1;
    logger.info(
      {
        epoch: epoch.toString(),
        digest,
        proofs: proofCount,
        devices: state.devices.length,
        counted: result.devicesCounted.toString(),
        faults: result.faults.length,
        leases: result.leases.length,
        allocated: result.allocated.toString(),
        previousEpoch: previous.epoch?.toString() ?? null,
      },
      own === null ? "verdict computed and signed" : "verdict recomputed with new proofs and signed again",
    );
    return { digest };
  }

  /** Sends this oracle's signature of its verdict for `epoch` to every peer that has not stored it yet. */
  private async shareSignature(epoch: bigint, digest: string): Promise<void> {
    const mine = this.options.verdicts.signatures(epoch).find((s) => s.signer === this.self && s.digest === digest);
    if (mine === undefined) return;
    const body = JSON.stringify({ signer: this.self, verdict: verdictToJson(mine.verdict), signature: mine.signature });
    await Promise.all(
      this.options.peers.map(async (peer) => {
        const key = `${peer.id}|${digest}`;
        if (this.acked.has(key)) return;
        try {
          const response = await this.peerFetch(`${peer.url}/v1/verdicts/${epoch}/signatures`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body,
          });
          if (response.ok) this.acked.add(key);
          else this.warnOnce(key, { peer: peer.id, status: response.status }, "peer refused our verdict signature");
        } catch {
          // Unreachable peer: tried again next tick.
        }
      }),
    );
  }

  /**
   * The Marketplace's leases of `epoch` and the SlaBreachEpochs parameter, both read at the epoch's reference block
   * (so every oracle, and every recomputation, reads the same), once per epoch. No marketplace: no leases.
   */
  private async leaseInput(
    epoch: bigint,
    referenceBlock: number,
  ): Promise<{ leases: LeaseState[]; slaBreachEpochs: number }> {
    const cached = this.leaseInputs.get(epoch);
    if (cached !== undefined) return cached;
    const { marketplace } = this.options;
    const [leases, k] = await Promise.all([
      marketplace ? readLeases(marketplace, epoch, { blockTag: referenceBlock }) : Promise.resolve([]),
      this.options.contracts.config.param(Param.SlaBreachEpochs, { blockTag: referenceBlock }),
    ]);
    const input = { leases, slaBreachEpochs: Number(k) };
    this.leaseInputs.set(epoch, input);
    return input;
  }

  /**
   * The cumulative rewards and lease deliveries this epoch builds on: those of the latest earlier epoch whose verdict
   * is on-chain (pending, disputed or final), read from its verdict file (kept here or fetched from a peer and checked
   * against the on-chain dataHash). Epochs skipped without a verdict roll their emission into this one (and add
   * nothing to the leases' delivery).
   */
  private async previousVerdict(epoch: bigint): Promise<PreviousVerdict> {
    const { hub } = this.options.contracts;
    const latestPerEpoch = await this.submittedVerdicts();
    const candidates = [...latestPerEpoch.keys()].filter((e) => e < epoch).sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
    for (const p of candidates) {
      const record = await hub.getVerdict(p);
      const submitted = latestPerEpoch.get(p)!;
      if (Number(record.status) === VerdictStatus.None || record.digest.toLowerCase() !== submitted.digest) continue;
      const file = await this.verdictFile(submitted.digest, submitted.verdict);
      const parsed = JSON.parse(file) as { rewards: { device: string; cumulative: string }[]; leases?: unknown };
      const cumulative = new Map<string, bigint>();
      let allocated = 0n;
      for (const r of parsed.rewards) {
        const amount = BigInt(r.cumulative);
        cumulative.set(r.device, amount);
        allocated += amount;
      }
      return { epoch: p, cumulative, allocated, leases: leasesOfVerdictFile(parsed) };
    }
    return { epoch: null, cumulative: new Map(), allocated: 0n, leases: new Map() };
  }

  /** The verdict file with `digest`: from the store, else from the first peer that has it (checked, then kept). */
  private async verdictFile(digest: string, verdict: EpochVerdict): Promise<string> {
    const local = this.options.verdicts.fileByDigest(digest);
    if (local !== null) return local.file;
    for (const peer of this.options.peers) {
      try {
        const response = await this.peerFetch(`${peer.url}/v1/verdict-files/${digest}`);
        if (!response.ok) continue;
        const file = await response.text();
        if (verdictFileDataHash(file) !== verdict.dataHash.toLowerCase()) {
          this.warnOnce(
            `file:${peer.id}:${digest}`,
            { peer: peer.id, digest },
            "peer served a verdict file that does not match",
          );
          continue;
        }
        this.options.verdicts.saveFile(digest, verdict, file);
        return file;
      } catch {
        // Try the next peer.
      }
    }
    throw new MissingVerdictFileError(`verdict file ${digest} of epoch ${verdict.epoch} not found here or at any peer`);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Settle

  private async settle(epoch: bigint): Promise<Step> {
    const { hub, config } = this.options.contracts;
    const record = await hub.getVerdict(epoch);
    const now = this.options.time.now();
    switch (Number(record.status)) {
      case VerdictStatus.None: {
        // Only reached once the submit cursor moved past: the epoch was skipped, or its verdict was struck down.
        return "advance";
      }
      case VerdictStatus.Pending: {
        // Keep the submitted file (operators fetch their claims from any oracle), even if this oracle's differs.
        if (this.options.verdicts.fileByDigest(record.digest) === null) {
          await this.verdictFileFromChain(epoch, record.digest.toLowerCase()).catch((err: unknown) =>
            this.options.logger.debug({ err }, "submitted verdict file not available yet"),
          );
        }
        const own = this.options.verdicts.own(epoch);
        if (own !== null && own.digest !== record.digest.toLowerCase()) {
          this.warnOnce(
            `dissent:${epoch}`,
            { epoch: epoch.toString(), submitted: record.digest, own: own.digest },
            "the submitted verdict differs from this oracle's",
          );
        }
        if (now < record.challengeEndsAt || !(await this.myTurn(`finalise:${epoch}`, epoch))) return "wait";
        try {
          await this.send(
            "finalise",
            `finalise:${epoch}`,
            `finalise verdict of epoch ${epoch}`,
            () => hub.finaliseVerdict.populateTransaction(epoch),
            ["InvalidVerdictStatus"],
          );
        } catch (error) {
          // MustAgree mode: the verdict finalises once the confirmer (Chainlink Functions) confirmed it, or is refused.
          const reason = ["VerdictUnconfirmed", "ConfirmationMismatch"].find((name) => isRevert(error, name));
          if (reason === undefined) throw error;
          this.warnOnce(
            `confirm:${epoch}:${reason}`,
            { epoch: epoch.toString(), reason },
            "verdict awaits its confirmation",
          );
        }
        return "wait";
      }
      case VerdictStatus.Disputed: {
        const dispute = await hub.getDispute(epoch);
        const closesAt = dispute.openedAt + (await config.param(Param.DisputeWindow));
        if (now <= closesAt || !(await this.myTurn(`expire:${epoch}`, epoch))) return "wait";
        await this.send(
          "expire",
          `expire:${epoch}`,
          `expire dispute of epoch ${epoch}`,
          () => hub.expireDispute.populateTransaction(epoch),
          ["InvalidVerdictStatus"],
        );
        return "wait";
      }
      default:
        return this.applyFaults(epoch, record.digest.toLowerCase());
    }
  }

  /** Applies every fault of the finalised verdict that is not penalised yet; "advance" once none is left. */
  private async applyFaults(epoch: bigint, digest: string): Promise<Step> {
    const { hub, slashing } = this.options.contracts;
    const stored = this.options.verdicts.fileByDigest(digest);
    const file = stored?.file ?? (await this.verdictFileFromChain(epoch, digest));
    const faults = (
      JSON.parse(file) as { faults: { device: string; kind: number; evidence: string; proof: string[] }[] }
    ).faults;
    const pending: typeof faults = [];
    for (const f of faults) {
      const id = faultId(f.device, f.kind, epoch);
      if (this.penalised.has(id)) continue;
      if (await slashing.penalised(id)) this.penalised.add(id);
      else pending.push(f);
    }
    if (pending.length === 0) return "advance";
    if (!(await this.myTurn(`faults:${epoch}`, epoch))) return "wait";
    if (await this.options.contracts.slashing.paused()) {
      this.warnOnce(
        `paused:${epoch}`,
        { epoch: epoch.toString() },
        "slashing is paused; faults wait for the pause to end",
      );
      return "wait";
    }
    for (const f of pending) {
      await this.send(
        "fault",
        `fault:${epoch}:${f.device}:${f.kind}`,
        `apply fault ${f.kind} of ${f.device} in epoch ${epoch}`,
        () => hub.applyFault.populateTransaction(epoch, f.device, f.kind, f.evidence, f.proof),
        // Someone else applied it, it is under a fisherman challenge, too old, or the epoch's slash cap is reached:
        // none of these changes by retrying.
        ["FaultAlreadyPenalised", "FaultUnderChallenge", "FaultTooOld", "EpochSlashCapExceeded", "UnknownDevice"],
      );
    }
    return "advance";
  }

  private async verdictFileFromChain(epoch: bigint, digest: string): Promise<string> {
    const submitted = (await this.submittedVerdicts(epoch)).get(epoch);
    if (submitted?.digest !== digest)
      throw new MissingVerdictFileError(`no verdict ${digest} submitted for epoch ${epoch}`);
    return this.verdictFile(digest, submitted.verdict);
  }

  /** The verdicts submitted on-chain (of `epoch`, or of every epoch), the latest submission per epoch. */
  private async submittedVerdicts(epoch?: bigint): Promise<Map<bigint, { digest: string; verdict: EpochVerdict }>> {
    const { hub } = this.options.contracts;
    const out = new Map<bigint, { digest: string; verdict: EpochVerdict }>();
    for (const e of await hub.queryFilter(hub.filters.VerdictSubmitted(epoch))) {
      const v = e.args.verdict;
      out.set(e.args.epoch, {
        digest: e.args.digest.toLowerCase(),
        verdict: {
          epoch: v.epoch,
          devicesCounted: v.devicesCounted,
          rewardsRoot: v.rewardsRoot,
          faultsRoot: v.faultsRoot,
          leasesRoot: v.leasesRoot,
          totalWorkUnits: v.totalWorkUnits,
          dataHash: v.dataHash,
        },
      });
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Helpers

  private currentEpoch(): bigint {
    const { genesis, epochLength } = this.clock!;
    const now = this.options.time.now();
    return now < genesis ? 0n : (now - genesis) / epochLength;
  }

  /** Whether it is this oracle's turn for `action` (due since it was first asked about, `turn x staggerMs` ago). */
  private async myTurn(action: string, epoch: bigint): Promise<boolean> {
    const turn = turnOf(this.self, (await this.committee(epoch)).members, epoch);
    if (turn < 0) return false;
    const since = this.dueSince.get(action) ?? Date.now();
    this.dueSince.set(action, since);
    return Date.now() - since >= turn * this.options.staggerMs;
  }

  /**
   * Sends the transaction of the action `key` and waits for its receipt; a revert named in `done` (in gas estimation)
   * means someone else already did it. The transaction is signed here and its hash kept until its receipt is seen, so
   * when a broadcast's answer or a receipt wait is lost, the next attempt of the same action finds the transaction
   * (mined: done; still pending: waited for) instead of sending a second one.
   */
  private async send(
    action: "seed" | "relay" | "finalise" | "expire" | "fault",
    key: string,
    what: string,
    populate: () => Promise<ContractTransaction>,
    done: readonly string[],
  ): Promise<void> {
    const { signer, logger } = this.options;
    const provider = signer.provider;
    if (provider === null) throw new MeshworkError("the oracle's signer has no provider");
    const timeoutMs = this.options.txTimeoutMs ?? 120_000;
    const earlier = this.inflight.get(key);
    if (earlier !== undefined) {
      let receipt = await provider.getTransactionReceipt(earlier.hash);
      if (receipt === null && (await provider.getTransaction(earlier.hash)) !== null) {
        logger.info({ tx: earlier.hash }, `${what}: waiting for the transaction sent earlier`);
        receipt = await provider.waitForTransaction(earlier.hash, 1, timeoutMs);
      }
      this.inflight.delete(key);
      // Unknown to the node (never arrived, or dropped): send again below.
      if (receipt !== null) return this.landed(action, what, receipt);
    }
    let hash: string | undefined;
    try {
      const request = await signer.populateTransaction(await populate());
      const signed = await signer.signTransaction(request);
      hash = Transaction.from(signed).hash!;
      this.inflight.set(key, { hash, at: Date.now() });
      this.pruneInflight();
      await provider.broadcastTransaction(signed);
    } catch (error) {
      const name = done.find((n) => isRevert(error, n));
      if (name === undefined) throw error;
      if (hash !== undefined) {
        // A node that mines on receipt (Hardhat's automine) reports the revert of a mined transaction here.
        this.inflight.delete(key);
        const mined = await provider.getTransactionReceipt(hash).catch(() => null);
        if (mined !== null && mined.status !== 1) {
          this.counters.reverted.set(action, (this.counters.reverted.get(action) ?? 0) + 1);
        }
      }
      logger.debug({ reason: name }, `${what}: already done`);
      return;
    }
    const receipt = await provider.waitForTransaction(hash, 1, timeoutMs);
    this.inflight.delete(key);
    if (receipt === null) throw new MeshworkError(`${what}: no receipt for ${hash}`);
    return this.landed(action, what, receipt);
  }

  /** Counts a mined transaction of ours; throws if it reverted (the next tick re-reads the chain). */
  private landed(action: string, what: string, receipt: ethers.TransactionReceipt): void {
    if (receipt.status !== 1) {
      this.counters.reverted.set(action, (this.counters.reverted.get(action) ?? 0) + 1);
      throw new TransactionRevertedError(`${what}: transaction ${receipt.hash} reverted`);
    }
    this.counters.transactions.set(action, (this.counters.transactions.get(action) ?? 0) + 1);
    this.options.logger.info({ tx: receipt.hash, gas: receipt.gasUsed.toString() }, what);
  }

  /** Forgets pending-transaction records older than a day (actions settled since by someone else's transaction). */
  private pruneInflight(): void {
    const horizon = Date.now() - 86_400_000;
    for (const [key, entry] of this.inflight) if (entry.at < horizon) this.inflight.delete(key);
  }

  private peerFetch(url: string, init: RequestInit = {}): Promise<Response> {
    const f = this.options.fetch ?? fetch;
    return f(url, { ...init, signal: AbortSignal.timeout(this.options.peerTimeoutMs ?? 10_000) });
  }

  private warnOnce(key: string, details: Record<string, unknown>, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.options.logger.warn(details, message);
  }
}
