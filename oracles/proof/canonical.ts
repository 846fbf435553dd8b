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
  return encode(value, null);
}

/**
 * Where the encoder is, as a linked list built on the way down: `$`, `$[i]`, `$.key`. The path string itself is
 * only built for an error message (`pathOf`), not for every value on the hot path.
 */
interface At {
  parent: At | null;
  key: string | number;
}

function pathOf(at: At | null): string {
  let path = "";
  for (let node = at; node !== null; node = node.parent) {
    path = (typeof node.key === "number" ? `[${node.key}]` : `.${node.key}`) + path;
  }
  return `$${path}`;
}

function fail(at: At | null, message: string): never {
  const path = pathOf(at);
  throw new CanonicalJsonError(`${path}: ${message}`, { details: { at: path } });
}

function encode(value: unknown, at: At | null): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) fail(at, "number is not finite");
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) {
        const items = value as unknown[];
        let out = "[";
        for (let i = 0; i < items.length; i++) {
          if (i > 0) out += ",";
          const item = items[i];
          // A hole of a sparse array joins as nothing (as `value.map(...).join(",")` did).
          if (item === undefined && !(i in items)) continue;
          out += encode(item, { parent: at, key: i });
        }
        return `${out}]`;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) fail(at, "not a plain object");
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      let out = "{";
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i];
        if (i > 0) out += ",";
        out += JSON.stringify(key);
        out += ":";
        out += encode(record[key], { parent: at, key });
      }
      return `${out}}`;
    }
    default:
      return fail(at, `${typeof value} is not a JSON value`);
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
