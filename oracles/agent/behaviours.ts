/**
 * Device behaviours of the simulator: what an honest or a cheating device sends in an epoch, and which check
 * catches each cheat.
 *
 * - honest: its proofs.
 * - offline: nothing -> missed duty (aggregate stage).
 * - flaky: nothing in ~1/3 of epochs, deterministic per (device, epoch) -> missed duty in those epochs.
 * - lazy: STORAGE answers only from the half of its data it kept (unanswered challenges -> storage verifier,
 *   InvalidProof); COMPUTE sends a guessed product (Freivalds -> InvalidProof); other classes behave honestly.
 * - forging: records naming the device but signed by another key -> signature check (signer mismatch).
 * - replaying: its proofs plus last epoch's heartbeat re-sent verbatim (in epoch 0: a second heartbeat reusing the
 *   first one's nonce) -> (device, nonce) seen before.
 * - spoofing: COVERAGE asserts a cell ~80 km from where it really is (set by the fleet), so its beacons' witnesses and
 *   its own witness reports show impossible distance/RSSI -> coverage verifier, LocationSpoofing; MAPPING sends a
 *   track that teleports mid-epoch -> mapping verifier, LocationSpoofing. Other classes behave honestly.
 */
import { ethers, type BaseWallet } from "ethers";

import type { ProofRecord } from "../proof";
import { dropChunks } from "./chunks";
import { Device, type EpochContext } from "./device";
import { unitHash } from "./radio";

export const BEHAVIOURS = ["honest", "offline", "flaky", "lazy", "forging", "replaying", "spoofing"] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];

/** Share of epochs a flaky device skips. */
export const FLAKY_SKIP_RATE = 1 / 3;
/** Share of its chunks a lazy device keeps. */
export const LAZY_KEEP_RATE = 0.5;

/** Does a flaky device skip this epoch? Deterministic in (device, epoch). */
export function flakySkips(device: string, epoch: bigint): boolean {
  return unitHash(device, epoch, "flaky") < FLAKY_SKIP_RATE;
}

/** Does a device with this behaviour send anything this epoch? */
export function isOnline(behaviour: Behaviour, device: string, epoch: bigint): boolean {
  if (behaviour === "offline") return false;
  if (behaviour === "flaky") return !flakySkips(device, epoch);
  return true;
}

/** Does a lazy device still hold chunk `index`? */
export function lazyKeeps(device: string, index: number): boolean {
  return unitHash(device, index, "kept") < LAZY_KEEP_RATE;
}

/**
 * The signed proofs `device` sends in an epoch under `behaviour`. `forger` is the other key a forging device signs
 * with (required for "forging").
 */
export function behaviourProofs(
  device: Device,
  behaviour: Behaviour,
  ctx: EpochContext,
  forger?: BaseWallet,
): ProofRecord[] {
  if (!isOnline(behaviour, device.address, ctx.epoch)) return [];
  switch (behaviour) {
    case "honest":
    case "flaky":
      return device.proofs(ctx);
    case "offline":
      return [];
    case "lazy": {
      const kept =
        device.storage === null ? undefined : dropChunks(device.storage, (i) => lazyKeeps(device.address, i));
      return device.sign(ctx, device.bodies(ctx, { storage: kept, guessProduct: true }));
    }
    case "forging": {
      if (forger === undefined) throw new RangeError("a forging device needs another key to sign with");
      return device.sign(ctx, device.bodies(ctx), { signer: forger });
    }
    case "replaying":
      return [...device.proofs(ctx), ...replays(device, ctx)];
    case "spoofing":
      return device.sign(ctx, device.bodies(ctx, { teleport: true }));
  }
}

/** The replayed records of a replaying device (see the table in the module comment). */
function replays(device: Device, ctx: EpochContext): ProofRecord[] {
  if (ctx.epoch === 0n) {
    // A second heartbeat, later in the epoch, reusing the nonce of the first.
    const again = { ...device.heartbeat(ctx.window), timestamp: BigInt(ctx.window.end - 1) };
    return device.sign(ctx, [again]);
  }
  // Last epoch's heartbeat, byte for byte (heartbeats do not depend on the seed, so it can be remade exactly).
  const len = ctx.window.end - ctx.window.start;
  const previous: EpochContext = {
    ...ctx,
    epoch: ctx.epoch - 1n,
    seed: ethers.ZeroHash,
    window: { start: ctx.window.start - len, end: ctx.window.start },
  };
  return device.sign(previous, [device.heartbeat(previous.window)]);
}
