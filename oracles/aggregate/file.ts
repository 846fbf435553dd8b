import { keccak256, toUtf8Bytes } from "ethers";

import { canonicalJson, type JsonValue } from "../proof";
import { AggregateInputError } from "./errors";

/** Canonical JSON of the verdict body plus its `dataHash` (keccak256 of the body's canonical JSON). */
export function sealVerdictFile(body: { [key: string]: JsonValue }): { file: string; dataHash: string } {
  if ("dataHash" in body) throw new AggregateInputError("verdict body must not carry dataHash");
  const dataHash = keccak256(toUtf8Bytes(canonicalJson(body)));
  return { file: canonicalJson({ ...body, dataHash }), dataHash };
}

/** Recomputes a verdict file's data hash: keccak256 of its canonical JSON without the `dataHash` key. */
export function verdictFileDataHash(file: string): string {
  const parsed = JSON.parse(file) as { [key: string]: JsonValue };
  const { dataHash: _ignored, ...body } = parsed;
  void _ignored;
  return keccak256(toUtf8Bytes(canonicalJson(body)));
}
