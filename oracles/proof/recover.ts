/**
 * Signer recovery on the hot path: native libsecp256k1 (`secp256k1` package) instead of ethers' pure-JS curve.
 * Strict like OpenZeppelin's `ECDSA.tryRecover`: 65 bytes r || s || v, v in {27, 28}, 0 < r < n, 0 < s <= n/2 (the
 * high-s twin of a valid signature is rejected, so a signature cannot be re-encoded into a second valid one).
 * The checks and the recovery live in hash.ts (shared with the verifier workers); this is the hex-string API.
 */
import { InvalidSignatureError } from "./errors";
import { bytesToHex, recoverAddressBytes, toChecksumAddress } from "./hash";

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

/**
 * The address (20 bytes) whose key made `signature` over the 32-byte `digest`, without the EIP-55 checksum (one
 * Keccak less than `recoverSigner`): compare it with the expected address's bytes.
 * Throws `InvalidSignatureError` for a malformed, malleable or unrecoverable signature.
 */
export function recoverSignerBytes(digest: string | Uint8Array, signature: string | Uint8Array): Uint8Array {
  return recoverAddressBytes(toBytes(digest, 32, "digest"), toBytes(signature, 65, "signature"));
}

/**
 * The checksummed address whose key made `signature` over the 32-byte `digest`.
 * Throws `InvalidSignatureError` for a malformed, malleable or unrecoverable signature (never returns a wrong
 * address for one).
 */
export function recoverSigner(digest: string | Uint8Array, signature: string | Uint8Array): string {
  return toChecksumAddress(bytesToHex(recoverSignerBytes(digest, signature)));
}
