/** The proof records, their hashing and signing: the one language of devices and oracles. */
export { canonicalJson, payloadHash, payloadHashBytes, type JsonValue } from "./canonical";
export {
  PROOF_DOMAIN_NAME,
  PROOF_DOMAIN_VERSION,
  PROOF_TYPES,
  domainSeparator,
  proofDigest,
  proofDigestBytes,
  proofDomain,
  proofMessage,
  type DeviceProofMessage,
} from "./digest";
export {
  CanonicalJsonError,
  InvalidProofError,
  InvalidSignatureError,
  MalformedProofError,
  MeshworkError,
  SignerMismatchError,
  VerifierUnavailableError,
  type MeshworkErrorOptions,
} from "./errors";
export * from "./kinds";
export { parseProofRecord, type ProofIssue } from "./parse";
export { recoverSigner, recoverSignerBytes } from "./recover";
export { signProof, type ProofDraft } from "./sign";
export { assertProofSignature, checkProofSignature, verifyProofSignature } from "./verify";
export { toProofJson } from "./wire";
