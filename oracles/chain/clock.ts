/**
 * The chain's notion of time. Oracles decide which epoch is open, and when one has closed, by chain time rather than
 * the wall clock: block timestamps are what the contracts check, and tests can move them with `evm_increaseTime`.
 *
 * Clock skew between oracles: the local clock only measures the time elapsed since the latest block was seen, never
 * an absolute time, so an oracle whose wall clock is off by hours reads the same chain time as the others; a clock
 * that drifts errs by its drift over one poll period (microseconds). The elapsed time comes from the monotonic clock
 * (`performance.now`), so a wall-clock step (NTP, an operator, a VM resume) cannot push chain time ahead either, which
 * matters since chain time never decreases: one forward step of an hour would otherwise hold it an hour early until
 * the chain caught up (epochs seen closed early, seeds and submission windows misjudged).
 * Whether an epoch has closed is decided by the chain itself (a block after its end, `referenceBlock`), and the
 * verdict is computed from chain state at that block, so skew cannot change what oracles sign.
 */
import type { Provider } from "ethers";

import type { ProtocolConfig } from "../../typechain-types";
import { FixedEpochClock } from "../node/directory";
import { ChainReadError, ChainTimeNotReadyError } from "./errors";

export interface ChainTimeOptions {
  /** Milliseconds between background reads of the latest block (default 1000). */
  pollMs?: number;
  /**
   * Milliseconds clock used to extrapolate between blocks; only differences are used (default `monotonicMs`, immune
   * to wall-clock steps); tests pass a fake one.
   */
  wallClock?: () => number;
  /** Called with each failed background read (default: kept in `lastError`, the previous reading stays in use). */
  onError?: (error: unknown) => void;
}

/** Milliseconds since an arbitrary origin, never stepped by wall-clock changes (`performance.now`). */
export const monotonicMs = (): number => performance.now();

/**
 * Chain time in unix seconds: the latest block timestamp seen, plus the whole wall-clock seconds elapsed since that
 * block was seen. Never decreases, even if a later block's timestamp is below the extrapolation.
 */
export class ChainTime {
  private readonly pollMs: number;
  private readonly wallClock: () => number;
  private readonly onError?: (error: unknown) => void;
  private seen: { timestamp: bigint; number: number; at: number } | null = null;
  private last = 0n;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  /** The last background read's failure, cleared by the next successful read. */
  lastError: unknown = undefined;

  constructor(
    private readonly provider: Provider,
    options: ChainTimeOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1_000;
    this.wallClock = options.wallClock ?? monotonicMs;
    this.onError = options.onError;
    if (!(this.pollMs > 0)) throw new RangeError("pollMs must be positive");
  }

  /** Reads the latest block. Concurrent calls share one read; a block no newer than the one seen is ignored. */
  refresh(): Promise<void> {
    this.inFlight ??= this.read().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /** Chain time now, in unix seconds. Throws `ChainTimeNotReadyError` before the first `refresh()`. */
  now(): bigint {
    if (this.seen === null) throw new ChainTimeNotReadyError("chain time is not known yet: call refresh() or start()");
    const elapsed = BigInt(Math.max(0, Math.floor((this.wallClock() - this.seen.at) / 1000)));
    const now = this.seen.timestamp + elapsed;
    if (now > this.last) this.last = now;
    return this.last;
  }

  /** Number and timestamp of the latest block seen, or null before the first read. */
  get latestBlock(): { number: number; timestamp: bigint } | null {
    return this.seen === null ? null : { number: this.seen.number, timestamp: this.seen.timestamp };
  }

  /** Reads the latest block now, then every `pollMs` until `stop()`. The timer does not keep the process alive. */
  async start(): Promise<void> {
    await this.refresh();
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      this.refresh().then(
        () => {
          this.lastError = undefined;
        },
        (error: unknown) => {
          this.lastError = error;
          this.onError?.(error);
        },
      );
    }, this.pollMs);
    this.timer.unref();
  }

  /** Stops background polling; `now()` keeps extrapolating from the last block seen. */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private async read(): Promise<void> {
    const block = await this.provider.getBlock("latest");
    if (block === null) throw new ChainReadError("the provider returned no latest block");
    // Only a newer block re-anchors: re-reading the same block must not restart the extrapolation (polled every
    // second or faster, chain time would otherwise stay at the block's timestamp until the next block).
    if (this.seen !== null && block.number <= this.seen.number) return;
    this.seen = { timestamp: BigInt(block.timestamp), number: block.number, at: this.wallClock() };
  }
}

/**
 * The time window of `epoch` in unix seconds, `[start, end)`: epoch e covers
 * `[genesis + e * epochLength, genesis + (e + 1) * epochLength)` (`ProtocolConfig.epochEnd` is `end`).
 */
export function epochWindow(genesis: bigint, epochLength: bigint, epoch: bigint): { start: number; end: number } {
  if (epochLength <= 0n) throw new RangeError("epochLength must be positive");
  if (genesis < 0n || epoch < 0n) throw new RangeError("genesis and epoch must be non-negative");
  const start = genesis + epoch * epochLength;
  const end = start + epochLength;
  if (end > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`epoch ${epoch} ends past the safe integer range`);
  return { start: Number(start), end: Number(end) };
}

/**
 * The protocol's epoch clock (`ProtocolConfig`'s genesis and epoch length, fixed at deployment), with the same rule
 * as `FixedEpochClock`. Give it `ChainTime.now()`, not the wall clock.
 */
export class ChainEpochClock extends FixedEpochClock {
  /** Reads genesis and epoch length from `config` (two calls; both are immutable, so once is enough). */
  static async fromConfig(config: ProtocolConfig): Promise<ChainEpochClock> {
    const [genesis, epochLength] = await Promise.all([config.genesis(), config.epochLength()]);
    return new ChainEpochClock(genesis, epochLength);
  }

  /** The window of `epoch`, `[start, end)` in unix seconds. */
  window(epoch: bigint): { start: number; end: number } {
    return epochWindow(this.genesis, this.epochLength, epoch);
  }
}
