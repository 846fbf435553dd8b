/**
 * Keccak-256 of short messages (under one 136-byte block), for the Merkle trees of `sdk/trees.ts`: the hot path of
 * building a 1,000,000-leaf rewards tree (3 hashes per leaf). `@noble/hashes` `keccak_256` gives the same digests
 * (the tests compare them) but allocates a sponge per call and runs the permutation as loops over a Uint32Array: on
 * the benchmark machine it takes about 10 us per hash, this unrolled permutation over a reused array of small
 * integers about 2.3 us.
 *
 * State: 25 lanes of 64 bits as 50 int32 words, lane i = x + 5y at words (2i: low half, 2i + 1: high half); message
 * bytes absorb little-endian. The permutation below is keccak-f[1600] (FIPS 202 section 3) with theta, rho and pi,
 * chi and iota unrolled per round; 64-bit rotations are pairs of 32-bit shifts.
 */

/** Round constants, (low, high) per round. */
const RC: readonly number[] = [
  1, 0, 32898, 0, 32906, -2147483648, -2147450880, -2147483648,
  32907, 0, -2147483647, 0, -2147450751, -2147483648, 32777, -2147483648,
  138, 0, 136, 0, -2147450871, 0, -2147483638, 0,
  -2147450741, 0, 139, -2147483648, 32905, -2147483648, 32771, -2147483648,
  32770, -2147483648, 128, -2147483648, 32778, 0, -2147483638, -2147483648,
  -2147450751, -2147483648, 32896, -2147483648, -2147483647, 0, -2147450872, -2147483648,
];

/** keccak-f[1600] in place. */
function keccakF1600(s: number[]): void {
  for (let r = 0; r < 48; r += 2) {
    const c0 = s[0] ^ s[10] ^ s[20] ^ s[30] ^ s[40];
    const c1 = s[1] ^ s[11] ^ s[21] ^ s[31] ^ s[41];
    const c2 = s[2] ^ s[12] ^ s[22] ^ s[32] ^ s[42];
    const c3 = s[3] ^ s[13] ^ s[23] ^ s[33] ^ s[43];
    const c4 = s[4] ^ s[14] ^ s[24] ^ s[34] ^ s[44];
    const c5 = s[5] ^ s[15] ^ s[25] ^ s[35] ^ s[45];
    const c6 = s[6] ^ s[16] ^ s[26] ^ s[36] ^ s[46];
    const c7 = s[7] ^ s[17] ^ s[27] ^ s[37] ^ s[47];
    const c8 = s[8] ^ s[18] ^ s[28] ^ s[38] ^ s[48];
    const c9 = s[9] ^ s[19] ^ s[29] ^ s[39] ^ s[49];
    const d0 = c8 ^ ((c2 << 1) | (c3 >>> 31));
    const d1 = c9 ^ ((c3 << 1) | (c2 >>> 31));
    const d2 = c0 ^ ((c4 << 1) | (c5 >>> 31));
    const d3 = c1 ^ ((c5 << 1) | (c4 >>> 31));
    const d4 = c2 ^ ((c6 << 1) | (c7 >>> 31));
    const d5 = c3 ^ ((c7 << 1) | (c6 >>> 31));
    const d6 = c4 ^ ((c8 << 1) | (c9 >>> 31));
    const d7 = c5 ^ ((c9 << 1) | (c8 >>> 31));
    const d8 = c6 ^ ((c0 << 1) | (c1 >>> 31));
    const d9 = c7 ^ ((c1 << 1) | (c0 >>> 31));
    const t0 = s[0] ^ d0;
    const t1 = s[1] ^ d1;
    const b0 = t0;
    const b1 = t1;
    const t10 = s[10] ^ d0;
    const t11 = s[11] ^ d1;
    const b32 = (t11 << 4) | (t10 >>> 28);
    const b33 = (t10 << 4) | (t11 >>> 28);
    const t20 = s[20] ^ d0;
    const t21 = s[21] ^ d1;
    const b14 = (t20 << 3) | (t21 >>> 29);
    const b15 = (t21 << 3) | (t20 >>> 29);
    const t30 = s[30] ^ d0;
    const t31 = s[31] ^ d1;
    const b46 = (t31 << 9) | (t30 >>> 23);
    const b47 = (t30 << 9) | (t31 >>> 23);
    const t40 = s[40] ^ d0;
    const t41 = s[41] ^ d1;
    const b28 = (t40 << 18) | (t41 >>> 14);
    const b29 = (t41 << 18) | (t40 >>> 14);
    const t2 = s[2] ^ d2;
    const t3 = s[3] ^ d3;
    const b20 = (t2 << 1) | (t3 >>> 31);
    const b21 = (t3 << 1) | (t2 >>> 31);
    const t12 = s[12] ^ d2;
    const t13 = s[13] ^ d3;
    const b2 = (t13 << 12) | (t12 >>> 20);
    const b3 = (t12 << 12) | (t13 >>> 20);
    const t22 = s[22] ^ d2;
    const t23 = s[23] ^ d3;
    const b34 = (t22 << 10) | (t23 >>> 22);
    const b35 = (t23 << 10) | (t22 >>> 22);
    const t32 = s[32] ^ d2;
    const t33 = s[33] ^ d3;
    const b16 = (t33 << 13) | (t32 >>> 19);
    const b17 = (t32 << 13) | (t33 >>> 19);
    const t42 = s[42] ^ d2;
    const t43 = s[43] ^ d3;
    const b48 = (t42 << 2) | (t43 >>> 30);
    const b49 = (t43 << 2) | (t42 >>> 30);
    const t4 = s[4] ^ d4;
    const t5 = s[5] ^ d5;
    const b40 = (t5 << 30) | (t4 >>> 2);
    const b41 = (t4 << 30) | (t5 >>> 2);
    const t14 = s[14] ^ d4;
    const t15 = s[15] ^ d5;
    const b22 = (t14 << 6) | (t15 >>> 26);
    const b23 = (t15 << 6) | (t14 >>> 26);
    const t24 = s[24] ^ d4;
    const t25 = s[25] ^ d5;
    const b4 = (t25 << 11) | (t24 >>> 21);
    const b5 = (t24 << 11) | (t25 >>> 21);
    const t34 = s[34] ^ d4;
    const t35 = s[35] ^ d5;
    const b36 = (t34 << 15) | (t35 >>> 17);
    const b37 = (t35 << 15) | (t34 >>> 17);
    const t44 = s[44] ^ d4;
    const t45 = s[45] ^ d5;
    const b18 = (t45 << 29) | (t44 >>> 3);
    const b19 = (t44 << 29) | (t45 >>> 3);
    const t6 = s[6] ^ d6;
    const t7 = s[7] ^ d7;
    const b10 = (t6 << 28) | (t7 >>> 4);
    const b11 = (t7 << 28) | (t6 >>> 4);
    const t16 = s[16] ^ d6;
    const t17 = s[17] ^ d7;
    const b42 = (t17 << 23) | (t16 >>> 9);
    const b43 = (t16 << 23) | (t17 >>> 9);
    const t26 = s[26] ^ d6;
    const t27 = s[27] ^ d7;
    const b24 = (t26 << 25) | (t27 >>> 7);
    const b25 = (t27 << 25) | (t26 >>> 7);
    const t36 = s[36] ^ d6;
    const t37 = s[37] ^ d7;
    const b6 = (t36 << 21) | (t37 >>> 11);
    const b7 = (t37 << 21) | (t36 >>> 11);
    const t46 = s[46] ^ d6;
    const t47 = s[47] ^ d7;
    const b38 = (t47 << 24) | (t46 >>> 8);
    const b39 = (t46 << 24) | (t47 >>> 8);
    const t8 = s[8] ^ d8;
    const t9 = s[9] ^ d9;
    const b30 = (t8 << 27) | (t9 >>> 5);
    const b31 = (t9 << 27) | (t8 >>> 5);
    const t18 = s[18] ^ d8;
    const t19 = s[19] ^ d9;
    const b12 = (t18 << 20) | (t19 >>> 12);
    const b13 = (t19 << 20) | (t18 >>> 12);
    const t28 = s[28] ^ d8;
    const t29 = s[29] ^ d9;
    const b44 = (t29 << 7) | (t28 >>> 25);
    const b45 = (t28 << 7) | (t29 >>> 25);
    const t38 = s[38] ^ d8;
    const t39 = s[39] ^ d9;
    const b26 = (t38 << 8) | (t39 >>> 24);
    const b27 = (t39 << 8) | (t38 >>> 24);
    const t48 = s[48] ^ d8;
    const t49 = s[49] ^ d9;
    const b8 = (t48 << 14) | (t49 >>> 18);
    const b9 = (t49 << 14) | (t48 >>> 18);
    s[0] = b0 ^ (~b2 & b4);
    s[1] = b1 ^ (~b3 & b5);
    s[2] = b2 ^ (~b4 & b6);
    s[3] = b3 ^ (~b5 & b7);
    s[4] = b4 ^ (~b6 & b8);
    s[5] = b5 ^ (~b7 & b9);
    s[6] = b6 ^ (~b8 & b0);
    s[7] = b7 ^ (~b9 & b1);
    s[8] = b8 ^ (~b0 & b2);
    s[9] = b9 ^ (~b1 & b3);
    s[10] = b10 ^ (~b12 & b14);
    s[11] = b11 ^ (~b13 & b15);
    s[12] = b12 ^ (~b14 & b16);
    s[13] = b13 ^ (~b15 & b17);
    s[14] = b14 ^ (~b16 & b18);
    s[15] = b15 ^ (~b17 & b19);
    s[16] = b16 ^ (~b18 & b10);
    s[17] = b17 ^ (~b19 & b11);
    s[18] = b18 ^ (~b10 & b12);
    s[19] = b19 ^ (~b11 & b13);
    s[20] = b20 ^ (~b22 & b24);
    s[21] = b21 ^ (~b23 & b25);
    s[22] = b22 ^ (~b24 & b26);
    s[23] = b23 ^ (~b25 & b27);
    s[24] = b24 ^ (~b26 & b28);
    s[25] = b25 ^ (~b27 & b29);
    s[26] = b26 ^ (~b28 & b20);
    s[27] = b27 ^ (~b29 & b21);
    s[28] = b28 ^ (~b20 & b22);
    s[29] = b29 ^ (~b21 & b23);
    s[30] = b30 ^ (~b32 & b34);
    s[31] = b31 ^ (~b33 & b35);
    s[32] = b32 ^ (~b34 & b36);
    s[33] = b33 ^ (~b35 & b37);
    s[34] = b34 ^ (~b36 & b38);
    s[35] = b35 ^ (~b37 & b39);
    s[36] = b36 ^ (~b38 & b30);
    s[37] = b37 ^ (~b39 & b31);
    s[38] = b38 ^ (~b30 & b32);
    s[39] = b39 ^ (~b31 & b33);
    s[40] = b40 ^ (~b42 & b44);
    s[41] = b41 ^ (~b43 & b45);
    s[42] = b42 ^ (~b44 & b46);
    s[43] = b43 ^ (~b45 & b47);
    s[44] = b44 ^ (~b46 & b48);
    s[45] = b45 ^ (~b47 & b49);
    s[46] = b46 ^ (~b48 & b40);
    s[47] = b47 ^ (~b49 & b41);
    s[48] = b48 ^ (~b40 & b42);
    s[49] = b49 ^ (~b41 & b43);
    s[0] ^= RC[r];
    s[1] ^= RC[r + 1];
  }
}

/** Keccak's rate for a 256-bit output: messages up to RATE - 1 bytes fit in one block. */
const RATE = 136;
/** Reused sponge state (a plain array of int32 values: faster in V8 than a typed array here). */
const state: number[] = new Array<number>(50).fill(0);

/**
 * `keccak256(src[srcOffset .. srcOffset + length))` written to `dst[dstOffset .. dstOffset + 32)`.
 *
 * @throws RangeError when `length` does not fit one block (>= 136 bytes).
 */
export function keccak256Into(src: Uint8Array, srcOffset: number, length: number, dst: Uint8Array, dstOffset: number): void {
  if (length >= RATE || length < 0) throw new RangeError(`keccak256Into: ${length} bytes do not fit one block`);
  const s = state;
  for (let k = 0; k < 50; k++) s[k] = 0;
  const words = length >> 2;
  absorbWords(s, 0, src, srcOffset, words);
  const o = srcOffset + 4 * words;
  let tail = 0;
  for (let k = 0; k < (length & 3); k++) tail |= src[o + k] << (8 * k);
  s[words] = tail | (0x01 << (8 * (length & 3))); // multi-rate padding: 0x01 after the message...
  s[33] ^= 0x80 << 24; // ...and 0x80 in the block's last byte (byte 135, word 33)
  keccakF1600(s);
  squeeze(s, dst, dstOffset);
}

/**
 * `keccak256(src[a .. a + 32) ++ src[b .. b + 32))` written to `dst[dstOffset .. dstOffset + 32)`: a Merkle node from
 * two children stored anywhere in one buffer, without copying them together first.
 */
export function keccak256PairInto(src: Uint8Array, a: number, b: number, dst: Uint8Array, dstOffset: number): void {
  const s = state;
  absorbWords(s, 0, src, a, 8);
  absorbWords(s, 8, src, b, 8);
  s[16] = 0x01;
  for (let k = 17; k < 50; k++) s[k] = 0;
  s[33] = 0x80 << 24;
  keccakF1600(s);
  squeeze(s, dst, dstOffset);
}

/** keccak256 of a message of any length, as 32 bytes. */
export function keccak256Bytes(message: Uint8Array): Uint8Array {
  return new Keccak256().update(message).digest();
}

/**
 * Incremental keccak256 (its own state): `update` with the message in pieces of any size, then `digest` once. For
 * messages too large to hold twice, e.g. a verdict file hashed member by member.
 */
export class Keccak256 {
  private readonly s: number[] = new Array<number>(50).fill(0);
  /** Bytes of the current block not absorbed yet. */
  private readonly block = new Uint8Array(RATE);
  private filled = 0;
  private done = false;

  update(data: Uint8Array): this {
    if (this.done) throw new Error("Keccak256: update after digest");
    let o = 0;
    if (this.filled > 0) {
      const take = Math.min(RATE - this.filled, data.length);
      this.block.set(data.subarray(0, take), this.filled);
      this.filled += take;
      o = take;
      if (this.filled < RATE) return this;
      this.absorb(this.block, 0);
      this.filled = 0;
    }
    for (; data.length - o >= RATE; o += RATE) this.absorb(data, o);
    this.block.set(data.subarray(o), 0);
    this.filled = data.length - o;
    return this;
  }

  digest(): Uint8Array {
    if (this.done) throw new Error("Keccak256: digest twice");
    this.done = true;
    this.block.fill(0, this.filled);
    this.block[this.filled] ^= 0x01;
    this.block[RATE - 1] ^= 0x80;
    this.absorb(this.block, 0);
    const out = new Uint8Array(32);
    squeeze(this.s, out, 0);
    return out;
  }

  private absorb(src: Uint8Array, offset: number): void {
    const s = this.s;
    for (let k = 0, p = offset; k < RATE / 4; k++, p += 4) {
      s[k] ^= src[p] | (src[p + 1] << 8) | (src[p + 2] << 16) | (src[p + 3] << 24);
    }
    keccakF1600(s);
  }
}

/** keccak256 of a short message (under 136 bytes), as 32 bytes. */
export function keccak256Short(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  keccak256Into(message, 0, message.length, out, 0);
  return out;
}

/** Sets `count` state words from `count` little-endian 4-byte groups of `src` (the state words were zero). */
function absorbWords(s: number[], first: number, src: Uint8Array, offset: number, count: number): void {
  for (let k = first, o = offset; k < first + count; k++, o += 4) {
    s[k] = src[o] | (src[o + 1] << 8) | (src[o + 2] << 16) | (src[o + 3] << 24);
  }
}

/** The first 32 bytes of the state (the digest) into `dst` at `offset`. */
function squeeze(s: number[], dst: Uint8Array, offset: number): void {
  for (let k = 0, d = offset; k < 8; k++, d += 4) {
    const w = s[k];
    dst[d] = w & 0xff;
    dst[d + 1] = (w >>> 8) & 0xff;
    dst[d + 2] = (w >>> 16) & 0xff;
    dst[d + 3] = w >>> 24;
  }
}
