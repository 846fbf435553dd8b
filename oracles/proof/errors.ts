/**
 * Errors of the proof layer. One base class (`MeshworkError`: a short message, machine-readable `details` and an
 * optional `cause`) and one subclass per failure, so callers (e.g. the ingest HTTP error handler) can map classes to
 * status codes without parsing messages.
 */

export interface MeshworkErrorOptions {
  details?: Readonly<Record<string, unknown>>;
  cause?: unknown;
}

export class MeshworkError extends Error {
  readonly details: Readonly<Record<string, unknown>>;
  override readonly cause?: unknown;

  constructor(message: string, options: MeshworkErrorOptions = {}) {
    super(message);
    this.name = new.target.name;
    this.details = options.details ?? {};
    if (options.cause !== undefined) this.cause = options.cause;
  }
}

/** A value cannot be encoded as canonical JSON (non-finite number, undefined, bigint, non-plain object...). */
export class CanonicalJsonError extends MeshworkError {}

/** Base of every "this proof is not acceptable" failure. */
export class InvalidProofError extends MeshworkError {}

/** The record does not match the schema (wrong type, size limit, unknown kind, kind not allowed for its class...). */
export class MalformedProofError extends InvalidProofError {}

/**
 * The signature bytes are unusable: wrong length or encoding, `v` not 27/28, `r`/`s` out of range, high `s`
 * (malleable twin) or no public key recoverable. An honest signer never produces these.
 */
export class InvalidSignatureError extends InvalidProofError {}

/** The signature is well-formed but was made by another key than `record.device`. */
export class SignerMismatchError extends InvalidProofError {}

/**
 * Signatures cannot be checked right now (the verifier pool is closed, or its workers failed and the pool was told
 * not to fall back to the main thread). Nothing was accepted; the same proof may be sent again later (HTTP 503).
 */
export class VerifierUnavailableError extends MeshworkError {}
