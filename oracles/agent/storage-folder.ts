/**
 * `folderStore`: the data of a real STORAGE device, read from a folder. I/O lives here only.
 *
 * Deterministic layout: every regular file under `root` (recursively, symlinks not followed), sorted by its relative
 * path with `/` separators (plain code-unit order), concatenated; the result is cut into 4 KiB chunks by
 * `memoryStore`. The same folder content gives the same data root on every machine.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { memoryStore, type ChunkStore } from "./chunks";

/** Relative paths (with `/`) of all regular files under `root`, sorted. */
export function listFolderFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) out.push(path);
    }
  };
  walk("");
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Reads the folder's files into one buffer (layout in the module comment). */
export function readFolderData(root: string): Uint8Array {
  const parts = listFolderFiles(root).map((rel) => readFileSync(join(root, ...rel.split("/"))));
  const total = parts.reduce((s, p) => s + p.length, 0);
  const data = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    data.set(p, off);
    off += p.length;
  }
  return data;
}

/** A chunk store over a real folder. Throws RangeError when the folder holds no bytes. */
export function folderStore(root: string): ChunkStore {
  return memoryStore(readFolderData(root));
}
