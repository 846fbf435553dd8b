/**
 * The byte-level core of proof verification, shared by the main thread and the verifier workers: Keccak-256, the
 * EIP-712 `DeviceProof` struct hash and digest over bytes, strict signer recovery to address bytes, and EIP-55
 * checksums. No ethers here (the workers load this module and nothing heavier); digest.ts and recover.ts wrap it in
 * the hex-string API and check it against ethers in the tests.
 *
 * Keccak-256: a proof needs five or more Keccak-f permutations (payload, struct, digest, public key), so their speed
 * decides how close verification gets to the bare signature check. Measured on this machine for a 64-byte input:
 * `@noble/hashes` `keccak_256` 1.8 about 10 us, the unrolled permutation of sdk/keccak.ts about 2.3 us, the native
 * XKCP code of the `keccak` package (with prebuilt binaries) about 1.5 us through its addon (mostly call overhead).
 * So: the native addon, and sdk/keccak.ts where it does not load. Both are checked against ethers in the tests.
 */
import { dirname } from "node:path";
import { keccak256Bytes } from "../../sdk/keccak";
import { ecdsaRecover } from "secp256k1";
import { InvalidSignatureError } from "./errors";

/** The sponge of the `keccak` package's native addon (XKCP), when it loads. */
interface NativeKeccakState {
  initialize(rate: number, capacity: number): void;
  absorb(data: Uint8Array): void;
  absorbLastFewBits(bits: number): void;
  squeeze(length: number): Uint8Array;
}

function loadNativeKeccak(): NativeKeccakState | null {
  try {
    // The addon itself, not the package's stream API: four calls per hash on one reused state.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require("node-gyp-build") as (dir: string) => unknown;
    const Addon = load(dirname(require.resolve("keccak/package.json"))) as new () => NativeKeccakState;
    if (typeof Addon !== "function") return null;
    const state = new Addon();
    state.initialize(1088, 512);
    state.absorb(Buffer.from("abc"));
    state.absorbLastFewBits(0x01);
    const check = Buffer.from(state.squeeze(32)).toString("hex");
    return check === "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45" ? state : null;
  } catch {
    return null;
  }
}

const native = loadNativeKeccak();

/** Which Keccak implementation this thread uses (reported by the benchmarks). */
export const KECCAK_IMPLEMENTATION = native ? "native (keccak package, XKCP)" : "JavaScript (sdk/keccak.ts)";

/** Keccak-256 of `data` in JavaScript, the fallback of `keccak256` (exported for the tests). */
export function keccak256Js(data: Uint8Array | string): Uint8Array {
  return keccak256Bytes(typeof data === "string" ? Buffer.from(data, "utf8") : data);
}

/** UTF-8 scratch of `keccak256(string)`, grown as needed: the bytes are absorbed before the call returns. */
let utf8Scratch = Buffer.allocUnsafe(4096);

/** Keccak-256 of `data` (a string is hashed as its UTF-8 bytes). */
export function keccak256(data: Uint8Array | string): Uint8Array {
  if (native === null) return keccak256Js(data);
  native.initialize(1088, 512);
  if (typeof data === "string") {
    if (3 * data.length > utf8Scratch.length) utf8Scratch = Buffer.allocUnsafe(3 * data.length);
    native.absorb(utf8Scratch.subarray(0, utf8Scratch.write(data, 0, "utf8")));
  } else {
    native.absorb(data);
  }
  native.absorbLastFewBits(0x01);
  return native.squeeze(32);
}

const ENCODER = new TextEncoder();

/** `keccak256("DeviceProof(address device,uint64 epoch,...)")`, the EIP-712 type hash of a proof. */
export const DEVICE_PROOF_TYPEHASH = keccak256(
  ENCODER.encode(
    "DeviceProof(address device,uint64 epoch,uint8 resourceClass,uint8 kind,bytes32 payloadHash,uint64 nonce,uint64 timestamp)",
  ),
);

/** The `DeviceProof` struct in bytes: what `proofStructHash` encodes. */
export interface ProofStructBytes {
  /** 20 bytes. */
  device: Uint8Array;
  epoch: bigint;
  resourceClass: number;
  kind: number;
  /** 32 bytes. */
  payloadHash: Uint8Array;
  nonce: bigint;
  timestamp: bigint;
}

const U64_MAX = (1n << 64n) - 1n;

/**
 * Scratch buffers of the struct and digest encodings, reused: the encoding and its hash run synchronously, and the
 * hash is a fresh array, so nothing outlives a call. Saves two allocations per proof on the hot path.
 */
const STRUCT = new Uint8Array(256);
const STRUCT_VIEW = new DataView(STRUCT.buffer);
const DIGEST_INPUT = new Uint8Array(66);
STRUCT.set(DEVICE_PROOF_TYPEHASH, 0);
DIGEST_INPUT[0] = 0x19;
DIGEST_INPUT[1] = 0x01;

function putUint64(offset: number, value: bigint, what: string): void {
  if (typeof value !== "bigint" || value < 0n || value > U64_MAX) throw new RangeError(`${what} must be a uint64`);
  // Words 64..255 are only ever written here: bytes offset..offset+23 stay zero.
  STRUCT_VIEW.setBigUint64(offset + 24, value);
}

function putUint8(offset: number, value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 255) throw new RangeError(`${what} must be a uint8`);
  STRUCT[offset + 31] = value;
}

/**
 * `hashStruct(DeviceProof)` = keccak256(typeHash || device || epoch || resourceClass || kind || payloadHash || nonce ||
 * timestamp), each field one 32-byte word (EIP-712 `encodeData`). Throws `RangeError` for a field out of its type.
 */
export function proofStructHash(s: ProofStructBytes): Uint8Array {
  if (s.device.length !== 20) throw new RangeError("device must be 20 bytes");
  if (s.payloadHash.length !== 32) throw new RangeError("payloadHash must be 32 bytes");
  putUint64(64, s.epoch, "epoch");
  putUint8(96, s.resourceClass, "resourceClass");
  putUint8(128, s.kind, "kind");
  putUint64(192, s.nonce, "nonce");
  putUint64(224, s.timestamp, "timestamp");
  STRUCT.set(s.device, 32 + 12); // address: left-padded with 12 zero bytes
  STRUCT.set(s.payloadHash, 160);
  return keccak256(STRUCT);
}

/**
 * `proofStructHash` of a struct packed as the verifier jobs carry it (verifier-codec.ts): at `offset` of `packed`,
 * device 20 | epoch u64 | resourceClass u8 | kind u8 | nonce u64 | timestamp u64 (big-endian), with the 32-byte
 * `payloadHash` apart. Every packed value is in its type by construction: no checks, no BigInt.
 */
export function packedProofStructHash(packed: Uint8Array, offset: number, payloadHash: Uint8Array): Uint8Array {
  for (let i = 0; i < 20; i++) STRUCT[44 + i] = packed[offset + i];
  for (let i = 0; i < 8; i++) {
    STRUCT[88 + i] = packed[offset + 20 + i]; // epoch
    STRUCT[216 + i] = packed[offset + 30 + i]; // nonce
    STRUCT[248 + i] = packed[offset + 38 + i]; // timestamp
  }
  STRUCT[127] = packed[offset + 28];
  STRUCT[159] = packed[offset + 29];
  STRUCT.set(payloadHash, 160);
  return keccak256(STRUCT);
}

/** `typedDataDigest` with the 32-byte domain separator at `offset` of `bytes`. */
export function typedDataDigestAt(bytes: Uint8Array, offset: number, structHash: Uint8Array): Uint8Array {
  for (let i = 0; i < 32; i++) DIGEST_INPUT[2 + i] = bytes[offset + i];
  DIGEST_INPUT.set(structHash, 34);
  return keccak256(DIGEST_INPUT);
}

/** The EIP-712 digest keccak256(0x1901 || domainSeparator || structHash). */
export function typedDataDigest(domainSeparator: Uint8Array, structHash: Uint8Array): Uint8Array {
  DIGEST_INPUT.set(domainSeparator, 2);
  DIGEST_INPUT.set(structHash, 34);
  return keccak256(DIGEST_INPUT);
}

// ---------------------------------------------------------------------------------------------------------------
// Recovery
// ---------------------------------------------------------------------------------------------------------------

/** secp256k1 group order n and n/2, big-endian. */
const N_BYTES = Buffer.from("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", "hex");
const HALF_N_BYTES = Buffer.from("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0", "hex");

/** Compares the 32 bytes of `a` at `offset` with `b`, big-endian: <0, 0, >0. */
function compare32(a: Uint8Array, offset: number, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = a[offset + i] - b[i];
    if (d !== 0) return d;
  }
  return 0;
}

function isZero32(a: Uint8Array, offset: number): boolean {
  for (let i = 0; i < 32; i++) if (a[offset + i] !== 0) return false;
  return true;
}

/**
 * Why a signature is refused before or during recovery; `RecoverFailure.None` when a key was recovered. Numbers so the
 * workers can send them back in one byte.
 */
export const RecoverFailure = {
  None: 0,
  BadV: 1,
  ROutOfRange: 2,
  SOutOfRange: 3,
  HighS: 4,
  Unrecoverable: 5,
} as const;
export type RecoverFailure = (typeof RecoverFailure)[keyof typeof RecoverFailure];

/** The strict checks of `recoverAddressBytes` without the recovery: which one `sig` (65 bytes) fails, if any. */
export function checkSignatureBytes(sig: Uint8Array): RecoverFailure {
  const v = sig[64];
  if (v !== 27 && v !== 28) return RecoverFailure.BadV;
  if (isZero32(sig, 0) || compare32(sig, 0, N_BYTES) >= 0) return RecoverFailure.ROutOfRange;
  if (isZero32(sig, 32) || compare32(sig, 32, N_BYTES) >= 0) return RecoverFailure.SOutOfRange;
  if (compare32(sig, 32, HALF_N_BYTES) > 0) return RecoverFailure.HighS;
  return RecoverFailure.None;
}

/** Output buffer of `ecdsaRecover`, reused: the key is only read (by `addressOf`) before the next recovery. */
const RECOVERED_KEY = new Uint8Array(65);
/** X || Y of `RECOVERED_KEY`, as a Buffer (the cache key of `addressOf`). */
const RECOVERED_XY = Buffer.from(RECOVERED_KEY.buffer, 1, 64);

/**
 * Recovers the 20 address bytes of the key that made `sig` (65 bytes r || s || v) over `digest` (32 bytes), or
 * returns the `RecoverFailure` that refuses it. No checksum is computed: compare the bytes. The returned array may be
 * shared (cached per public key): do not modify it.
 */
export function tryRecoverAddressBytes(digest: Uint8Array, sig: Uint8Array): Uint8Array | RecoverFailure {
  const failure = checkSignatureBytes(sig);
  if (failure !== RecoverFailure.None) return failure;
  let publicKey: Uint8Array;
  try {
    publicKey = ecdsaRecover(sig.subarray(0, 64), sig[64] - 27, digest, false, RECOVERED_KEY);
  } catch {
    return RecoverFailure.Unrecoverable;
  }
  return addressOf(publicKey);
}

/**
 * Addresses of recently recovered public keys: a device signs every proof with the same key, so the Keccak of its
 * key is computed once, not per proof. Bounded; cleared when full (a cache, not a registry).
 */
const ADDRESS_CACHE_MAX = 50_000;
const addressCache = new Map<string, Uint8Array>();

/** The address (20 bytes) of an uncompressed public key 0x04 || X || Y: the last 20 bytes of keccak256(X || Y). */
function addressOf(publicKey: Uint8Array): Uint8Array {
  const key = (
    publicKey === RECOVERED_KEY ? RECOVERED_XY : Buffer.from(publicKey.buffer, publicKey.byteOffset + 1, 64)
  ).toString("latin1");
  let address = addressCache.get(key);
  if (address === undefined) {
    if (addressCache.size >= ADDRESS_CACHE_MAX) addressCache.clear();
    address = keccak256(publicKey.subarray(1)).subarray(12);
    addressCache.set(key, address);
  }
  return address;
}

/** The `InvalidSignatureError` of a failure (messages as the tests and clients know them). */
export function recoverFailureError(failure: RecoverFailure, sig: Uint8Array): InvalidSignatureError {
  switch (failure) {
    case RecoverFailure.BadV:
      return new InvalidSignatureError(`signature v must be 27 or 28, got ${sig[64]}`, { details: { v: sig[64] } });
    case RecoverFailure.ROutOfRange:
      return new InvalidSignatureError("signature r out of range");
    case RecoverFailure.SOutOfRange:
      return new InvalidSignatureError("signature s out of range");
    case RecoverFailure.HighS:
      return new InvalidSignatureError("signature s is high (malleable twin); use the low-s form");
    default:
      return new InvalidSignatureError("no public key recoverable from signature");
  }
}

/** Like `tryRecoverAddressBytes`, but throws the `InvalidSignatureError` of a failure. */
export function recoverAddressBytes(digest: Uint8Array, sig: Uint8Array): Uint8Array {
  const result = tryRecoverAddressBytes(digest, sig);
  if (typeof result === "number") throw recoverFailureError(result, sig);
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Hex and addresses
// ---------------------------------------------------------------------------------------------------------------

const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** The bytes of `0x` + hex (no validation beyond what Buffer does: call it on checked input). */
export function hexToBytes(hex: string): Uint8Array {
  return Buffer.from(hex.slice(2), "hex");
}

/** `0x` + lowercase hex. */
export function bytesToHex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`;
}

/** EIP-55 checksummed form of a 40-hex-digit address (`0x` + any case). */
export function toChecksumAddress(address: string): string {
  const lower = address.slice(2).toLowerCase();
  const hash = keccak256(lower);
  let out = "0x";
  for (let i = 0; i < 40; i++) {
    const nibble = i % 2 === 0 ? hash[i >> 1] >> 4 : hash[i >> 1] & 0x0f;
    out += nibble >= 8 ? lower[i].toUpperCase() : lower[i];
  }
  return out;
}

/** True for `0x` + 40 hex digits in EIP-55 checksummed case (what ethers' `getAddress` returns). */
export function isChecksummedAddress(value: string): boolean {
  return HEX_ADDRESS.test(value) && toChecksumAddress(value) === value;
}

/** Equal bytes? */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
