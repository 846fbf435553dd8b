/**
 * The explorer's data layer: one `NetworkSnapshot` read from the chain through the TypeChain bindings (ethers v6) and
 * from the oracles' published verdict files, all at one block so the page is consistent with itself. No private
 * backend: the server only proxies JSON-RPC and the oracles' `/v1/verdicts/...` routes.
 *
 * What never changes once past (block timestamps, finalised epochs' verdict files and oracle accounts, the schedule of
 * ended epochs, a confirmation) is kept between polls, per config; everything else is read again each time. Views are
 * read through ethers' JSON-RPC batching (up to 100 calls per HTTP request), so ~300 devices cost a few requests.
 */
import { JsonRpcProvider, ZeroHash, type Interface } from "ethers";

import {
  EmissionSchedule__factory,
  EpochSeed__factory,
  FunctionsVerdictConfirmer__factory,
  MeshGovernor__factory,
  MeshTimelock__factory,
  MeshToken__factory,
  OracleHub__factory,
  ProtocolConfig__factory,
  ProviderRegistry__factory,
  RewardsDistributor__factory,
  Slashing__factory,
  Staking__factory,
  VotingPower__factory,
} from "../../typechain-types";
import { connectProtocol } from "../../sdk/contracts";
import { Param, VerdictStatus } from "../../sdk/enums";
import type { ExplorerConfig } from "./config";
import {
  allocatedByClass,
  claimable,
  className,
  delegatorCounts,
  describeCall,
  deviceState,
  emissionSeries,
  epochStatus,
  proposalStateName,
  signersOf,
  statusName,
  totalsBy,
  type KnownTarget,
  type OracleVerdictView,
} from "./derive";
import type { DeviceRow, EpochRow, NetworkSnapshot, OperatorRow, ProposalRow } from "./snapshot";

export type { ExplorerConfig } from "./config";

/** The parts of a verdict file (oracles/aggregate) the explorer reads. */
interface VerdictFileView {
  epoch: string;
  rewardsRoot: string;
  classes: { resourceClass: number; allocated: string }[];
  rewards: { device: string; cumulative: string }[];
}

/** What is kept between polls for one config. */
interface Cache {
  provider: JsonRpcProvider;
  blockTimes: Map<number, number>;
  /** Allocated per class, by finalised epoch (from files whose root matched the chain). */
  allocated: Map<number, bigint[]>;
  /** Cumulative rewards by device (lower-cased) of the latest finalised epoch read. */
  earned: { epoch: number; byDevice: Map<string, bigint> } | null;
  /** Oracle accounts of finalised epochs. */
  views: Map<number, OracleVerdictView>;
  /** cumulativeEmission(e) and classSplitAt(e) for e <= an epoch already current. */
  cumulative: Map<number, bigint>;
  splits: Map<number, number[]>;
  confirmed: Set<number>;
}

const caches = new Map<string, Cache>();
const FETCH_TIMEOUT_MS = 10_000;

function cacheFor(config: ExplorerConfig): Cache {
  const key = JSON.stringify(config);
  let cache = caches.get(key);
  if (cache === undefined) {
    const url = new URL(config.rpcUrl, location.href).href;
    const provider = new JsonRpcProvider(url, config.deployment.chainId, { staticNetwork: true, cacheTimeout: -1 });
    cache = {
      provider,
      blockTimes: new Map(),
      allocated: new Map(),
      earned: null,
      views: new Map(),
      cumulative: new Map(),
      splits: new Map(),
      confirmed: new Set(),
    };
    caches.set(key, cache);
  }
  return cache;
}

/** An oracle route's URL: `base` (relative to the page or absolute) + `path`. */
const oracleUrl = (base: string, path: string): string => new URL(base.replace(/\/+$/, "") + path, location.href).href;

/** GET JSON; `null` for an answer that is not 2xx. `reached` tells whether the oracle itself answered (not the proxy). */
async function getJson<T>(url: string): Promise<{ body: T | null; reached: boolean }> {
  try {
    const response = await fetch(url, { cache: "no-store", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    const reached = response.status !== 502 && response.status !== 504;
    if (!response.ok) return { body: null, reached };
    return { body: (await response.json()) as T, reached };
  } catch {
    return { body: null, reached: false };
  }
}

/** Maps with `limit` in flight at once (oracle HTTP requests are not batched like JSON-RPC). */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const lower = (a: string): string => a.toLowerCase();

/**
 * Reads the whole network at the latest block. Rejects when the chain cannot be read (the page keeps its last snapshot);
 * an oracle that does not answer only leaves its parts empty and shows as down.
 */
export async function loadSnapshot(config: ExplorerConfig): Promise<NetworkSnapshot> {
  const cache = cacheFor(config);
  const { provider } = cache;
  const d = config.deployment;
  const from = d.block ?? 0;

  const latest = await provider.getBlock("latest");
  if (latest === null) throw new Error("the chain returned no latest block");
  const block = latest.number;
  cache.blockTimes.set(block, latest.timestamp);
  const at = { blockTag: block };

  const {
    config: protocolConfig,
    registry,
    staking,
    slashing,
    schedule,
    hub,
    distributor,
    token,
  } = connectProtocol(d, provider);
  const governor = d.MeshGovernor === undefined ? null : MeshGovernor__factory.connect(d.MeshGovernor, provider);
  const confirmer =
    d.Functions === undefined ? null : FunctionsVerdictConfirmer__factory.connect(d.Functions.confirmer, provider);

  // 1. Clock, totals and every event log (one eth_getLogs each).
  const [
    genesis,
    epochLength,
    currentEpochBig,
    submissionWindow,
    cap,
    budget,
    totalMinted,
    totalClaimed,
    registered,
    penalties,
    staked,
    delegated,
    submitted,
    finalisedEvents,
    faultsApplied,
    roots,
    claims,
    proposals,
  ] = await Promise.all([
    protocolConfig.genesis(at),
    protocolConfig.epochLength(at),
    protocolConfig.currentEpoch(at),
    protocolConfig.param(Param.VerdictSubmissionWindow, at),
    token.MAX_SUPPLY(at),
    schedule.emissionBudget(at),
    distributor.totalMinted(at),
    distributor.totalClaimed(at),
    registry.queryFilter(registry.filters.DeviceRegistered(), from, block),
    slashing.queryFilter(slashing.filters.FaultPenalised(), from, block),
    staking.queryFilter(staking.filters.Staked(), from, block),
    staking.queryFilter(staking.filters.Delegated(), from, block),
    hub.queryFilter(hub.filters.VerdictSubmitted(), from, block),
    hub.queryFilter(hub.filters.VerdictFinalised(), from, block),
    hub.queryFilter(hub.filters.FaultApplied(), from, block),
    distributor.queryFilter(distributor.filters.RootUpdated(), from, block),
    distributor.queryFilter(distributor.filters.RewardsClaimed(), from, block),
    governor === null ? Promise.resolve([]) : governor.queryFilter(governor.filters.ProposalCreated(), from, block),
  ]);
  const currentEpoch = Number(currentEpochBig);
  const now = BigInt(latest.timestamp);

  // 2. Per-item views: devices, operators, delegations, verdicts, proposals, emission; block times of events.
  const deviceAddresses = [...new Set(registered.map((e) => e.args.device))];
  const submittedEpochs = [...new Set(submitted.map((e) => Number(e.args.epoch)))];
  const pairs = [
    ...new Map(delegated.map((e) => [`${lower(e.args.operator)}|${lower(e.args.delegator)}`, e.args])).values(),
  ];
  const needCumulative = Array.from({ length: currentEpoch + 2 }, (_, e) => e).filter((e) => !cache.cumulative.has(e));
  const needSplits = Array.from({ length: currentEpoch + 1 }, (_, e) => e).filter((e) => !cache.splits.has(e));
  const eventBlocks = [...new Set([...submitted, ...finalisedEvents].map((e) => e.blockNumber))].filter(
    (b) => !cache.blockTimes.has(b),
  );
  const [devices, verdicts, positions, cumulativeValues, splitValues, blocks, proposalViews, confirmations] =
    await Promise.all([
      Promise.all(deviceAddresses.map((a) => registry.getDevice(a, at))),
      Promise.all(submittedEpochs.map((e) => hub.getVerdict(e, at))),
      Promise.all(pairs.map(async (p) => (await staking.delegationOf(p.operator, p.delegator, at)).shares)),
      Promise.all(needCumulative.map((e) => schedule.cumulativeEmission(e, at))),
      Promise.all(needSplits.map((e) => schedule.classSplitAt(e, at))),
      Promise.all(eventBlocks.map((b) => provider.getBlock(b))),
      Promise.all(
        proposals.map(async (p) =>
          governor === null
            ? null
            : Promise.all([governor.state(p.args.proposalId, at), governor.proposalVotes(p.args.proposalId, at)]),
        ),
      ),
      Promise.all(
        submittedEpochs.map(async (e) =>
          confirmer === null || cache.confirmed.has(e) ? ZeroHash : confirmer.confirmedVerdict(e, at),
        ),
      ),
    ]);
  needCumulative.forEach((e, i) => {
    if (e <= currentEpoch) cache.cumulative.set(e, cumulativeValues[i]);
  });
  needSplits.forEach((e, i) => {
    if (e <= currentEpoch) cache.splits.set(e, splitValues[i].map(Number));
  });
  const cumulativeNow = new Map(needCumulative.map((e, i) => [e, cumulativeValues[i]]));
  const splitsNow = new Map(needSplits.map((e, i) => [e, splitValues[i].map(Number)]));
  blocks.forEach((b, i) => {
    if (b !== null) cache.blockTimes.set(eventBlocks[i], b.timestamp);
  });
  submittedEpochs.forEach((e, i) => {
    if (confirmations[i] !== ZeroHash) cache.confirmed.add(e);
  });

  const operatorAddresses = [
    ...new Map(
      [...devices.map((x) => x.operator), ...staked.map((e) => e.args.operator)].map((a) => [lower(a), a]),
    ).values(),
  ];
  const stakes = await Promise.all(operatorAddresses.map((op) => staking.getOperatorStake(op, at)));

  // 3. The oracles: who answers, their account of each verdict, the verdict files.
  const verdictOf = new Map(submittedEpochs.map((e, i) => [e, verdicts[i]]));
  const finalisedEpochs = submittedEpochs.filter((e) => Number(verdictOf.get(e)!.status) === VerdictStatus.Finalised).sort((a, b) => a - b);
  const probeEpoch = Math.max(0, currentEpoch - 1);
  const probes = await Promise.all(
    config.oracles.map((o) => getJson<OracleVerdictView>(oracleUrl(o, `/v1/verdicts/${probeEpoch}`))),
  );
  const oracles = config.oracles.map((url, i) => ({ url, up: probes[i].reached }));
  const upFirst = [...config.oracles.keys()].sort((a, b) => Number(oracles[b].up) - Number(oracles[a].up));
  const fromOracles = async <T>(path: string, accept: (t: T) => boolean): Promise<T | null> => {
    for (const i of upFirst) {
      if (!oracles[i].up) continue;
      const { body } = await getJson<T>(oracleUrl(config.oracles[i], path));
      if (body !== null && accept(body)) return body;
    }
    return null;
  };
  const viewOf = async (e: number): Promise<OracleVerdictView | null> => {
    const cached = cache.views.get(e);
    if (cached !== undefined) return cached;
    const probed = e === probeEpoch ? probes.find((p) => p.body !== null)?.body ?? null : null;
    const view = probed ?? (await fromOracles<OracleVerdictView>(`/v1/verdicts/${e}`, () => true));
    if (view !== null && finalisedEpochs.includes(e)) cache.views.set(e, view);
    return view;
  };
  const fileOf = async (e: number): Promise<VerdictFileView | null> => {
    const root = lower(verdictOf.get(e)!.rewardsRoot);
    return fromOracles<VerdictFileView>(`/v1/verdicts/${e}/file`, (f) => lower(f.rewardsRoot) === root);
  };
  const latestFinalised = finalisedEpochs.length === 0 ? null : finalisedEpochs[finalisedEpochs.length - 1];
  const [views] = await Promise.all([
    mapLimit(submittedEpochs, 4, viewOf),
    mapLimit(
      finalisedEpochs.filter((e) => !cache.allocated.has(e) || (e === latestFinalised && cache.earned?.epoch !== e)),
      2,
      async (e) => {
        const file = await fileOf(e);
        if (file === null) return;
        cache.allocated.set(e, allocatedByClass(file.classes));
        if (e === latestFinalised) {
          cache.earned = { epoch: e, byDevice: new Map(file.rewards.map((r) => [lower(r.device), BigInt(r.cumulative)])) };
        }
      },
    ),
  ]);
  const viewByEpoch = new Map(submittedEpochs.map((e, i) => [e, views[i]]));

  // 4. Rows.
  const slashedByDevice = totalsBy(penalties, (p) => p.args.device, (p) => p.args.slashed);
  const slashedByOperator = totalsBy(penalties, (p) => p.args.operator, (p) => p.args.slashed);
  const claimedByDevice = new Map<string, bigint>();
  for (const c of claims) {
    const k = lower(c.args.device);
    if ((claimedByDevice.get(k) ?? 0n) < c.args.cumulativeAmount) claimedByDevice.set(k, c.args.cumulativeAmount);
  }
  const earnedOf = (device: string): bigint => cache.earned?.byDevice.get(lower(device)) ?? 0n;

  const deviceRows: DeviceRow[] = deviceAddresses.map((address, i) => {
    const dev = devices[i];
    const penalised = slashedByDevice.get(lower(address));
    const earned = earnedOf(address);
    const claimed = claimedByDevice.get(lower(address)) ?? 0n;
    return {
      address,
      operator: dev.operator,
      resourceClass: className(dev.resourceClass),
      capacity: dev.capacity.toString(),
      h3: dev.location === 0n ? "" : dev.location.toString(16),
      status: statusName(dev.status),
      state: deviceState(dev.status, penalised?.count ?? 0),
      slashed: (penalised?.total ?? 0n).toString(),
      faults: penalised?.count ?? 0,
      earned: earned.toString(),
      claimable: claimable(earned, claimed).toString(),
      claimed: claimed.toString(),
    };
  });

  const delegators = delegatorCounts(pairs.map((p, i) => ({ operator: p.operator, delegator: p.delegator, shares: positions[i] })));
  const operatorRows: OperatorRow[] = operatorAddresses.map((address, i) => {
    const mine = deviceRows.filter((r) => lower(r.operator) === lower(address));
    return {
      address,
      selfStake: stakes[i].selfStake.toString(),
      delegated: stakes[i].delegated.tokens.toString(),
      delegators: delegators.get(lower(address)) ?? 0,
      commissionBps: Number(stakes[i].commissionBps),
      devices: mine.length,
      earned: mine.reduce((s, r) => s + BigInt(r.earned), 0n).toString(),
      slashed: (slashedByOperator.get(lower(address))?.total ?? 0n).toString(),
    };
  });

  const submittedEvent = new Map(submitted.map((e) => [Number(e.args.epoch), e]));
  const finalisedBlock = new Map(finalisedEvents.map((e) => [Number(e.args.epoch), e.blockNumber]));
  const faultsByEpoch = totalsBy(faultsApplied, (f) => f.args.epoch.toString(), (f) => f.args.slashed);
  const epochRows: EpochRow[] = [];
  for (let e = 0; e < currentEpoch; e++) {
    const v = verdictOf.get(e);
    const event = submittedEvent.get(e);
    const end = genesis + BigInt(e + 1) * epochLength;
    const status = epochStatus(v?.status ?? 0, end, submissionWindow, now);
    const live = v !== undefined && Number(v.status) !== 0;
    const view = viewByEpoch.get(e) ?? null;
    const signed = live && view !== null ? signersOf(view, v.digest) : { signedBy: [], dissenters: [] };
    const faults = faultsByEpoch.get(String(e));
    const fb = finalisedBlock.get(e);
    epochRows.push({
      epoch: e,
      status,
      rewardsRoot: live ? v.rewardsRoot : null,
      faultsRoot: live ? v.faultsRoot : null,
      leasesRoot: live ? v.leasesRoot : null,
      digest: live ? v.digest : null,
      signers: live ? Number(v.signers) : 0,
      signedBy: signed.signedBy,
      dissenters: signed.dissenters,
      submittedAt: live && event !== undefined ? cache.blockTimes.get(event.blockNumber) ?? null : null,
      challengeEndsAt: live ? Number(v.challengeEndsAt) : null,
      finalisedAt: fb === undefined ? null : cache.blockTimes.get(fb) ?? null,
      faultsApplied: faults?.count ?? 0,
      slashed: (faults?.total ?? 0n).toString(),
      confirmed: cache.confirmed.has(e),
    });
  }

  const known = knownTargets(config);
  const proposalRows: ProposalRow[] = proposals.map((p, i) => {
    const [state, votes] = proposalViews[i] ?? [0n, [0n, 0n, 0n]];
    const { targets, values, calldatas } = p.args;
    return {
      id: p.args.proposalId.toString(),
      description: p.args.description,
      state: proposalStateName(state),
      changes: targets.map((t, k) => describeCall(t, calldatas[k], values[k], known)),
      proposer: p.args.proposer,
      voteStart: Number(p.args.voteStart),
      voteEnd: Number(p.args.voteEnd),
      forVotes: votes[1].toString(),
      againstVotes: votes[0].toString(),
    };
  });

  const cumulativeAt = (e: number): bigint => cache.cumulative.get(e) ?? cumulativeNow.get(e)!;
  const splitAt = (e: number): number[] => cache.splits.get(e) ?? splitsNow.get(e)!;
  const epochs = Array.from({ length: currentEpoch + 1 }, (_, e) => e);
  const points = emissionSeries({
    cumulative: [...epochs, currentEpoch + 1].map(cumulativeAt),
    splits: epochs.map(splitAt),
    allocated: epochs.map((e) => cache.allocated.get(e) ?? null),
    roots: roots.map((r) => ({ epoch: Number(r.args.epoch), minted: r.args.minted })),
  });

  return {
    chainId: d.chainId,
    block,
    timestamp: latest.timestamp,
    currentEpoch,
    epochLength: Number(epochLength),
    genesis: Number(genesis),
    devices: deviceRows,
    operators: operatorRows,
    emission: {
      points,
      cap: cap.toString(),
      budget: budget.toString(),
      totalMinted: totalMinted.toString(),
      totalClaimed: totalClaimed.toString(),
    },
    epochs: epochRows,
    proposals: proposalRows,
    oracles,
  };
}

/** The deployment's contracts a proposal may call, by lower-cased address, with their full ABIs. */
function knownTargets(config: ExplorerConfig): Map<string, KnownTarget> {
  const d = config.deployment;
  const entries: [string, string | undefined, () => Interface][] = [
    ["MeshToken", d.MeshToken, () => MeshToken__factory.createInterface()],
    ["ProtocolConfig", d.ProtocolConfig, () => ProtocolConfig__factory.createInterface()],
    ["ProviderRegistry", d.ProviderRegistry, () => ProviderRegistry__factory.createInterface()],
    ["Staking", d.Staking, () => Staking__factory.createInterface()],
    ["Slashing", d.Slashing, () => Slashing__factory.createInterface()],
    ["EmissionSchedule", d.EmissionSchedule, () => EmissionSchedule__factory.createInterface()],
    ["EpochSeed", d.EpochSeed, () => EpochSeed__factory.createInterface()],
    ["OracleHub", d.OracleHub, () => OracleHub__factory.createInterface()],
    ["RewardsDistributor", d.RewardsDistributor, () => RewardsDistributor__factory.createInterface()],
    ["VotingPower", d.VotingPower, () => VotingPower__factory.createInterface()],
    ["MeshTimelock", d.MeshTimelock, () => MeshTimelock__factory.createInterface()],
    ["MeshGovernor", d.MeshGovernor, () => MeshGovernor__factory.createInterface()],
    ["FunctionsVerdictConfirmer", d.Functions?.confirmer, () => FunctionsVerdictConfirmer__factory.createInterface()],
  ];
  const out = new Map<string, KnownTarget>();
  for (const [name, address, iface] of entries) if (address !== undefined) out.set(lower(address), { name, iface: iface() });
  return out;
}
