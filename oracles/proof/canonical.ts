import { CanonicalJsonError } from "./errors";
import { bytesToHex, keccak256 } from "./hash";

/** A JSON value as the proof layer accepts it: no undefined, no bigint, no NaN/Infinity, plain objects only. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Canonical JSON: object keys sorted recursively (by UTF-16 code units, as `Array.prototype.sort` and RFC 8785 do),
 * no whitespace, strings and numbers serialised as `JSON.stringify` does (ECMAScript shortest round-trip numbers,
 * `-0` as `0`). The same value always gives the same string, whatever order its keys were built in.
 *
 * Throws `CanonicalJsonError` for anything that is not plain JSON, instead of silently dropping it as
 * `JSON.stringify` would.
 */
export function canonicalJson(value: JsonValue): string {
  return encode(value, "$");
}

function encode(value: unknown, at: string): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`${at}: number is not finite`, { details: { at } });
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map((item, i) => encode(item, `${at}[${i}]`)).join(",")}]`;
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new CanonicalJsonError(`${at}: not a plain object`, { details: { at } });
      }
      const record = value as Record<string, unknown>;
      const parts = Object.keys(record)
        .sort()
        .map((key) => `${JSON.stringify(key)}:${encode(record[key], `${at}.${key}`)}`);
      return `{${parts.join(",")}}`;
    }
    default:
      throw new CanonicalJsonError(`${at}: ${typeof value} is not a JSON value`, { details: { at } });
  }
}

/** `keccak256(utf8(canonicalJson(payload)))`: the hash a device signs in place of its payload. */
export function payloadHash(payload: JsonValue): string {
  return bytesToHex(payloadHashBytes(payload));
}

/** `payloadHash` as 32 bytes. */
export function payloadHashBytes(payload: JsonValue): Uint8Array {
  return keccak256(canonicalJson(payload)); // a string is hashed as its UTF-8 bytes
}
