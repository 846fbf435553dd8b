/**
 * One epoch of a local network, as the devices and the chain see it: deliver the fleet's proofs to the live oracles,
 * end the epoch, wait for the oracles' verdict, move past its challenge window and wait until it is finalised and its
 * faults are applied. Shared by `npm start` and the end-to-end tests.
 */
import { ethers, type JsonRpcProvider } from "ethers";

import { faultId } from "../../../oracles/node/epoch-driver";
import { toProofJson, type ProofRecord } from "../../../oracles/proof";
import { VerdictStatus } from "../../../sdk/enums";
import type { ProtocolDeployment } from "../deploy";
import { advanceTo } from "./network";
import { waitFor } from "./process";


/** The parts of a verdict file the local network reads (oracles/aggregate/README.md has the whole layout). */
export interface VerdictFile {
  epoch: string;
  emission: string;
  allocated: string;
  rewardsRoot: string;
  faultsRoot: string;
  leasesRoot: string;
  dataHash: string;
  classes: { resourceClass: number; splitBps: number; pot: string; totalScore: string; allocated: string }[];
  rewards: {
    device: string;
    resourceClass: number | null;
    score: string;
    reward: string;
    cumulative: string;
    proof: string[];
  }[];
  faults: { device: string; kind: number; evidence: string; proof: string[] }[];
  leases: { leaseId: string; delivered: string; breaches: string; proof: string[] }[];
}

export interface OracleEndpoint {
  id: string;
  url: string;
}

/** What the oracles answered: per oracle, acknowledged `${device}|${nonce}`; rejection reasons over all oracles. */
export interface Delivery {
  acked: Map<string, Set<string>>;
  rejected: Map<string, number>;
}

export const newDelivery = (): Delivery => ({ acked: new Map(), rejected: new Map() });

export const proofKey = (p: { device: string; nonce: bigint | string }): string => `${p.device}|${p.nonce.toString()}`;

const BATCH = 100;

/** Deterministic shuffle (by keccak of a label per position). */
function shuffled<T>(items: readonly T[], label: string): T[] {
  return items
    .map((item, i) => ({ item, k: ethers.id(`${label}/${i}`) }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .map((x) => x.item);
}

/**
 * Sends proofs as devices would: device `indexOf(device)` to live oracle i mod n, every third device also to the next
 * one; each oracle gets its share in its own order, in batches. Records what each oracle acknowledged.
 */
export async function deliverProofs(
  epoch: bigint,
  proofs: readonly ProofRecord[],
  targets: readonly OracleEndpoint[],
  indexOf: (device: string) => number,
  delivery: Delivery,
): Promise<void> {
  const perOracle = new Map<string, ProofRecord[]>(targets.map((o) => [o.id, []]));
  for (const p of proofs) {
    const i = indexOf(p.device);
    perOracle.get(targets[i % targets.length].id)!.push(p);
    if (i % 3 === 0) perOracle.get(targets[(i + 1) % targets.length].id)!.push(p);
  }
  await Promise.all(
    targets.map(async (o) => {
      const acked = delivery.acked.get(o.id) ?? new Set<string>();
      delivery.acked.set(o.id, acked);
      const list = shuffled(perOracle.get(o.id)!, `${epoch}/${o.id}`);
      for (let k = 0; k < list.length; k += BATCH) {
        const chunk = list.slice(k, k + BATCH);
        const response = await fetch(`${o.url}/v1/proofs/batch`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(chunk.map(toProofJson)),
        });
        if (response.status !== 200) throw new Error(`oracle ${o.id} answered ${response.status} to a proof batch`);
        const body = (await response.json()) as { results: { index: number; accepted: boolean; error?: string }[] };
        for (const r of body.results) {
          if (r.accepted) acked.add(proofKey(chunk[r.index]));
          else delivery.rejected.set(r.error ?? "unknown", (delivery.rejected.get(r.error ?? "unknown") ?? 0) + 1);
        }
      }
    }),
  );
}

export interface SettledEpoch {
  file: VerdictFile;
  /** The verdict file's canonical text, byte-identical on every live oracle. */
  text: string;
  signers: number;
}

/**
 * Waits for the verdict of `epoch` (all live oracles serving the same file), runs `beforeFinalise` (e.g. a Chainlink
 * Functions confirmation), moves the chain past its challenge window, and waits for finalisation and for every fault
 * of the file to be penalised.
 */
export async function settleEpoch(
  provider: JsonRpcProvider,
  contracts: ProtocolDeployment,
  epoch: bigint,
  oracles: readonly OracleEndpoint[],
  beforeFinalise: () => Promise<void> = async () => undefined,
): Promise<SettledEpoch> {
  const { hub, slashing } = contracts;
  const record = await waitFor(
    `verdict of epoch ${epoch}`,
    async () => {
      const r = await hub.getVerdict(epoch);
      return Number(r.status) === VerdictStatus.None ? undefined : r;
    },
    { timeoutMs: 300_000 },
  );
  const [event] = await hub.queryFilter(hub.filters.VerdictSubmitted(epoch));
  const texts = await Promise.all(
    oracles.map((o) =>
      waitFor(`verdict file of epoch ${epoch} at ${o.id}`, async () => {
        const response = await fetch(`${o.url}/v1/verdicts/${epoch}/file`);
        return response.status === 200 ? response.text() : undefined;
      }),
    ),
  );
  if (texts.some((t) => t !== texts[0])) throw new Error(`oracles serve different verdict files for epoch ${epoch}`);
  const file = JSON.parse(texts[0]) as VerdictFile;
  if (file.rewardsRoot !== record.rewardsRoot) throw new Error(`verdict file of epoch ${epoch} is not the chain's`);

  await beforeFinalise();
  const { challengeEndsAt } = await hub.getVerdict(epoch);
  if (BigInt((await provider.getBlock("latest"))!.timestamp) <= challengeEndsAt) {
    await advanceTo(provider, challengeEndsAt + 1n);
  }
  await waitFor(
    `finalisation of epoch ${epoch}`,
    async () => Number((await hub.getVerdict(epoch)).status) === VerdictStatus.Finalised,
    { timeoutMs: 120_000 },
  );
  const unapplied = new Set(file.faults.map((f) => faultId(f.device, f.kind, epoch)));
  await waitFor(
    `faults of epoch ${epoch} applied`,
    async () => {
      for (const id of unapplied) {
        if (!(await slashing.penalised(id))) return false;
        unapplied.delete(id);
      }
      return true;
    },
    { timeoutMs: 180_000, everyMs: 1_000 },
  );
  return { file, text: texts[0], signers: Number(event.args.signers) };
}
