/**
 * The submit stage's HTTP face, registered on the node's fastify app:
 * - POST /v1/verdicts/:epoch/signatures  a committee member shares its signature { signer, verdict, signature }
 *                                        -> 202 { stored } once checked (member of the epoch's committee, signature
 *                                        recovers to it) and durably stored; 400 / 403 with a JSON reason otherwise;
 *                                        409 `epoch_in_future` for an epoch after the current one
 * - GET  /v1/verdicts/:epoch             what this oracle knows: its own digest, the submitted one, every member's
 *                                        latest signature by digest, and the dissents
 * - GET  /v1/verdicts/:epoch/file        the verdict file (the submitted one if known, else this oracle's own):
 *                                        rewards with the Merkle proofs operators claim with, faults with theirs
 * - GET  /v1/verdicts/:epoch/leaves      this oracle's OWN verdict (never the submitted one: an independent opinion)
 *                                        with the leaves of its three Merkle trees, compact (`LeavesDocument`), for the
 *                                        Chainlink Functions source (oracles/functions/verdict-source.js) to recompute
 *                                        the roots; the lists are null above LEAVES_MAX_BYTES; 404 without own verdict
 * - GET  /v1/verdict-files/:digest       a verdict file by digest (peers catching up fetch the previous one here)
 *
 * Flooding: the store keeps one signature per (epoch, signer), the latest, so a member posting thousands of different
 * signed verdicts for one epoch replaces one row; and signatures for epochs after the current one (`currentEpoch`) are
 * refused, so a member cannot fill the store with far-future epochs either. Storage is thus bounded by members x
 * epochs elapsed. The request rate of the peer routes is limited per client IP by rate-limit.ts (server.ts).
 */
import { ethers, type TypedDataDomain } from "ethers";
import type { FastifyInstance } from "fastify";
import { z } from "zod";

import {
  InvalidVerdictError,
  VERDICT_TYPES,
  verdictDigest,
  verdictFromJson,
  verdictToJson,
  type EpochVerdict,
  type EpochVerdictJson,
} from "../../sdk/verdict";
import { MeshworkError } from "../proof/errors";
import { BadRequestError, classifyError } from "./errors";
import { dissents, tally } from "./quorum";
import type { VerdictStore } from "./verdict-store";

/** The signature does not recover to the claimed signer, or the body is not a signed verdict. */
export class InvalidVerdictSignatureError extends MeshworkError {}
/** The signer is not in the committee in force for the epoch. */
export class NotCommitteeMemberError extends MeshworkError {}
/** No such verdict or file here. */
export class VerdictNotFoundError extends MeshworkError {}
/** A signature for an epoch that has not started yet (nothing to agree on; refused so storage stays bounded). */
export class FutureEpochError extends MeshworkError {}

export interface CommitteeInfo {
  /** Sorted ascending. */
  members: string[];
  threshold: number;
}

export interface VerdictRoutesDeps {
  store: VerdictStore;
  /** The OracleHub's EIP-712 domain. */
  domain: TypedDataDomain;
  committee(epoch: bigint): Promise<CommitteeInfo>;
  /** Digest of the verdict submitted on-chain for the epoch, or null. */
  submitted(epoch: bigint): Promise<string | null>;
  /**
   * The epoch in progress on chain time; signatures of later epochs are refused (409). Without it, any epoch is
   * accepted (tests).
   */
  currentEpoch?(): bigint;
  /** Called after a new signature was stored (the submit stage may now have a quorum). */
  onSignature?(epoch: bigint): void;
}

/** Version of the `/leaves` document layout (2: the verdict's `leasesRoot` and the `leases` list). */
export const LEAVES_DOCUMENT_VERSION = 2;
/**
 * Largest `/leaves` document served with its lists (UTF-8 bytes); above, all three lists are null. Chainlink
 * Functions drops HTTP responses over 2 MB.
 */
export const LEAVES_MAX_BYTES = 1_900_000;

/** GET /v1/verdicts/:epoch/leaves: a verdict and, unless too large, the leaves of its rewards, faults, leases trees. */
export interface LeavesDocument {
  version: typeof LEAVES_DOCUMENT_VERSION;
  verdict: EpochVerdictJson;
  /** [device, cumulative amount (decimal)] per rewards-tree leaf, ascending by device. */
  rewards: [string, string][] | null;
  /** [device, kind, evidence] per faults-tree leaf, in file order. */
  faults: [string, number, string][] | null;
  /** [leaseId, cumulative delivered bps, cumulative breaches] (decimals) per leases-tree leaf, ascending by leaseId. */
  leases: [string, string, string][] | null;
}

/** The parts of a verdict file (oracles/aggregate/aggregate.ts) the leaves document is made of. */
interface VerdictFileLeaves {
  rewards: { device: string; cumulative: string; leaf: string | null }[];
  faults: { device: string; kind: number; evidence: string }[];
  leases: { leaseId: string; delivered: string; breaches: string }[];
}

/** The `/leaves` document of a verdict and its file, as JSON text. */
export function leavesDocument(verdict: EpochVerdict, file: string): string {
  const { rewards, faults, leases } = JSON.parse(file) as VerdictFileLeaves;
  const full: LeavesDocument = {
    version: LEAVES_DOCUMENT_VERSION,
    verdict: verdictToJson(verdict),
    rewards: rewards.filter((r) => r.leaf !== null).map((r) => [r.device, r.cumulative]),
    faults: faults.map((f) => [f.device, f.kind, f.evidence]),
    leases: leases.map((l) => [l.leaseId, l.delivered, l.breaches]),
  };
  const text = JSON.stringify(full);
  if (Buffer.byteLength(text) <= LEAVES_MAX_BYTES) return text;
  return JSON.stringify({ ...full, rewards: null, faults: null, leases: null } satisfies LeavesDocument);
}

const epochParam = z.object({
  epoch: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,19})$/, { error: "epoch must be a uint64" })
    .refine((e) => !/^[0-9]+$/.test(e) || BigInt(e) < 1n << 64n, { error: "epoch must be a uint64" }),
});
const digestParam = z.object({
  digest: z.string().regex(/^0x[0-9a-fA-F]{64}$/, { error: "digest must be bytes32 hex" }),
});
const signatureBody = z.object({
  signer: z.string().refine((s) => ethers.isAddress(s), { error: "signer must be an address" }),
  verdict: z.unknown().refine((v) => v !== undefined, { error: "required" }),
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, { error: "signature must be 65 bytes hex" }),
});

const TABLE: ReadonlyArray<readonly [new (...args: never[]) => Error, number, string]> = [
  [InvalidVerdictSignatureError, 400, "invalid_verdict_signature"],
  [InvalidVerdictError, 400, "invalid_verdict"],
  [NotCommitteeMemberError, 403, "not_committee_member"],
  [VerdictNotFoundError, 404, "not_found"],
  [FutureEpochError, 409, "epoch_in_future"],
];

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new BadRequestError(result.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
  }
  return result.data;
}

export async function registerVerdictRoutes(app: FastifyInstance, deps: VerdictRoutesDeps): Promise<void> {
  /** The last `/leaves` document built (a verdict file may be 100 MB: parse it once). */
  let leavesCache: { digest: string; document: string } | null = null;
  const leavesOf = (digest: string): string | null => {
    if (leavesCache?.digest !== digest) {
      const found = deps.store.fileByDigest(digest);
      if (found === null) return null;
      leavesCache = { digest, document: leavesDocument(found.verdict, found.file) };
    }
    return leavesCache.document;
  };

  await app.register(async (scope) => {
    scope.setErrorHandler((error: unknown, request, reply) => {
      const own = TABLE.find(([type]) => error instanceof type);
      const { status, code, message } = own
        ? { status: own[1], code: own[2], message: error instanceof Error ? error.message : String(error) }
        : classifyError(error);
      if (status >= 500) request.log.error({ err: error }, "unexpected error");
      return reply.code(status).send({ error: code, message });
    });

    scope.post("/v1/verdicts/:epoch/signatures", async (request, reply) => {
      const epoch = BigInt(parse(epochParam, request.params).epoch);
      const body = parse(signatureBody, request.body);
      const verdict = verdictFromJson(body.verdict);
      if (verdict.epoch !== epoch) throw new InvalidVerdictError(`verdict is for epoch ${verdict.epoch}, not ${epoch}`);
      // The current epoch is still accepted: a peer whose chain time is a block ahead may already see it closed.
      const current = deps.currentEpoch?.();
      if (current !== undefined && epoch > current) {
        throw new FutureEpochError(`epoch ${epoch} has not started (current epoch ${current})`);
      }
      const signer = ethers.getAddress(body.signer);
      const { members } = await deps.committee(epoch);
      if (!members.includes(signer)) {
        throw new NotCommitteeMemberError(`${signer} is not in the committee of epoch ${epoch}`);
      }
      let recovered: string;
      try {
        recovered = ethers.verifyTypedData(deps.domain, VERDICT_TYPES, verdict, body.signature);
      } catch (cause) {
        throw new InvalidVerdictSignatureError("signature is malformed", { cause });
      }
      if (recovered !== signer) throw new InvalidVerdictSignatureError(`signature is not ${signer}'s`);
      const digest = verdictDigest(deps.domain, verdict);
      const stored = deps.store.putSignature({ signer, digest, verdict, signature: body.signature });
      if (stored) deps.onSignature?.(epoch);
      return reply.code(202).send({ stored, digest });
    });

    scope.get("/v1/verdicts/:epoch", async (request) => {
      const epoch = BigInt(parse(epochParam, request.params).epoch);
      const [{ members, threshold }, submitted] = await Promise.all([deps.committee(epoch), deps.submitted(epoch)]);
      const signatures = deps.store.signatures(epoch);
      const tallies = tally(signatures, members);
      const own = deps.store.own(epoch);
      const agreed = submitted ?? tallies.find((t) => t.signers.length >= threshold)?.digest ?? null;
      return {
        epoch: epoch.toString(),
        threshold,
        members,
        own: own?.digest ?? null,
        submitted,
        tally: tallies,
        signatures: signatures.map((s) => ({ signer: s.signer, digest: s.digest, verdict: verdictToJson(s.verdict) })),
        dissents:
          agreed === null
            ? []
            : dissents(signatures, agreed).map((s) => ({
                signer: s.signer,
                digest: s.digest,
                verdict: verdictToJson(s.verdict),
              })),
      };
    });

    scope.get("/v1/verdicts/:epoch/file", async (request, reply) => {
      const epoch = BigInt(parse(epochParam, request.params).epoch);
      const digest = (await deps.submitted(epoch)) ?? deps.store.own(epoch)?.digest ?? null;
      const found = digest === null ? null : deps.store.fileByDigest(digest);
      if (found === null) throw new VerdictNotFoundError(`no verdict file for epoch ${epoch} here`);
      return reply.type("application/json").send(found.file);
    });

    scope.get("/v1/verdicts/:epoch/leaves", async (request, reply) => {
      const epoch = BigInt(parse(epochParam, request.params).epoch);
      const own = deps.store.own(epoch);
      const document = own === null ? null : leavesOf(own.digest);
      if (document === null) throw new VerdictNotFoundError(`no own verdict for epoch ${epoch} here`);
      return reply.type("application/json").send(document);
    });

    scope.get("/v1/verdict-files/:digest", async (request, reply) => {
      const { digest } = parse(digestParam, request.params);
      const found = deps.store.fileByDigest(digest);
      if (found === null) throw new VerdictNotFoundError(`no verdict file with digest ${digest} here`);
      return reply.type("application/json").send(found.file);
    });
  });
}
