/**
 * Errors of the ingest stage, and `classifyError`: the one place that maps an error class to an HTTP status and a
 * short machine-readable code. The fastify error handler (app.ts) and the per-item results of a batch both use it.
 *
 * Status choices:
 * - 400 the request or record is not a valid proof (malformed JSON, wrong content type, schema, bad or foreign
 *   signature): resending the same bytes can never succeed.
 * - 403 `UnknownDeviceError`: the signer is not a registered, non-Removed device; it is not allowed to submit (a 404
 *   would suggest a missing URL).
 * - 409 `ReplayError`: the (device, nonce) or the digest is already stored; the proof conflicts with stored state.
 * - 413 `PayloadTooLargeError`: body above the limit, or a batch with too many items.
 * - 422 `ClassMismatchError`, `WrongEpochError`, `FutureTimestampError`: a well-formed, authentic proof whose content
 *   does not fit the current chain state or clock; it was not stored.
 * - 422 `InvalidContentError` (code `invalid_proof`): an authentic proof of a registered device whose content fails a
 *   pre-check that epoch verification would judge `FaultKind.InvalidProof` (a storage answer whose Merkle path is
 *   truncated or does not lead to the data root, a matrix product failing Freivalds' check; admit.ts). Unlike every
 *   other 4xx, the proof WAS stored: it is the evidence the device's fault and slashing rest on. Resending it is a
 *   replay (409).
 * - 503 `StoreUnavailableError`, `VerifierUnavailableError`: the proof was not stored (a group commit failed, the
 *   verifier pool is closed or its workers failed); nothing was acknowledged and the same proof may be sent again.
 * - 500 anything else, with a generic message (details only in the log).
 */
import {
  InvalidProofError,
  InvalidSignatureError,
  MalformedProofError,
  MeshworkError,
  SignerMismatchError,
  VerifierUnavailableError,
} from "../proof/errors";

/** The signer is not a registered device, or the device is Removed (or never registered: status None). */
export class UnknownDeviceError extends MeshworkError {}

/** The record's resourceClass is not the class the device registered with. */
export class ClassMismatchError extends MeshworkError {}

/** The record's epoch is neither the current epoch nor the previous one (grace). */
export class WrongEpochError extends MeshworkError {}

/** The record's timestamp is later than now plus the allowed clock skew. */
export class FutureTimestampError extends MeshworkError {}

/** A proof with the same (device, nonce), or the same digest, is already stored. */
export class ReplayError extends MeshworkError {}

/** A group commit of the proof store failed: no proof of the group was stored (store.ts `insertGrouped`). */
export class StoreUnavailableError extends MeshworkError {}

/**
 * The proof is authentic but its content is wrong in a way epoch verification faults as `InvalidProof` (admit.ts,
 * content pre-checks). It was stored anyway, as evidence: the message says so.
 */
export class InvalidContentError extends MeshworkError {}

/** The body exceeds the size limit, or a batch has too many items. */
export class PayloadTooLargeError extends MeshworkError {}

/** The request is unusable before any proof is read (malformed JSON, wrong content type, batch not an array). */
export class BadRequestError extends MeshworkError {}

export interface ErrorReply {
  status: number;
  /** Short machine-readable reason, e.g. `replay`; also the `reason` label of the rejection metric. */
  code: string;
  message: string;
}

const TABLE: ReadonlyArray<readonly [new (...args: never[]) => Error, number, string]> = [
  [UnknownDeviceError, 403, "unknown_device"],
  [ClassMismatchError, 422, "class_mismatch"],
  [WrongEpochError, 422, "wrong_epoch"],
  [FutureTimestampError, 422, "future_timestamp"],
  [InvalidContentError, 422, "invalid_proof"],
  [ReplayError, 409, "replay"],
  [PayloadTooLargeError, 413, "payload_too_large"],
  [BadRequestError, 400, "bad_request"],
  [MalformedProofError, 400, "malformed_proof"],
  [InvalidSignatureError, 400, "invalid_signature"],
  [SignerMismatchError, 400, "invalid_signature"],
  [InvalidProofError, 400, "invalid_proof"],
  [StoreUnavailableError, 503, "store_unavailable"],
  [VerifierUnavailableError, 503, "verifier_unavailable"],
];

/** Fastify's own client errors (body parser, limits): `code` FST_ERR_* with a 4xx `statusCode`. */
function fastifyClientError(error: unknown): ErrorReply | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
  if (typeof statusCode !== "number" || statusCode < 400 || statusCode >= 500) return undefined;
  if (statusCode === 413) return { status: 413, code: "payload_too_large", message: "request body too large" };
  if (code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    return { status: 400, code: "unsupported_media_type", message: "content-type must be application/json" };
  }
  if (code === "FST_ERR_CTP_EMPTY_JSON_BODY") return { status: 400, code: "bad_request", message: "empty JSON body" };
  if (code === "FST_ERR_CTP_INVALID_JSON_BODY" || error instanceof SyntaxError) {
    return { status: 400, code: "malformed_json", message: "body is not valid JSON" };
  }
  if (statusCode === 404) return { status: 404, code: "not_found", message: "no such route" };
  return { status: 400, code: "bad_request", message: "bad request" };
}

/** Maps an error to its HTTP status, code and client-safe message; unexpected errors become a generic 500. */
export function classifyError(error: unknown): ErrorReply {
  for (const [cls, status, code] of TABLE) {
    if (error instanceof cls) return { status, code, message: (error as Error).message };
  }
  return fastifyClientError(error) ?? { status: 500, code: "internal", message: "internal error" };
}
