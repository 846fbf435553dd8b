/**
 * `Device`: one device's key, resource class, capacity and location, and the signed proofs it makes in an epoch.
 * Pure apart from signing: the same device and epoch context give the same records (signatures are RFC 6979
 * deterministic). Every record comes from `signProof`, so it is exactly what `parseProofRecord` accepts.
 *
 * Nonces: proof i of epoch e has nonce e · 2^20 + i (`proofNonce`), so nonces strictly increase across epochs without
 * any state to persist, and a device never needs more than 2^20 proofs per epoch.
 *
 * Timestamps: every proof is stamped inside the epoch window [start, end).
 */
import { Wallet, ethers, type BaseWallet, type TypedDataDomain } from "ethers";

import { ResourceClass } from "../../sdk/enums";
import {
  ProofKind,
  parseProofRecord,
  signProof,
  type PayloadByKind,
  type ProofDraft,
  type ProofRecord,
} from "../proof";
import { deriveMatrices, multiply, productDigest } from "../verify/compute";
import type { EpochWindow } from "../verify/mapping";
import { STORAGE_CHALLENGE_COUNT, challengeIndices } from "../verify/storage";
import type { ChunkStore } from "./chunks";
import { cellCenter, offset, radioLink, unitHash, type LatLng } from "./radio";

/** Nonce slots per epoch: proof i of epoch e has nonce e · NONCE_SLOTS_PER_EPOCH + i. */
export const NONCE_SLOTS_PER_EPOCH = 1n << 20n;
/** Default tx power (EIRP) of a coverage device, dBm. */
export const DEFAULT_TX_POWER_DBM = 27;
/** Default compute challenge size. */
export const DEFAULT_COMPUTE_N = 8;
/** Mapping captures per epoch. */
export const CAPTURES_PER_EPOCH = 10;
/** Ground speed of a mapping device, m/s. */
export const MAPPING_SPEED_MPS = 12;
/** How far a spoofed track jumps, metres (at least). */
export const SPOOF_JUMP_M = 80_000;
/** Energy meters start counting at this unix time (2023-11-14). */
export const METER_GENESIS = 1_700_000_000;
/** Meter readings per epoch. */
export const READINGS_PER_EPOCH = 4;

export function proofNonce(epoch: bigint, index: number): bigint {
  return epoch * NONCE_SLOTS_PER_EPOCH + BigInt(index);
}

/** A beacon as it reaches a witness's radio: who sent it, its id, where it physically came from, at what power. */
export interface HeardBeacon {
  beaconDevice: string;
  beaconId: string;
  /** Cell the radio signal physically came from (the beaconer's true position, not necessarily its claim). */
  cell: string;
  txPowerDbm: number;
}

/** What a device needs to know to make an epoch's proofs. */
export interface EpochContext {
  epoch: bigint;
  /** Epoch seed from the chain (bytes32 hex). */
  seed: string;
  window: EpochWindow;
  /** EIP-712 domain of proofs (`proofDomain(chainId, registry)`). */
  domain: TypedDataDomain;
  /** Beacons of other devices this device's radio heard (COVERAGE only). */
  heard?: readonly HeardBeacon[];
}

/** How a (possibly dishonest) device makes its proofs; the default is honest. */
export interface ProduceOptions {
  /** Storage to answer from (a lazy device answers from what it kept). Defaults to the device's store. */
  storage?: ChunkStore;
  /** Skip the matrix product and send a guess (a lazy compute device). */
  guessProduct?: boolean;
  /** Mapping track that jumps far away mid-epoch (a spoofing mapping device). */
  teleport?: boolean;
}

/** A proof body before the header fields shared by the epoch (epoch, class, nonce). */
export type ProofBody = { [K in ProofKind]: { kind: K; payload: PayloadByKind[K]; timestamp: bigint } }[ProofKind];

export interface DeviceSpec {
  /** The device key (in real life: in its secure element). */
  wallet: BaseWallet;
  resourceClass: ResourceClass;
  /** Declared capacity in the class's unit: GiB (STORAGE), kW (ENERGY); informational for the other classes. */
  capacity: number;
  /** Asserted (registered) H3 cell. */
  location: string;
  /** Where the device really is; defaults to `location` (differs only for a location spoofer). */
  physicalLocation?: string;
  /** The data a STORAGE device holds (required for that class). */
  storage?: ChunkStore;
  txPowerDbm?: number;
  computeN?: number;
}

export class Device {
  readonly wallet: BaseWallet;
  readonly address: string;
  readonly resourceClass: ResourceClass;
  readonly capacity: number;
  readonly location: string;
  readonly physicalLocation: string;
  readonly storage: ChunkStore | null;
  readonly txPowerDbm: number;
  readonly computeN: number;

  constructor(spec: DeviceSpec) {
    if (spec.resourceClass === ResourceClass.Storage && spec.storage === undefined) {
      throw new RangeError("a STORAGE device needs a chunk store");
    }
    this.wallet = spec.wallet;
    this.address = spec.wallet.address;
    this.resourceClass = spec.resourceClass;
    this.capacity = spec.capacity;
    this.location = spec.location;
    this.physicalLocation = spec.physicalLocation ?? spec.location;
    this.storage = spec.storage ?? null;
    this.txPowerDbm = spec.txPowerDbm ?? DEFAULT_TX_POWER_DBM;
    this.computeN = spec.computeN ?? DEFAULT_COMPUTE_N;
  }

  /** The storage commitment registered on-chain (data root and chunk count), or null for other classes. */
  storageCommitment(): { dataRoot: string; chunkCount: number } | null {
    return this.storage === null ? null : { dataRoot: this.storage.dataRoot, chunkCount: this.storage.chunkCount };
  }

  /** Id of this device's beacon in an epoch: keccak256(abi.encode(seed, device, epoch)). */
  beaconId(seed: string, epoch: bigint): string {
    return ethers.keccak256(
      ethers.AbiCoder.defaultAbiCoder().encode(["bytes32", "address", "uint64"], [seed, this.address, epoch]),
    );
  }

  /** The honest, signed proofs of an epoch. */
  proofs(ctx: EpochContext): ProofRecord[] {
    return this.sign(ctx, this.bodies(ctx));
  }

  /** The proof bodies of an epoch, in nonce order: a heartbeat, then the class's proofs. */
  bodies(ctx: EpochContext, options: ProduceOptions = {}): ProofBody[] {
    const out: ProofBody[] = [this.heartbeat(ctx.window)];
    switch (this.resourceClass) {
      case ResourceClass.Coverage:
        out.push(...this.coverage(ctx));
        break;
      case ResourceClass.Storage:
        out.push(...this.storageAnswers(ctx, options.storage ?? this.storage));
        break;
      case ResourceClass.ComputeGpu:
      case ResourceClass.ComputeCpu:
        out.push(this.compute(ctx, options.guessProduct === true));
        break;
      case ResourceClass.Mapping:
        out.push(...this.mapping(ctx, options.teleport === true));
        break;
      case ResourceClass.Energy:
        out.push(...this.energy(ctx.window));
        break;
    }
    return out;
  }

  /**
   * Signs bodies as proofs of `ctx.epoch`, body i with nonce `proofNonce(epoch, i + firstSlot)`. With `signer` the
   * record still names this device but is signed by another key (a forgery).
   */
  sign(
    ctx: EpochContext,
    bodies: readonly ProofBody[],
    options: { signer?: BaseWallet; firstSlot?: number } = {},
  ): ProofRecord[] {
    const first = options.firstSlot ?? 0;
    return bodies.map((body, i) => {
      const draft = {
        ...body,
        epoch: ctx.epoch,
        resourceClass: this.resourceClass,
        nonce: proofNonce(ctx.epoch, first + i),
      };
      // `draft` pairs one body kind with its payload; TypeScript cannot follow the correlation through the spread.
      const record = signProof(options.signer ?? this.wallet, ctx.domain, draft as ProofDraft);
      return options.signer === undefined ? record : parseProofRecord({ ...record, device: this.address });
    });
  }

  heartbeat(window: EpochWindow): ProofBody {
    return {
      kind: ProofKind.Heartbeat,
      payload: { uptimeSeconds: Math.max(0, window.end - window.start) },
      timestamp: at(window, 0.5),
    };
  }

  private coverage(ctx: EpochContext): ProofBody[] {
    const out: ProofBody[] = [
      {
        kind: ProofKind.CoverageBeacon,
        payload: { cell: this.location, txPowerDbm: this.txPowerDbm, beaconId: this.beaconId(ctx.seed, ctx.epoch) },
        timestamp: at(ctx.window, 0.25),
      },
    ];
    for (const b of ctx.heard ?? []) {
      if (b.beaconDevice === this.address) continue;
      const link = radioLink(b.cell, this.physicalLocation, b.txPowerDbm, `${b.beaconId}/${this.address}`);
      out.push({
        kind: ProofKind.CoverageWitness,
        payload: { beaconId: b.beaconId, beaconDevice: b.beaconDevice, cell: this.location, ...link },
        timestamp: at(ctx.window, 0.3),
      });
    }
    return out;
  }

  private storageAnswers(ctx: EpochContext, store: ChunkStore | null): ProofBody[] {
    if (store === null || this.storage === null) return [];
    const { dataRoot, chunkCount } = this.storage;
    const out: ProofBody[] = [];
    for (const index of challengeIndices(ctx.seed, this.address, dataRoot, chunkCount, STORAGE_CHALLENGE_COUNT)) {
      const chunk = store.chunk(index);
      if (chunk === null) continue; // lost: nothing to answer with
      out.push({
        kind: ProofKind.StorageChallenge,
        payload: { dataRoot, chunkIndex: index, chunk: ethers.hexlify(chunk), path: store.proof(index) },
        timestamp: at(ctx.window, 0.5),
      });
    }
    return out;
  }

  private compute(ctx: EpochContext, guess: boolean): ProofBody {
    const n = this.computeN;
    let c: bigint[][];
    if (guess) {
      c = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => BigInt(i * n + j)));
    } else {
      const { a, b } = deriveMatrices(ctx.seed, this.address, n);
      c = multiply(a, b);
    }
    return {
      kind: ProofKind.ComputeChallenge,
      payload: { n, resultHash: productDigest(c), result: c.flat().map((v) => v.toString()) },
      timestamp: at(ctx.window, 0.5),
    };
  }

  private mapping(ctx: EpochContext, teleport: boolean): ProofBody[] {
    const { window } = ctx;
    const start = cellCenter(this.physicalLocation);
    const heading = unitHash(this.address, ctx.epoch, "heading") * 2 * Math.PI;
    const len = window.end - window.start;
    const jump = Math.max(SPOOF_JUMP_M, 100 * len);
    const out: ProofBody[] = [];
    const t0 = window.start + Math.floor(len / (2 * CAPTURES_PER_EPOCH));
    for (let i = 0; i < CAPTURES_PER_EPOCH; i++) {
      const t = window.start + Math.floor(((i + 0.5) * len) / CAPTURES_PER_EPOCH);
      let p: LatLng = offset(start, MAPPING_SPEED_MPS * (t - t0), heading);
      if (teleport && i >= CAPTURES_PER_EPOCH / 2) p = offset(p, jump, heading + Math.PI / 2);
      out.push({
        kind: ProofKind.MappingCapture,
        payload: {
          lat: round6(p.lat),
          lng: round6(p.lng),
          capturedAt: t,
          imageHash: ethers.keccak256(ethers.toUtf8Bytes(`${this.address}/${ctx.epoch}/${i}`)),
        },
        timestamp: BigInt(t),
      });
    }
    return out;
  }

  /** Cumulative meter counter (Wh) at unix time `t`: a constant load of 30..90 % of capacity since METER_GENESIS. */
  meterWh(t: number): bigint {
    const loadPermille = 300 + Math.floor(unitHash(this.address, "load") * 600);
    const watts = BigInt(Math.round(this.capacity * 1000));
    return (watts * BigInt(loadPermille) * BigInt(Math.max(0, t - METER_GENESIS))) / (3_600n * 1_000n);
  }

  private energy(window: EpochWindow): ProofBody[] {
    const len = window.end - window.start;
    return Array.from({ length: READINGS_PER_EPOCH }, (_, i) => {
      const t = window.start + Math.floor(((i + 1) * len) / (READINGS_PER_EPOCH + 1));
      return {
        kind: ProofKind.EnergyReading,
        payload: { meterWh: this.meterWh(t).toString(), readAt: t },
        timestamp: BigInt(t),
      };
    });
  }
}

/**
 * A deterministic wallet with private key keccak256("<seed>/<tag>/..."): simulator and tests only (real device keys
 * live in a secure element).
 */
export function walletFromSeed(seed: string, ...tags: (string | number)[]): Wallet {
  return new Wallet(ethers.keccak256(ethers.toUtf8Bytes([seed, ...tags].join("/"))));
}

function at(window: EpochWindow, fraction: number): bigint {
  return BigInt(window.start + Math.floor((window.end - window.start) * fraction));
}

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;
