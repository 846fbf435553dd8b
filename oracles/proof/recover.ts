/**
 * Signer recovery on the hot path: native libsecp256k1 (`secp256k1` package) instead of ethers' pure-JS curve.
 * Strict like OpenZeppelin's `ECDSA.tryRecover`: 65 bytes r || s || v, v in {27, 28}, 0 < r < n, 0 < s <= n/2 (the
 * high-s twin of a valid signature is rejected, so a signature cannot be re-encoded into a second valid one).
 */
import { ecdsaRecover } from "secp256k1";
import { getAddress, keccak256 } from "ethers";
import { InvalidSignatureError } from "./errors";

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = SECP256K1_N >> 1n;
const HEX = /^0x[0-9a-fA-F]*$/;

function toBytes(value: string | Uint8Array, length: number, what: string): Uint8Array {
  if (typeof value === "string") {
    if (!HEX.test(value) || value.length !== 2 + 2 * length) {
      throw new InvalidSignatureError(`${what} must be 0x + ${2 * length} hex digits`, { details: { what } });
    }
    return Buffer.from(value.slice(2), "hex");
  }
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new InvalidSignatureError(`${what} must be ${length} bytes`, { details: { what } });
  }
  return value;
}

function toBigInt(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).toString("hex")}`);
}

/**
 * The checksummed address whose key made `signature` over the 32-byte `digest`.
 * Throws `InvalidSignatureError` for a malformed, malleable or unrecoverable signature (never returns a wrong
 * address for one).
 */
export function recoverSigner(digest: string | Uint8Array, signature: string | Uint8Array): string {
  const msg = toBytes(digest, 32, "digest");
  const sig = toBytes(signature, 65, "signature");
  const v = sig[64];
  if (v !== 27 && v !== 28)
    throw new InvalidSignatureError(`signature v must be 27 or 28, got ${v}`, { details: { v } });
  const r = toBigInt(sig.subarray(0, 32));
  const s = toBigInt(sig.subarray(32, 64));
  if (r === 0n || r >= SECP256K1_N) throw new InvalidSignatureError("signature r out of range");
  if (s === 0n || s >= SECP256K1_N) throw new InvalidSignatureError("signature s out of range");
  if (s > HALF_N) throw new InvalidSignatureError("signature s is high (malleable twin); use the low-s form");
  let publicKey: Uint8Array;
  try {
    publicKey = ecdsaRecover(sig.subarray(0, 64), v - 27, msg, false);
  } catch (cause) {
    throw new InvalidSignatureError("no public key recoverable from signature", { cause });
  }
  // Uncompressed key: 0x04 || X || Y; the address is the last 20 bytes of keccak256(X || Y).
  return getAddress(`0x${keccak256(publicKey.subarray(1)).slice(-40)}`);
}
