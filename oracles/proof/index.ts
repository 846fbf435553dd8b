/** The proof records, their hashing and signing: the one language of devices and oracles. */
export { canonicalJson, payloadHash, type JsonValue } from "./canonical";
export {
  PROOF_DOMAIN_NAME,
  PROOF_DOMAIN_VERSION,
  PROOF_TYPES,
  proofDigest,
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
  type MeshworkErrorOptions,
} from "./errors";
export * from "./kinds";
export { parseProofRecord, type ProofIssue } from "./parse";
export { recoverSigner } from "./recover";
export { signProof, type ProofDraft } from "./sign";
export { assertProofSignature, verifyProofSignature } from "./verify";
export { toProofJson } from "./wire";
