/**
 * A verifier worker (see verifier-pool.ts): receives a batch of proofs encoded by `encodeBatch`, computes each
 * digest, recovers the signer and compares it with the device, and sends back one result per proof. Loads hash.ts
 * only (no ethers), so it starts fast.
 */
import { parentPort } from "node:worker_threads";
import { keccak256, packedProofStructHash, RecoverFailure, tryRecoverAddressBytes, typedDataDigestAt } from "./hash";
import { JOB_HEADER_BYTES, RESULT_BYTES, type BatchMessage, type ResultMessage, VerifyStatus } from "./verifier-codec";

if (parentPort === null) throw new Error("verifier-worker must run in a worker thread");
const port = parentPort;

/**
 * Verifies every job of `buf` (`count` of them); returns the result bytes (`RESULT_BYTES` per job). Reads the job
 * layout of verifier-codec.ts in place (as `decodeJob` would, without its objects and BigInts).
 */
export function verifyBatch(buf: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count * RESULT_BYTES);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(offset + 143);
    const payloadStart = offset + JOB_HEADER_BYTES;
    const payloadHash = keccak256(buf.subarray(payloadStart, payloadStart + length));
    // domainSeparator 32 | device 20 | epoch 8 | resourceClass 1 | kind 1 | nonce 8 | timestamp 8 | signature 65
    const structHash = packedProofStructHash(buf, offset + 32, payloadHash);
    const digest = typedDataDigestAt(buf, offset, structHash);
    const at = i * RESULT_BYTES;
    out.set(digest, at + 1);
    const signer = tryRecoverAddressBytes(digest, buf.subarray(offset + 78, offset + 143));
    if (typeof signer === "number") {
      out[at] = VerifyStatus.InvalidSignature + signer - RecoverFailure.BadV;
    } else {
      out.set(signer, at + 33);
      let match = true;
      for (let k = 0; k < 20; k++) {
        if (signer[k] !== buf[offset + 32 + k]) {
          match = false;
          break;
        }
      }
      out[at] = match ? VerifyStatus.Ok : VerifyStatus.SignerMismatch;
    }
    offset = payloadStart + length;
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
