/**
 * Keccak-256 for the verifiers' hot paths (storage chunks and Merkle paths, compute challenge derivation), on bytes
 * with the native Keccak of oracles/proof/hash.ts: the same digests as `ethers.keccak256` and
 * `ethers.solidityPackedKeccak256` (checked in the tests), without ethers' hex round trips and pure-JS permutation.
 */
import { bytesToHex, keccak256 } from "../proof/hash";

export { keccak256 as keccakBytes };

/** keccak256 of `data` as 0x + lowercase hex. */
export function keccakHex(data: Uint8Array): string {
  return bytesToHex(keccak256(data));
}

/** One value of an `abi.encodePacked` tuple: 0x-hex for bytes32 and address, a non-negative integer otherwise. */
export type PackedPart =
  | { type: "bytes32"; value: string }
  | { type: "address"; value: string }
  | { type: "uint8"; value: number }
  | { type: "uint256"; value: bigint | number };

const WIDTH = { bytes32: 32, address: 20, uint8: 1, uint256: 32 } as const;
const HEX = /^0x[0-9a-fA-F]*$/;

/**
 * keccak256(abi.encodePacked(parts)) as a bigint (what the verifiers draw numbers from). Throws `RangeError` for a
 * value that does not fit its type.
 */
export function packedKeccak(parts: readonly PackedPart[]): bigint {
  return BigInt(keccakHex(encodePacked(parts)));
}

/** abi.encodePacked(parts): callers that hash many tuples differing in a last counter rewrite only its bytes. */
export function encodePacked(parts: readonly PackedPart[]): Buffer {
  let length = 0;
  for (const p of parts) length += WIDTH[p.type];
  const buf = Buffer.alloc(length);
  let at = 0;
  for (const p of parts) {
    const width = WIDTH[p.type];
    if (p.type === "bytes32" || p.type === "address") {
      if (!HEX.test(p.value) || p.value.length !== 2 + 2 * width) throw new RangeError(`not a ${p.type}: ${p.value}`);
      buf.write(p.value.slice(2), at, "hex");
    } else {
      const v = BigInt(p.value);
      if (v < 0n || v >= 1n << BigInt(8 * width)) throw new RangeError(`${p.value} does not fit ${p.type}`);
      if (p.type === "uint8") buf[at] = Number(v);
      else {
        buf.writeBigUInt64BE(v >> 192n, at);
        buf.writeBigUInt64BE((v >> 128n) & 0xffffffffffffffffn, at + 8);
        buf.writeBigUInt64BE((v >> 64n) & 0xffffffffffffffffn, at + 16);
        buf.writeBigUInt64BE(v & 0xffffffffffffffffn, at + 24);
      }
    }
    at += width;
  }
  return buf;
}
