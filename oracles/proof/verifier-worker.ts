/**
 * A verifier worker (see verifier-pool.ts): receives a batch of proofs encoded by `encodeBatch`, computes each
 * digest, recovers the signer and compares it with the device, and sends back one result per proof. Loads hash.ts
 * only (no ethers), so it starts fast.
 */
import { parentPort } from "node:worker_threads";
import { bytesEqual, keccak256, proofStructHash, RecoverFailure, tryRecoverAddressBytes, typedDataDigest } from "./hash";
import { decodeJob, RESULT_BYTES, type BatchMessage, type ResultMessage, VerifyStatus } from "./verifier-codec";

if (parentPort === null) throw new Error("verifier-worker must run in a worker thread");
const port = parentPort;

/** Verifies every job of `buf` (`count` of them); returns the result bytes (`RESULT_BYTES` per job). */
export function verifyBatch(buf: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count * RESULT_BYTES);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const job = decodeJob(buf, offset);
    offset = job.next;
    const structHash = proofStructHash({
      device: job.device,
      epoch: job.epoch,
      resourceClass: job.resourceClass,
      kind: job.kind,
      payloadHash: keccak256(job.payload),
      nonce: job.nonce,
      timestamp: job.timestamp,
    });
    const digest = typedDataDigest(job.domainSeparator, structHash);
    const at = i * RESULT_BYTES;
    out.set(digest, at + 1);
    const signer = tryRecoverAddressBytes(digest, job.signature);
    if (typeof signer === "number") {
      out[at] = VerifyStatus.InvalidSignature + signer - RecoverFailure.BadV;
    } else {
      out.set(signer, at + 33);
      out[at] = bytesEqual(signer, job.device) ? VerifyStatus.Ok : VerifyStatus.SignerMismatch;
    }
  }
  return out;
}

port.on("message", (message: BatchMessage | { type: "exit"; code: number }) => {
  if ("type" in message) {
    // Test hook: a worker dying mid-flight (verifier-pool tests).
    process.exit(message.code);
  }
  const result = verifyBatch(new Uint8Array(message.buf), message.count);
  const reply: ResultMessage = { id: message.id, buf: result.buffer as ArrayBuffer };
  port.postMessage(reply, [reply.buf]);
});
