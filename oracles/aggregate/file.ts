import { Keccak256, keccak256Bytes } from "../../sdk/keccak";
import { canonicalJson, type JsonValue } from "../proof";
import { AggregateInputError } from "./errors";
import type { LeaseCumulative } from "./types";

/**
 * Canonical JSON of the verdict body plus its `dataHash` (keccak256 of the body's canonical JSON).
 *
 * The same bytes as `canonicalJson(body)` and `canonicalJson({ ...body, dataHash })`, produced in pieces: each
 * top-level array item is encoded on its own and hashed as it comes, and the file is joined once with the `dataHash`
 * member at its sorted place. The file of 100,000 devices is over 100 MB; encoding it whole twice (nested joins at
 * every level) and hashing it in one piece took most of the aggregation's time and memory.
 */
export function sealVerdictFile(body: { [key: string]: JsonValue }): { file: string; dataHash: string } {
  if ("dataHash" in body) throw new AggregateInputError("verdict body must not carry dataHash");
  const hash = new Keccak256();
  const parts: string[] = [];
  let scratch = Buffer.allocUnsafe(64 * 1024); // UTF-8 of one chunk at a time, reused
  const emit = (chunk: string): void => {
    parts.push(chunk);
    if (3 * chunk.length > scratch.length) scratch = Buffer.allocUnsafe(3 * chunk.length);
    hash.update(scratch.subarray(0, scratch.write(chunk, 0, "utf8")));
  };
  const keys = Object.keys(body).sort();
  let insertAt = -1; // index in `parts` of the first member sorting after "dataHash"
  let insertFirst = false;
  emit("{");
  keys.forEach((key, i) => {
    if (insertAt === -1 && key > "dataHash") {
      insertAt = parts.length;
      insertFirst = i === 0;
    }
    const value = body[key];
    const name = `${i === 0 ? "" : ","}${JSON.stringify(key)}:`;
    if (!Array.isArray(value)) return emit(name + canonicalJson(value));
    emit(name + "[");
    value.forEach((item, j) => emit((j === 0 ? "" : ",") + canonicalJson(item)));
    emit("]");
  });
  emit("}");
  const dataHash = "0x" + Buffer.from(hash.digest()).toString("hex");
  const member = `"dataHash":${JSON.stringify(dataHash)}`;
  if (insertAt === -1) parts.splice(parts.length - 1, 0, keys.length === 0 ? member : "," + member);
  else parts.splice(insertAt, 0, insertFirst ? member + "," : "," + member);
  return { file: parts.join(""), dataHash };
}

/** Recomputes a verdict file's data hash: keccak256 of its canonical JSON without the `dataHash` key. */
export function verdictFileDataHash(file: string): string {
  const parsed = JSON.parse(file) as { [key: string]: JsonValue };
  const { dataHash: _ignored, ...body } = parsed;
  void _ignored;
  return hashJson(canonicalJson(body));
}

/**
 * The cumulative lease values of a verdict file (its `leases` entries), by lease id: the `previousLeases` of the next
 * epoch's aggregation. A version-1 file (before leases) has none.
 *
 * @throws AggregateInputError on a malformed `leases` member.
 */
export function leasesOfVerdictFile(file: string | { leases?: unknown }): Map<bigint, LeaseCumulative> {
  const parsed = (typeof file === "string" ? JSON.parse(file) : file) as { leases?: unknown };
  const out = new Map<bigint, LeaseCumulative>();
  if (parsed.leases === undefined) return out;
  if (!Array.isArray(parsed.leases)) throw new AggregateInputError("verdict file: leases is not an array");
  const uint = (v: unknown, what: string): bigint => {
    if (typeof v !== "string" || !/^(0|[1-9][0-9]*)$/.test(v)) throw new AggregateInputError(`verdict file: bad lease ${what}`, { details: { value: v } });
    return BigInt(v);
  };
  for (const entry of parsed.leases as { leaseId?: unknown; delivered?: unknown; breaches?: unknown }[]) {
    const leaseId = uint(entry?.leaseId, "leaseId");
    if (out.has(leaseId)) throw new AggregateInputError("verdict file: duplicate lease id", { details: { leaseId } });
    out.set(leaseId, { delivered: uint(entry.delivered, "delivered"), breaches: uint(entry.breaches, "breaches") });
  }
  return out;
}

/** keccak256(utf8(json)) as hex. */
function hashJson(json: string): string {
  return "0x" + Buffer.from(keccak256Bytes(Buffer.from(json, "utf8"))).toString("hex");
}
