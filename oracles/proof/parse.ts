/**
 * `parseProofRecord`: the one gate untrusted input passes through. Validates the whole record (types, size limits,
 * kind, kind/class pairing, strict objects) and returns a typed `ProofRecord`, or throws `MalformedProofError` whose
 * message names the offending fields (`payload.path: too many entries (max 40)`). It does not check the signature:
 * see `verifyProofSignature`.
 */
import { z } from "zod";
import { ResourceClass } from "../../sdk/enums";
import { MalformedProofError } from "./errors";
import {
  addressSchema,
  KIND_CLASSES,
  LIMITS,
  PAYLOAD_SCHEMAS,
  ProofKind,
  uint64Schema,
  type ProofRecord,
} from "./kinds";

const KINDS = Object.values(ProofKind);
const CLASSES = Object.values(ResourceClass);

const headerSchema = z.strictObject(
  {
    device: addressSchema,
    epoch: uint64Schema,
    resourceClass: z.literal(CLASSES, { error: `unknown resource class (expected one of ${CLASSES.join(", ")})` }),
    kind: z.literal(KINDS, { error: `unknown proof kind (expected one of ${KINDS.join(", ")})` }),
    nonce: uint64Schema,
    timestamp: uint64Schema,
    payload: z.unknown(),
    signature: z.string({ error: "must be a string" }).regex(new RegExp(`^0x[0-9a-f]{${2 * LIMITS.signatureBytes}}$`), {
      error: `must be 0x + ${2 * LIMITS.signatureBytes} lowercase hex digits (r || s || v)`,
    }),
  },
  { error: (issue) => (issue.code === "invalid_type" ? "proof record must be an object" : undefined) },
);

export interface ProofIssue {
  /** Dotted path of the field, e.g. `payload.path.3`; empty for the record itself. */
  path: string;
  message: string;
}

const MAX_ISSUES_IN_MESSAGE = 5;

function toIssues(error: z.ZodError, prefix: PropertyKey[] = []): ProofIssue[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path].map(String).join("."),
    message: issue.message,
  }));
}

function fail(issues: ProofIssue[]): never {
  const shown = issues.slice(0, MAX_ISSUES_IN_MESSAGE).map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
  const more = issues.length > MAX_ISSUES_IN_MESSAGE ? ` (+${issues.length - MAX_ISSUES_IN_MESSAGE} more)` : "";
  throw new MalformedProofError(`invalid proof record: ${shown.join("; ")}${more}`, { details: { issues } });
}

/** Validates untrusted input into a `ProofRecord` (uint64 fields become bigints); throws `MalformedProofError`. */
export function parseProofRecord(input: unknown): ProofRecord {
  const header = headerSchema.safeParse(input);
  if (!header.success) fail(toIssues(header.error));
  const { kind, resourceClass } = header.data;
  const payload = PAYLOAD_SCHEMAS[kind].safeParse(header.data.payload);
  if (!payload.success) fail(toIssues(payload.error, ["payload"]));
  if (!KIND_CLASSES[kind].includes(resourceClass)) {
    fail([{ path: "resourceClass", message: `class ${resourceClass} cannot send proofs of kind ${kind}` }]);
  }
  // The schemas above check each kind's payload against that kind; TypeScript cannot follow the correlation.
  return { ...header.data, payload: payload.data } as ProofRecord;
}
