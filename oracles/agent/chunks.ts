/**
 * Chunk stores: the data a STORAGE device really holds, with the Merkle tree of `oracles/verify/storage` over it.
 *
 * - `memoryStore(data)`: any bytes (a real device's folder, see `storage-folder.ts`, or a test buffer); the tree is
 *   built with `buildStorageTree`, so roots and paths are exactly what the verifier recomputes.
 * - `periodicStore(pool, chunkCount)`: the simulator's store. A capacity of G GiB needs G · 262 144 committed chunks,
 *   far too many to hash for thousands of simulated devices, so the simulated data is a small pool of distinct
 *   chunks (e.g. 64) repeated to fill the capacity. Aligned blocks of the pool size have the same subtree, so the
 *   tree above them is computed level by level in O(log chunkCount) hashes: every level is "all nodes equal to v,
 *   except the last one" (the last differs only through zero-padding of odd levels). Root and paths equal those of
 *   `buildStorageTree` over the expanded data (checked in the tests). This is a simulator shortcut: a real network
 *   needs sealing (Filecoin PoRep) to stop deduplicated storage; out of scope here.
 */
import { ethers } from "ethers";

import {
  STORAGE_CHUNK_SIZE,
  STORAGE_PAD_NODE,
  buildStorageTree,
  chunkAt,
  chunkLeaves,
  hashPair,
} from "../verify/storage";

/** The data a device holds, its commitment and Merkle paths. `chunk` returns null for data the device lost. */
export interface ChunkStore {
  readonly dataRoot: string;
  readonly chunkCount: number;
  /** The zero-padded 4 KiB chunk at `index`, or null when the device no longer holds it. */
  chunk(index: number): Uint8Array | null;
  /** Merkle path (siblings, leaf level first) of chunk `index`. */
  proof(index: number): string[];
}

/** A store over bytes held in memory. Throws RangeError on empty data. */
export function memoryStore(data: Uint8Array): ChunkStore {
  if (data.length === 0) throw new RangeError("empty data has no commitment");
  const tree = buildStorageTree(chunkLeaves(data));
  return {
    dataRoot: tree.root,
    chunkCount: tree.leafCount,
    chunk: (index) => chunkAt(data, index),
    proof: (index) => tree.proof(index),
  };
}

interface UpperLevel {
  count: number;
  /** Value of nodes 0 .. count-2. */
  v: string;
  /** Value of node count-1. */
  last: string;
}

/**
 * A store whose chunk i is `pool[i % pool.length]`. `pool.length` must be a power of two, every pool entry exactly
 * `STORAGE_CHUNK_SIZE` bytes, and `chunkCount` a positive multiple of `pool.length`.
 */
export function periodicStore(pool: readonly Uint8Array[], chunkCount: number): ChunkStore {
  const p = pool.length;
  if (p === 0 || (p & (p - 1)) !== 0) throw new RangeError("pool size must be a power of two");
  if (pool.some((c) => c.length !== STORAGE_CHUNK_SIZE))
    throw new RangeError(`pool chunks must be ${STORAGE_CHUNK_SIZE} bytes`);
  if (!Number.isSafeInteger(chunkCount) || chunkCount <= 0 || chunkCount % p !== 0) {
    throw new RangeError("chunkCount must be a positive multiple of the pool size");
  }
  const flat = new Uint8Array(p * STORAGE_CHUNK_SIZE);
  pool.forEach((c, i) => flat.set(c, i * STORAGE_CHUNK_SIZE));
  const base = buildStorageTree(chunkLeaves(flat));

  const levels: UpperLevel[] = [{ count: chunkCount / p, v: base.root, last: base.root }];
  for (let level = levels[0]; level.count > 1; level = levels[levels.length - 1]) {
    const even = level.count % 2 === 0;
    levels.push({
      count: Math.ceil(level.count / 2),
      v: hashPair(level.v, level.v),
      last: even ? hashPair(level.v, level.last) : hashPair(level.last, STORAGE_PAD_NODE),
    });
  }
  const root = levels[levels.length - 1].last;

  return {
    dataRoot: root,
    chunkCount,
    chunk(index) {
      if (!Number.isSafeInteger(index) || index < 0 || index >= chunkCount) throw new RangeError(`no chunk ${index}`);
      return pool[index % p];
    },
    proof(index) {
      if (!Number.isSafeInteger(index) || index < 0 || index >= chunkCount) throw new RangeError(`no chunk ${index}`);
      const path = base.proof(index % p);
      let at = Math.floor(index / p);
      for (let d = 0; d < levels.length - 1; d++) {
        const { count, v, last } = levels[d];
        const sibling = at ^ 1;
        path.push(sibling >= count ? STORAGE_PAD_NODE : sibling === count - 1 ? last : v);
        at >>= 1;
      }
      return path;
    },
  };
}

/** `count` pseudo-random 4 KiB chunks from `seed` (xorshift32 streams seeded by keccak: fast, deterministic). */
export function pseudoRandomChunks(seed: string, count: number): Uint8Array[] {
  const key = ethers.getBytes(ethers.keccak256(ethers.toUtf8Bytes(seed)));
  let x = ((key[0] << 24) | (key[1] << 16) | (key[2] << 8) | key[3]) >>> 0 || 0x9e3779b9;
  const out: Uint8Array[] = [];
  for (let c = 0; c < count; c++) {
    const words = new Uint32Array(STORAGE_CHUNK_SIZE / 4);
    for (let w = 0; w < words.length; w++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      words[w] = x;
    }
    out.push(new Uint8Array(words.buffer));
  }
  return out;
}

/** A view of `store` that lost every chunk for which `keep(index)` is false (a lazy device). */
export function dropChunks(store: ChunkStore, keep: (index: number) => boolean): ChunkStore {
  return {
    dataRoot: store.dataRoot,
    chunkCount: store.chunkCount,
    chunk: (index) => (keep(index) ? store.chunk(index) : null),
    proof: (index) => store.proof(index),
  };
}
