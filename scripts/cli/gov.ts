/**
 * Governance: `gov delegate`, `gov propose` (a ProtocolConfig parameter change, checked against the on-chain bounds
 * before sending), `gov vote`, `gov queue`, `gov execute` (the proposal's actions are rebuilt from its ProposalCreated
 * event) and `gov show`.
 */
import { Command } from "commander";
import { id as keccakText } from "ethers";

import { ClassParam, FaultKind, FaultParam, Param, ResourceClass } from "../../sdk/enums";
import type { MeshGovernor, ProtocolConfig } from "../../typechain-types";
import { enumName, parseAddress, parseEnumName, parseParamValue, parseUint } from "./args";
import { globalsOf, governanceOf, openRead, openSend, withSession, type ReadSession } from "./context";
import { CliError } from "./errors";
import { formatDuration, formatMesh, formatTime, print, toJson } from "./format";

/** OpenZeppelin `IGovernor.ProposalState`, in order. */
export const ProposalState = {
  Pending: 0,
  Active: 1,
  Canceled: 2,
  Defeated: 3,
  Succeeded: 4,
  Queued: 5,
  Expired: 6,
  Executed: 7,
} as const;

/** `GovernorCountingSimple` support values. */
const Support = { against: 0, for: 1, abstain: 2 } as const;

export function govCommand(): Command {
  const gov = new Command("gov").description(
    "on-chain governance: delegate votes, propose, vote, queue, execute, show",
  );

  gov
    .command("delegate")
    .description("delegate the sending account's token votes (default: to itself, which activates them)")
    .argument("[to]", "delegatee address (default: the sending account)")
    .action(async (to: string | undefined, _options: object, command: Command) => {
      const delegatee = to === undefined ? undefined : parseAddress(to, "delegatee");
      await withSession(openSend(globalsOf(command)), async (s) => {
        const target = delegatee ?? s.account;
        await s.send(`delegate votes to ${target}`, s.meshwork.token.delegate(target));
      });
    });

  const paramNames = [...Object.keys(Param), ...Object.keys(ClassParam), ...Object.keys(FaultParam)];
  gov
    .command("propose")
    .description("propose a ProtocolConfig parameter change (refused before sending if outside the on-chain bounds)")
    .requiredOption("--param <name>", `parameter: ${paramNames.join(", ")}`)
    .requiredOption("--value <v>", 'new value: a whole number as the contract takes it, or MESH like "100MESH"')
    .option(
      "--class <class>",
      `resource class, for ${Object.keys(ClassParam).join("/")}: ${Object.keys(ResourceClass).join(", ")}`,
    )
    .option(
      "--fault <kind>",
      `fault kind, for ${Object.keys(FaultParam).join("/")}: ${Object.keys(FaultKind).join(", ")}`,
    )
    .option("--description <text>", "proposal description (default: generated from the change)")
    .addHelpText(
      "after",
      "\nExamples:\n  $ npm run cli -- gov propose --param RateBps --fault MissedDuty --value 20\n" +
        "  $ npm run cli -- gov propose --param StakePerUnit --class Coverage --value 150MESH\n" +
        "  $ npm run cli -- gov propose --param UnbondingPeriod --value 864000",
    )
    .action(async (options: ProposeOptions, command: Command) => {
      await propose(options, command);
    });

  gov
    .command("vote")
    .description("vote on an active proposal")
    .argument("<proposalId>", "proposal id (decimal or 0x hex)")
    .argument("<support>", "for, against or abstain")
    .option("--reason <text>", "reason recorded with the vote")
    .action(async (idText: string, supportText: string, options: { reason?: string }, command: Command) => {
      const proposalId = parseProposalId(idText);
      const support = parseEnumName(Support, supportText, "vote (for, against, abstain)");
      await withSession(openSend(globalsOf(command)), async (s) => {
        const governor = governanceOf(s).governor;
        const state = await stateOf(governor, proposalId);
        if (state !== ProposalState.Active) {
          const [snapshot, deadline, now] = await Promise.all([
            governor.proposalSnapshot(proposalId),
            governor.proposalDeadline(proposalId),
            s.now(),
          ]);
          const when =
            state === ProposalState.Pending
              ? `: voting opens after ${formatTime(snapshot)}, in ${formatDuration(snapshot + 1n - now)}`
              : `: voting closed at ${formatTime(deadline)}`;
          throw new CliError(`proposal ${proposalId} is ${enumName(ProposalState, state)}, not Active${when}`);
        }
        const tx =
          options.reason === undefined
            ? governor.castVote(proposalId, support)
            : governor.castVoteWithReason(proposalId, support, options.reason);
        await s.send(`vote ${supportText.toLowerCase()}`, tx);
      });
    });

  gov
    .command("queue")
    .description("queue a succeeded proposal in the timelock")
    .argument("<proposalId>", "proposal id")
    .action(async (idText: string, _options: object, command: Command) => {
      const proposalId = parseProposalId(idText);
      await withSession(openSend(globalsOf(command)), async (s) => {
        const governor = governanceOf(s).governor;
        await requireState(governor, proposalId, ProposalState.Succeeded, "queue");
        const p = await findProposal(s, proposalId);
        await s.send("queue", governor.queue(p.targets, p.values, p.calldatas, keccakText(p.description)));
        const eta = await governor.proposalEta(proposalId);
        print(`executable after ${formatTime(eta)}`);
      });
    });

  gov
    .command("execute")
    .description("execute a queued proposal once its timelock delay has passed")
    .argument("<proposalId>", "proposal id")
    .action(async (idText: string, _options: object, command: Command) => {
      const proposalId = parseProposalId(idText);
      await withSession(openSend(globalsOf(command)), async (s) => {
        const governor = governanceOf(s).governor;
        await requireState(governor, proposalId, ProposalState.Queued, "execute");
        const [eta, now] = await Promise.all([governor.proposalEta(proposalId), s.now()]);
        if (eta > now) {
          throw new CliError(
            `proposal ${proposalId} is queued until ${formatTime(eta)}, ${formatDuration(eta - now)} from now`,
          );
        }
        const p = await findProposal(s, proposalId);
        await s.send("execute", governor.execute(p.targets, p.values, p.calldatas, keccakText(p.description)));
      });
    });

  gov
    .command("show")
    .description("a proposal's state, votes, deadlines and eta")
    .argument("<proposalId>", "proposal id")
    .option("--json", "machine-readable output")
    .action(async (idText: string, options: { json?: boolean }, command: Command) => {
      const proposalId = parseProposalId(idText);
      await withSession(openRead(globalsOf(command)), async (s) => {
        const view = await proposalView(s, proposalId);
        if (options.json === true) print(toJson(view));
        else print(...proposalLines(view));
      });
    });

  return gov;
}

interface ProposeOptions {
  param: string;
  value: string;
  class?: string;
  fault?: string;
  description?: string;
}

/** A parameter change: the call to make and what the chain says about it. */
export interface ParamChange {
  label: string;
  calldata: string;
  value: bigint;
  current: bigint;
  min: bigint;
  max: bigint;
}

/** Builds the `ProtocolConfig` call for `--param` (and `--class`/`--fault`) and reads its bounds and current value. */
export async function paramChange(config: ProtocolConfig, options: ProposeOptions): Promise<ParamChange> {
  const value = parseParamValue(options.value);
  const kind = paramKind(options.param);
  if (kind.type === "global") {
    if (options.class !== undefined || options.fault !== undefined) {
      throw new CliError(`${kind.name} is a global parameter: --class and --fault do not apply`);
    }
    const [[min, max], current] = await Promise.all([config.paramBounds(kind.id), config.param(kind.id)]);
    const calldata = config.interface.encodeFunctionData("setParam", [kind.id, value]);
    return { label: kind.name, calldata, value, current, min, max };
  }
  if (kind.type === "class") {
    if (options.class === undefined) throw new CliError(`${kind.name} is per resource class: pass --class <class>`);
    if (options.fault !== undefined) throw new CliError(`${kind.name} is per resource class: --fault does not apply`);
    const rc = parseEnumName(ResourceClass, options.class, "resource class");
    const [[min, max], current] = await Promise.all([config.classParamBounds(kind.id), config.classParam(rc, kind.id)]);
    const calldata = config.interface.encodeFunctionData("setClassParam", [rc, kind.id, value]);
    return { label: `${kind.name} of ${enumName(ResourceClass, rc)}`, calldata, value, current, min, max };
  }
  if (options.fault === undefined) throw new CliError(`${kind.name} is per fault kind: pass --fault <kind>`);
  if (options.class !== undefined) throw new CliError(`${kind.name} is per fault kind: --class does not apply`);
  const fk = parseEnumName(FaultKind, options.fault, "fault kind");
  const [[min, max], current] = await Promise.all([config.faultParamBounds(kind.id), config.faultParam(fk, kind.id)]);
  const calldata = config.interface.encodeFunctionData("setFaultParam", [fk, kind.id, value]);
  return { label: `${kind.name} of ${enumName(FaultKind, fk)}`, calldata, value, current, min, max };
}

type ParamKind =
  | { type: "global"; name: string; id: Param }
  | { type: "class"; name: string; id: ClassParam }
  | { type: "fault"; name: string; id: FaultParam };

function paramKind(text: string): ParamKind {
  const find = (e: Record<string, number>): string | undefined =>
    Object.keys(e).find((k) => k === text) ?? Object.keys(e).find((k) => k.toLowerCase() === text.toLowerCase());
  const global = find(Param);
  if (global !== undefined) return { type: "global", name: global, id: Param[global as keyof typeof Param] };
  const perClass = find(ClassParam);
  if (perClass !== undefined)
    return { type: "class", name: perClass, id: ClassParam[perClass as keyof typeof ClassParam] };
  const perFault = find(FaultParam);
  if (perFault !== undefined)
    return { type: "fault", name: perFault, id: FaultParam[perFault as keyof typeof FaultParam] };
  const all = [...Object.keys(Param), ...Object.keys(ClassParam), ...Object.keys(FaultParam)];
  throw new CliError(`unknown parameter "${text}"; one of: ${all.join(", ")}`);
}

async function propose(options: ProposeOptions, command: Command): Promise<void> {
  await withSession(openSend(globalsOf(command)), async (s) => {
    const { governor, votes } = governanceOf(s);
    const config = s.meshwork.config;
    const change = await paramChange(config, options);
    if (change.value < change.min || change.value > change.max) {
      throw new CliError(
        `${change.label} = ${change.value} is outside its on-chain bounds [${change.min}, ${change.max}]: not proposing`,
      );
    }
    if (change.value === change.current)
      throw new CliError(`${change.label} is already ${change.current}: nothing to propose`);
    const [have, threshold] = await Promise.all([votes.getVotes(s.account), governor.proposalThreshold()]);
    if (have < threshold) {
      throw new CliError(
        `${s.account} has ${formatMesh(have)} of votes, the proposal threshold is ${formatMesh(threshold)} ` +
          "(token votes count once delegated: meshwork gov delegate)",
      );
    }
    const description = options.description ?? `Set ${change.label} from ${change.current} to ${change.value}`;
    const target = await config.getAddress();
    const receipt = await s.send("propose", governor.propose([target], [0n], [change.calldata], description));
    for (const log of receipt.logs) {
      const parsed = governor.interface.parseLog({ topics: [...log.topics], data: log.data });
      if (parsed?.name === "ProposalCreated") {
        const proposalId = parsed.args.getValue("proposalId") as bigint;
        const [snapshot, deadline] = await Promise.all([
          governor.proposalSnapshot(proposalId),
          governor.proposalDeadline(proposalId),
        ]);
        print(`proposal id ${proposalId}`, `voting from ${formatTime(snapshot)} to ${formatTime(deadline)}`);
      }
    }
  });
}

function parseProposalId(text: string): bigint {
  if (/^0x[0-9a-fA-F]{1,64}$/.test(text)) return BigInt(text);
  return parseUint(text, "proposal id");
}

async function stateOf(governor: MeshGovernor, proposalId: bigint): Promise<number> {
  if ((await governor.proposalSnapshot(proposalId)) === 0n) throw new CliError(`unknown proposal ${proposalId}`);
  return Number(await governor.state(proposalId));
}

/** Refuses, before sending, an action the proposal's state does not allow. */
async function requireState(governor: MeshGovernor, proposalId: bigint, wanted: number, action: string): Promise<void> {
  const state = await stateOf(governor, proposalId);
  if (state !== wanted) {
    const [is, should] = [enumName(ProposalState, state), enumName(ProposalState, wanted)];
    throw new CliError(`proposal ${proposalId} is ${is}, not ${should}: cannot ${action}`);
  }
}

interface ProposalActions {
  proposer: string;
  targets: string[];
  values: bigint[];
  calldatas: string[];
  description: string;
}

/** The proposal's actions and description from its ProposalCreated event (the governor stores only their hash). */
async function findProposal(s: ReadSession, proposalId: bigint): Promise<ProposalActions> {
  const governor = governanceOf(s).governor;
  const events = await governor.queryFilter(governor.filters.ProposalCreated(), s.meshwork.deployment.block ?? 0);
  const event = events.find((e) => e.args.proposalId === proposalId);
  if (event === undefined) throw new CliError(`no ProposalCreated event for proposal ${proposalId}`);
  return {
    proposer: event.args.proposer,
    targets: [...event.args.targets],
    values: [...event.args[3]],
    calldatas: [...event.args.calldatas],
    description: event.args.description,
  };
}

interface ProposalView {
  proposalId: bigint;
  state: string;
  proposer: string;
  description: string;
  votes: { for: bigint; against: bigint; abstain: bigint };
  quorum: bigint | null;
  voteStart: bigint;
  voteEnd: bigint;
  eta: bigint | null;
  actions: { target: string; value: bigint; calldata: string; call: string }[];
  now: bigint;
}

async function proposalView(s: ReadSession, proposalId: bigint): Promise<ProposalView> {
  const governor = governanceOf(s).governor;
  const state = await stateOf(governor, proposalId);
  const [p, [against, forVotes, abstain], voteStart, voteEnd, eta, now] = await Promise.all([
    findProposal(s, proposalId),
    governor.proposalVotes(proposalId),
    governor.proposalSnapshot(proposalId),
    governor.proposalDeadline(proposalId),
    governor.proposalEta(proposalId),
    s.now(),
  ]);
  const quorum = voteStart < now ? await governor.quorum(voteStart) : null;
  const configAddress = await s.meshwork.config.getAddress();
  const actions = p.targets.map((target, i) => {
    let call = "";
    if (target === configAddress) {
      const parsed = s.meshwork.config.interface.parseTransaction({ data: p.calldatas[i] });
      if (parsed !== null) call = describeConfigCall(parsed.name, parsed.args.toArray() as bigint[]);
    }
    return { target, value: p.values[i], calldata: p.calldatas[i], call };
  });
  return {
    proposalId,
    state: enumName(ProposalState, state),
    proposer: p.proposer,
    description: p.description,
    votes: { for: forVotes, against, abstain },
    quorum,
    voteStart,
    voteEnd,
    eta: eta === 0n ? null : eta,
    actions,
    now,
  };
}

function describeConfigCall(name: string, args: bigint[]): string {
  if (name === "setParam") return `setParam(${enumName(Param, args[0])}, ${args[1]})`;
  if (name === "setClassParam") {
    return `setClassParam(${enumName(ResourceClass, args[0])}, ${enumName(ClassParam, args[1])}, ${args[2]})`;
  }
  if (name === "setFaultParam") {
    return `setFaultParam(${enumName(FaultKind, args[0])}, ${enumName(FaultParam, args[1])}, ${args[2]})`;
  }
  return `${name}(${args.join(", ")})`;
}

function proposalLines(v: ProposalView): string[] {
  const lines = [
    `proposal    ${v.proposalId}`,
    `state       ${v.state}`,
    `proposer    ${v.proposer}`,
    `description ${JSON.stringify(v.description)}`,
    `votes       for ${formatMesh(v.votes.for)}, against ${formatMesh(v.votes.against)}, abstain ${formatMesh(v.votes.abstain)}`,
    `quorum      ${v.quorum === null ? "(fixed when voting opens)" : formatMesh(v.quorum)}`,
    `voting      ${formatTime(v.voteStart)} .. ${formatTime(v.voteEnd)}`,
    `eta         ${v.eta === null ? "-" : `${formatTime(v.eta)}${v.eta > v.now ? `, in ${formatDuration(v.eta - v.now)}` : ""}`}`,
  ];
  for (const a of v.actions) lines.push(`  action    ${a.target} ${a.call || a.calldata}`);
  return lines;
}
