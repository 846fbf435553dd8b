/**
 * Adversarial suite, chain faults: three in-process oracle nodes (`startOracleNode`, committee of 3, threshold 2) reach
 * the in-process Hardhat network through a fault-injecting JSON-RPC proxy. The proxy can hang every request (the
 * endpoint is down), hang / answer HTTP 500 / answer a JSON-RPC error for a fraction of requests, and forward
 * `eth_sendRawTransaction` but drop its answer (the transaction lands, the oracle sees a timeout).
 *
 * Checked: the epoch's verdict is submitted once, finalised once and its faults applied once (one event each); the
 * failed ticks back off exponentially (the delays logged grow within a streak, the streak is warned about once) and
 * the loop recovers when the proxy heals; the transactions that reverted are counted and reported. Then, with
 * automine off, a relay whose answer was lost and which sits in the mempool is waited for, not sent again.
 * Also here: clock skew between oracles (ChainTime), and the building blocks (backoffDelay, ChainProvider retries).
 * MESHWORK_FAULTS_LOG=<file> keeps the oracles' debug logs (JSON lines) for a failed run.
 */
import { expect } from "chai";
import { ethers, Network as EthersNetwork } from "ethers";
import hre from "hardhat";
import { JsonRpcHandler } from "hardhat/internal/hardhat-network/jsonrpc/handler";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";

import { createFleet, fleetProofs, type Fleet } from "../../oracles/agent";
import { ChainEpochClock, ChainProvider, ChainTime, referenceBlock } from "../../oracles/chain";
import { backoffDelay, faultId } from "../../oracles/node/epoch-driver";
import { nodeConfigSchema } from "../../oracles/node/config";
import { startOracleNode, type RunningOracle } from "../../oracles/node/server";
import { proofDomain, toProofJson } from "../../oracles/proof";
import { ResourceClass, VerdictStatus } from "../../sdk/enums";
import {
  advanceTo,
  deployNetwork,
  epochBounds,
  freePort,
  hardhatAccount,
  registerFleet,
  type Network,
} from "../../scripts/lib/localnet/network";
import { sleep, waitFor } from "../../scripts/lib/localnet/process";

/** Deterministic PRNG (mulberry32), so a run's faults can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface FaultMode {
  /** Hang every request (the endpoint is down). */
  down: boolean;
  /** Fractions of requests that hang, get HTTP 500, or get a JSON-RPC error (not forwarded). */
  hang: number;
  http500: number;
  rpcError: number;
  /** Forward eth_sendRawTransaction, then drop the answer (hang). */
  dropSendRaw: boolean;
}

const HEALTHY: FaultMode = { down: false, hang: 0, http500: 0, rpcError: 0, dropSendRaw: false };

/** A JSON-RPC proxy in front of `upstream` that injects faults according to `mode`. */
class FaultProxy {
  mode: FaultMode = { ...HEALTHY };
  readonly stats = { requests: 0, hung: 0, http500: 0, rpcErrors: 0, droppedSendRaw: 0, forwarded: 0 };
  private readonly hanging = new Set<ServerResponse>();
  private readonly random = prng(20261126);
  private server: Server | undefined;
  url = "";

  constructor(private readonly upstream: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private hang(res: ServerResponse): void {
    this.hanging.add(res);
    res.on("close", () => this.hanging.delete(res));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    this.stats.requests += 1;
    let calls: { id?: unknown; method?: string }[] = [];
    try {
      const parsed = JSON.parse(body) as unknown;
      calls = (Array.isArray(parsed) ? parsed : [parsed]) as typeof calls;
    } catch {
      // forwarded as is
    }
    const m = this.mode;
    const r = this.random();
    if (m.down || r < m.hang) {
      this.stats.hung += 1;
      return this.hang(res);
    }
    if (r < m.hang + m.http500) {
      this.stats.http500 += 1;
      res.writeHead(500, { "content-type": "text/plain" }).end("injected upstream failure");
      return;
    }
    if (r < m.hang + m.http500 + m.rpcError) {
      this.stats.rpcErrors += 1;
      const errors = calls.map((c) => ({
        jsonrpc: "2.0",
        id: c.id ?? null,
        error: { code: -32000, message: "injected JSON-RPC failure" },
      }));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(Array.isArray(JSON.parse(body)) ? errors : errors[0]));
      return;
    }
    const upstream = await fetch(this.upstream, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    const text = await upstream.text();
    this.stats.forwarded += 1;
    if (m.dropSendRaw && calls.some((c) => c.method === "eth_sendRawTransaction")) {
      this.stats.droppedSendRaw += 1;
      return this.hang(res);
    }
    res.writeHead(upstream.status, { "content-type": "application/json" }).end(text);
  }
}

interface LogLine {
  time: number;
  level: number;
  oracle: string;
  msg: string;
  retryInMs?: number;
  failures?: number;
}

const EPOCH_LENGTH = 7_200n;
const CHALLENGE_WINDOW = 3_600n;
const POLL_MS = 100;
const MAX_BACKOFF_MS = 3_200;
const RPC_TIMEOUT_MS = 500;

describe("adversarial: chain RPC faults (timeouts, 5xx, JSON-RPC errors, lost sendRawTransaction answers)", function () {
  this.timeout(120_000);

  let snapshot: string;
  let upstream: Server;
  let proxy: FaultProxy;
  let net: Network;
  let fleet: Fleet;
  let dir: string;
  let firstBlock: number;
  const oracles: { id: string; url: string; node: RunningOracle }[] = [];
  const logs: LogLine[] = [];

  const metric = async (url: string, name: string): Promise<number> => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
    return m === null ? NaN : Number(m[1]);
  };

  before(async function () {
    snapshot = (await hre.network.provider.request({ method: "evm_snapshot", params: [] })) as string;
    const handler = new JsonRpcHandler(hre.network.provider);
    upstream = createServer((req, res) => void handler.handleHttp(req, res));
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    proxy = new FaultProxy(upstreamUrl);
    await proxy.start();

    dir = mkdtempSync(path.join(tmpdir(), "meshwork-faults-chain-"));
    const keys = [1, 2, 3].map((i) => hardhatAccount(i));
    const deploymentFile = path.join(dir, "deployment.json");
    net = await deployNetwork(upstreamUrl, {
      oracles: keys.map((k) => k.address),
      threshold: 2,
      epochLength: EPOCH_LENGTH,
      challengeWindow: CHALLENGE_WINDOW,
      deploymentFile,
    });
    const registry = await net.contracts.registry.getAddress();
    fleet = createFleet({
      count: 6,
      seed: "faults-chain",
      proportions: { honest: 4, offline: 2 },
      classes: [ResourceClass.Energy, ResourceClass.Storage],
      domain: proofDomain(net.chainId, registry),
    });
    await registerFleet(net, fleet, { operators: 2 });
    firstBlock = (await net.provider.getBlockNumber()) + 1;

    const ports = await Promise.all(keys.map(() => freePort()));
    const ids = keys.map((_, i) => `oracle-${i + 1}`);
    const started = keys.map(async (key, i) => {
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString("utf8").split("\n"))
            if (line !== "") logs.push(JSON.parse(line) as LogLine);
          done();
        },
      });
      const logger = pino({ level: "debug", base: { oracle: ids[i] } }, sink);
      const config = nodeConfigSchema.parse({
        rpcUrl: proxy.url,
        deployment: deploymentFile,
        oracleKey: key.privateKey,
        port: ports[i],
        storePath: path.join(dir, `${ids[i]}.sqlite`),
        peers: ids.flatMap((id, j) => (j === i ? [] : [{ id, url: `http://127.0.0.1:${ports[j]}` }])),
        pollMs: POLL_MS,
        syncIntervalMs: 200,
        // Longer than a send can take here (RPC timeout x attempts), so a member steps in only for a dead one.
        staggerMs: 3_000,
        peerTimeoutMs: 1_000,
        rpcTimeoutMs: RPC_TIMEOUT_MS,
        txTimeoutMs: 5_000,
        maxBackoffMs: MAX_BACKOFF_MS,
      });
      const node = await startOracleNode(config, { handleSignals: false, logger });
      return { id: ids[i], url: `http://127.0.0.1:${ports[i]}`, node };
    });
    oracles.push(...(await Promise.all(started)));
  });

  after(async function () {
    if (process.env.MESHWORK_FAULTS_LOG !== undefined) {
      writeFileSync(process.env.MESHWORK_FAULTS_LOG, logs.map((l) => JSON.stringify(l)).join("\n"));
    }
    await Promise.all(oracles.map((o) => o.node.close()));
    await proxy?.close();
    upstream?.closeAllConnections();
    await new Promise<void>((resolve) => upstream?.close(() => resolve()) ?? resolve());
    net?.provider.destroy();
    if (snapshot !== undefined) await hre.network.provider.request({ method: "evm_revert", params: [snapshot] });
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("submits, finalises and applies the faults of the epoch exactly once, backing off and recovering", async function () {
    const { hub, seeds, slashing } = net.contracts;
    const epoch = 0n;

    // Epoch 0 through a healthy proxy: the seed, then the fleet's proofs to the first oracle (sync spreads them).
    const t0 = Date.now();
    await waitFor("seed of epoch 0", async () => seeds.hasSeed(epoch), { timeoutMs: 20_000, everyMs: 100 });
    const bounds = await epochBounds(net.contracts.config, epoch);
    await advanceTo(net.provider, bounds.end - 30n);
    const proofs = fleetProofs(fleet, epoch, await seeds.seedOf(epoch), bounds.window);
    // Until the first oracle's chain time has caught up with the jump, proofs are "in the future": post until taken.
    let pending = proofs;
    await waitFor(
      "proofs accepted",
      async () => {
        const posted = await fetch(`${oracles[0].url}/v1/proofs/batch`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(pending.map(toProofJson)),
        });
        const batch = (await posted.json()) as { results: { index: number; accepted: boolean; error?: string }[] };
        expect(batch.results.every((r) => r.accepted || r.error === "future_timestamp")).to.equal(true);
        pending = pending.filter((_, i) => !batch.results[i].accepted);
        return pending.length === 0;
      },
      { timeoutMs: 10_000, everyMs: 100 },
    );

    const ready = Date.now() - t0;
    // The endpoint goes down as the epoch ends: every request hangs until the RPC timeout.
    proxy.mode = { ...HEALTHY, down: true };
    const downAt = Date.now();
    await advanceTo(net.provider, bounds.end + 1n);
    // Down until every loop has failed three times in a row.
    await waitFor(
      "three failed ticks per oracle",
      async () =>
        (await Promise.all(oracles.map((o) => metric(o.url, "meshwork_oracle_tick_failure_streak")))).every(
          (s) => s >= 3,
        ),
      { timeoutMs: 20_000, everyMs: 100 },
    );
    expect(Number((await hub.getVerdict(epoch)).status)).to.equal(VerdictStatus.None);
    const streaksDown = await Promise.all(oracles.map((o) => metric(o.url, "meshwork_oracle_tick_failure_streak")));
    const backoffDown = await Promise.all(oracles.map((o) => metric(o.url, "meshwork_oracle_tick_backoff_ms")));

    // Then flaky: 2 % hang, 5 % HTTP 500, 5 % JSON-RPC errors, and every sendRawTransaction answer lost.
    proxy.mode = { down: false, hang: 0.02, http500: 0.05, rpcError: 0.05, dropSendRaw: true };
    const flakyAt = Date.now();
    await waitFor(
      "verdict of epoch 0",
      async () => Number((await hub.getVerdict(epoch)).status) !== VerdictStatus.None,
      {
        timeoutMs: 40_000,
        everyMs: 100,
      },
    );
    const submittedAt = Date.now();
    const { challengeEndsAt } = await hub.getVerdict(epoch);
    await advanceTo(net.provider, challengeEndsAt + 1n);
    await waitFor(
      "finalisation of epoch 0",
      async () => Number((await hub.getVerdict(epoch)).status) === VerdictStatus.Finalised,
      { timeoutMs: 40_000, everyMs: 100 },
    );
    const file = await waitFor(
      "verdict file",
      async () => {
        const response = await fetch(`${oracles[1].url}/v1/verdicts/${epoch}/file`);
        return response.ok ? ((await response.json()) as { faults: { device: string; kind: number }[] }) : undefined;
      },
      { timeoutMs: 10_000, everyMs: 100 },
    );
    expect(file.faults.length, "offline devices are faulted").to.equal(2);
    const ids = file.faults.map((f) => faultId(f.device, f.kind, epoch));
    await waitFor(
      "faults applied",
      async () => (await Promise.all(ids.map((id) => slashing.penalised(id)))).every(Boolean),
      {
        timeoutMs: 40_000,
        everyMs: 100,
      },
    );
    const settledAt = Date.now();

    // Heal: every loop recovers (streak back to 0) and keeps ticking.
    proxy.mode = { ...HEALTHY };
    await waitFor(
      "recovery",
      async () =>
        (await Promise.all(oracles.map((o) => metric(o.url, "meshwork_oracle_tick_failure_streak")))).every(
          (s) => s === 0,
        ),
      { timeoutMs: 20_000, everyMs: 100 },
    );
    const recovered = Date.now() - settledAt;
    await sleep(4 * POLL_MS);

    // Exactly once on-chain.
    const submitted = await hub.queryFilter(hub.filters.VerdictSubmitted(epoch));
    const finalised = await hub.queryFilter(hub.filters.VerdictFinalised(epoch));
    const applied = await hub.queryFilter(hub.filters.FaultApplied(epoch));
    const penalised = await slashing.queryFilter(slashing.filters.FaultPenalised());
    expect(submitted.length, "VerdictSubmitted events").to.equal(1);
    expect(finalised.length, "VerdictFinalised events").to.equal(1);
    expect(applied.length, "FaultApplied events").to.equal(2);
    expect(penalised.length, "FaultPenalised events").to.equal(2);
    expect(new Set(applied.map((e) => e.args.device)).size).to.equal(2);

    // Every transaction since the oracles started, and those that reverted.
    const latest = await net.provider.getBlockNumber();
    const byOracle = new Map<string, number>();
    const calls: string[] = [];
    let reverted = 0;
    let total = 0;
    const sent: { data: string; from: string; ok: boolean }[] = [];
    for (let n = firstBlock; n <= latest; n++) {
      const block = await net.provider.getBlock(n);
      for (const hash of block?.transactions ?? []) {
        const receipt = (await net.provider.getTransactionReceipt(hash))!;
        const tx = (await net.provider.getTransaction(hash))!;
        const call = [hub, seeds].map((c) => c.interface.parseTransaction(tx)).find((d) => d !== null);
        if (receipt.status !== 1) {
          const why = await net.provider
            .call({ from: tx.from, to: tx.to, data: tx.data, gasLimit: tx.gasLimit, blockTag: receipt.blockNumber - 1 })
            .then(
              () => "call succeeds",
              (e: Error) => e.message.slice(0, 200),
            );
          console.log(
            `      reverted: ${hash} from ${tx.from} gas ${receipt.gasUsed}/${tx.gasLimit} block ${receipt.blockNumber} (${why})`,
          );
        }
        calls.push(
          `${call?.name ?? tx.data.slice(0, 10)}(${call !== undefined && call.args.length > 0 ? String(call.args[0]).slice(0, 12) : ""})${receipt.status === 1 ? "" : " REVERTED"}`,
        );
        total += 1;
        if (receipt.status !== 1) reverted += 1;
        sent.push({ data: tx.data, from: receipt.from, ok: receipt.status === 1 });
        byOracle.set(receipt.from, (byOracle.get(receipt.from) ?? 0) + 1);
      }
    }
    // Seeds of epochs 0 and 1, one relay, one finalisation, two faults: nothing more succeeded. The rotation is a
    // stagger, not a lock: rarely two members act in the same instant, both pass gas estimation and the later one's
    // transaction reverts on-chain ("already done"). That costs gas and changes nothing (the effects above are exactly
    // once); no oracle ever sends the same action twice itself (its transactions are tracked by hash).
    expect(total - reverted, `successful transactions: ${calls.join(", ")}`).to.equal(6);
    expect(reverted, `reverted transactions: ${calls.join(", ")}`).to.be.at.most(1);
    for (const r of sent.filter((t) => !t.ok)) {
      const done = sent.find((t) => t.ok && t.data === r.data);
      expect(done?.from, "a reverted transaction duplicates another member's successful one").to.not.equal(undefined);
      expect(done!.from, "never the same oracle twice").to.not.equal(r.from);
    }
    expect(proxy.stats.droppedSendRaw, "sendRawTransaction answers dropped").to.be.greaterThan(0);

    // Backoff: within each oracle's streaks the announced delays never shrink and grow overall; one warning per streak.
    const growth: string[] = [];
    for (const o of oracles) {
      const mine = logs.filter((l) => l.oracle === o.id);
      const failures = mine.filter((l) => l.msg.startsWith("epoch tick failed"));
      const warns = mine.filter((l) => l.msg.startsWith("epoch tick failed;"));
      const recoveries = mine.filter((l) => l.msg === "epoch loop recovered");
      expect(warns.length, `${o.id}: one warning per streak`).to.equal(
        await metric(o.url, "meshwork_oracle_tick_failure_streaks_total"),
      );
      expect(recoveries.length, `${o.id}: one recovery line per streak`).to.equal(warns.length);
      let streak: LogLine[] = [];
      const streaks: LogLine[][] = [];
      for (const l of failures) {
        if (l.msg.startsWith("epoch tick failed;")) streaks.push((streak = []));
        streak.push(l);
      }
      for (const s of streaks) {
        for (let k = 0; k < s.length; k++) {
          // Failure k + 1 of a streak waits in [c / 2, c], c = min(max, poll x 2^(k + 1)).
          const ceiling = Math.min(MAX_BACKOFF_MS, POLL_MS * 2 ** (k + 1));
          expect(s[k].retryInMs!, `${o.id}: delay after failure ${k + 1}`).to.be.within(ceiling / 2, ceiling);
          // (timers may fire a millisecond early)
          if (k > 0)
            expect(s[k].time - s[k - 1].time, `${o.id}: wait before failure ${k + 1}`).to.be.gte(
              s[k - 1].retryInMs! - 2,
            );
        }
      }
      const longest = streaks.reduce((a, b) => (b.length > a.length ? b : a), []);
      expect(longest.length, `${o.id}: failures in the down phase`).to.be.gte(3);
      expect(longest[longest.length - 1].retryInMs!).to.be.gte(longest[0].retryInMs! * 2);
      growth.push(`${o.id}: ${longest.map((l) => l.retryInMs).join(" -> ")} ms`);
    }
    expect(
      streaksDown.every((s) => s >= 3),
      `streaks while down: ${streaksDown}`,
    ).to.equal(true);

    console.log(
      `      seed + proofs in ${ready} ms; down ${flakyAt - downAt} ms (streaks ${streaksDown.join("/")}, backoff ${backoffDown.join("/")} ms); ` +
        `flaky -> verdict in ${submittedAt - flakyAt} ms, finalised + faults ${settledAt - submittedAt} ms later; ` +
        `all loops healthy ${recovered} ms after healing`,
    );
    console.log(`      backoff per oracle (longest streak): ${growth.join("; ")}`);
    console.log(
      `      proxy: ${JSON.stringify(proxy.stats)}; oracle transactions ${total} (${[...byOracle.values()].join("/")} ` +
        `per sender), reverted ${reverted}`,
    );
  });

  it("waits for its own pending transaction (answer lost, not mined yet) instead of sending another", async function () {
    const { hub, seeds } = net.contracts;
    const epoch = 1n;
    const from = (await net.provider.getBlockNumber()) + 1;
    const waited = logs.filter((l) => l.msg.endsWith("waiting for the transaction sent earlier")).length;
    // Blocks only when the test mines them, and every sendRawTransaction answer lost.
    await hre.network.provider.request({ method: "evm_setAutomine", params: [false] });
    try {
      proxy.mode = { ...HEALTHY, dropSendRaw: true };
      await advanceTo(net.provider, BigInt((await epochBounds(net.contracts.config, epoch)).end) + 1n);
      // The relay (and the seed of epoch 2) sit in the mempool; their senders time out, retry, find them pending.
      await waitFor(
        "an oracle waiting for its pending transaction",
        async () => logs.filter((l) => l.msg.endsWith("waiting for the transaction sent earlier")).length > waited,
        { timeoutMs: 20_000, everyMs: 50 },
      );
      await waitFor(
        "the relay in the mempool",
        async () => {
          const pending = (await hre.network.provider.request({
            method: "eth_getBlockByNumber",
            params: ["pending", true],
          })) as { transactions: { input: string }[] };
          const selector = hub.interface.getFunction("submitVerdict").selector;
          return pending.transactions.some((t) => t.input.startsWith(selector));
        },
        { timeoutMs: 20_000, everyMs: 50 },
      );
      await sleep(1_000); // the sender's retry is now waiting for it
      await hre.network.provider.request({ method: "evm_mine", params: [] });
      await waitFor(
        "verdict of epoch 1",
        async () => Number((await hub.getVerdict(epoch)).status) !== VerdictStatus.None,
        {
          timeoutMs: 10_000,
          everyMs: 100,
        },
      );
    } finally {
      await hre.network.provider.request({ method: "evm_setAutomine", params: [true] });
      proxy.mode = { ...HEALTHY };
    }
    await sleep(1_500); // any second transaction would be mined by now
    await hre.network.provider.request({ method: "evm_mine", params: [] });
    const sent: string[] = [];
    for (let n = from; n <= (await net.provider.getBlockNumber()); n++) {
      for (const hash of (await net.provider.getBlock(n))?.transactions ?? []) {
        const [tx, receipt] = await Promise.all([
          net.provider.getTransaction(hash),
          net.provider.getTransactionReceipt(hash),
        ]);
        const call = [hub, seeds].map((c) => c.interface.parseTransaction(tx!)).find((d) => d !== null);
        sent.push(`${call?.name ?? tx!.data.slice(0, 10)}${receipt!.status === 1 ? "" : " REVERTED"}`);
      }
    }
    expect((await hub.queryFilter(hub.filters.VerdictSubmitted(epoch))).length).to.equal(1);
    expect(
      sent.filter((s) => s.startsWith("submitVerdict")),
      sent.join(", "),
    ).to.deep.equal(["submitVerdict"]);
    expect(
      sent.filter((s) => s.endsWith("REVERTED")),
      sent.join(", "),
    ).to.deep.equal([]);
    console.log(
      `      mempool phase: ${sent.join(", ")}; waits logged ${logs.filter((l) => l.msg.endsWith("waiting for the transaction sent earlier")).length - waited}`,
    );
  });
});

/**
 * Clock skew between oracles. Oracles run on chain time (`ChainTime`: the latest block's timestamp plus the local
 * time elapsed since it was seen), so a wall clock hours off, or drifting, does not change which epoch they see, and
 * whether an epoch has closed is read from the chain (`referenceBlock`: a block at or after its end), as is everything
 * the verdict is computed from. Devices' clocks ahead of chain time by more than `maxClockSkew` are refused at ingest:
 * test/oracles/ingest.test.ts, "422 timestamp in the future beyond the skew".
 */
describe("adversarial: clock skew between oracles", function () {
  this.timeout(30_000);
  let snapshot: string;

  before(async function () {
    snapshot = (await hre.network.provider.request({ method: "evm_snapshot", params: [] })) as string;
  });

  after(async function () {
    await hre.network.provider.request({ method: "evm_revert", params: [snapshot] });
  });

  const provider = () => hre.ethers.provider;
  const mineAt = async (timestamp: bigint) => {
    await hre.network.provider.request({ method: "evm_setNextBlockTimestamp", params: [Number(timestamp)] });
    await hre.network.provider.request({ method: "evm_mine", params: [] });
  };

  it("oracles with wall clocks 1 h ahead / behind and drifting ±2 % agree on the epoch and on its close", async function () {
    const latest = (await provider().getBlock("latest"))!;
    const LENGTH = 3_600n;
    const clock = new ChainEpochClock(BigInt(latest.timestamp) + 10n, LENGTH);
    const origin = performance.now();
    const skewed = (offsetMs: number, drift: number) => () =>
      Date.now() + offsetMs + (performance.now() - origin) * drift;
    const oracles = [
      new ChainTime(provider(), { pollMs: 50, wallClock: skewed(3_600_000, 0.02) }),
      new ChainTime(provider(), { pollMs: 50, wallClock: skewed(-3_600_000, -0.02) }),
      new ChainTime(provider(), { pollMs: 50 }),
    ];
    await Promise.all(oracles.map((t) => t.start()));
    try {
      const end0 = BigInt(clock.window(0n).end);
      for (const at of [end0 - 2n, end0 - 1n, end0, end0 + 1n, end0 + LENGTH - 1n, end0 + LENGTH + 5n]) {
        await mineAt(at);
        await Promise.all(oracles.map((t) => t.refresh()));
        const nows = oracles.map((t) => t.now());
        expect(nows, `chain time at block ${at}`).to.deep.equal([at, at, at]);
        const epochs = nows.map((n) => clock.currentEpoch(n));
        expect(new Set(epochs).size, `epoch at ${at}`).to.equal(1);
        // The close of epoch 0 and 1 is read from the chain: the same reference block for everyone.
        for (const e of [0n, 1n]) {
          const end = BigInt(clock.window(e).end);
          const reference = await referenceBlock(provider(), end);
          expect(reference === null, `epoch ${e} closed at ${at}`).to.equal(at < end);
        }
      }
      // Without new blocks each extrapolates with its own clock: 2 % drift over 1.5 s is within one second.
      const before = oracles.map((t) => t.now());
      await sleep(1_500);
      const after = oracles.map((t, i) => t.now() - before[i]);
      for (const d of after) expect(Number(d)).to.be.within(1, 2);
      expect(Math.max(...after.map(Number)) - Math.min(...after.map(Number))).to.be.lte(1);
    } finally {
      oracles.forEach((t) => t.stop());
    }
  });

  it("a wall-clock step does not move chain time (monotonic clock); with Date.now it would stick an hour ahead", async function () {
    const monotonic = new ChainTime(provider());
    const wall = new ChainTime(provider(), { wallClock: () => Date.now() });
    await Promise.all([monotonic.refresh(), wall.refresh()]);
    const start = monotonic.now();
    expect(wall.now()).to.equal(start);
    const realNow = Date.now;
    Date.now = () => realNow() + 3_600_000; // an NTP or operator step of one hour
    let stepped: bigint[];
    try {
      stepped = [monotonic.now(), wall.now()];
    } finally {
      Date.now = realNow;
    }
    expect(stepped[0] - start).to.be.lte(1n);
    expect(stepped[1] - start).to.be.gte(3_600n);
    // Chain time never decreases: after the clock is set right and a new read, the wall-clock one stays ahead.
    await Promise.all([monotonic.refresh(), wall.refresh()]);
    expect(monotonic.now() - start).to.be.lte(1n);
    expect(wall.now() - start).to.be.gte(3_600n);
  });
});

describe("adversarial: chain RPC building blocks", function () {
  it("backoffDelay: pollMs x 2^k with equal jitter, capped, pollMs after a success", function () {
    expect(backoffDelay(0, 1_000, 60_000)).to.equal(1_000);
    for (const [k, ceiling] of [
      [1, 2_000],
      [2, 4_000],
      [5, 32_000],
      [6, 60_000],
      [40, 60_000],
    ] as const) {
      expect(backoffDelay(k, 1_000, 60_000, () => 0)).to.equal(ceiling / 2);
      expect(backoffDelay(k, 1_000, 60_000, () => 0.999_999)).to.equal(ceiling);
    }
  });

  it("ChainProvider retries failed reads (HTTP 500, server errors without revert data), never a transaction", async function () {
    const seen: string[] = [];
    let failures = 0;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const call = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: number; method: string };
        seen.push(call.method);
        const reply = (body: object) =>
          res
            .writeHead(200, { "content-type": "application/json" })
            .end(JSON.stringify({ jsonrpc: "2.0", id: call.id, ...body }));
        if (call.method === "eth_call")
          return reply({ error: { code: -32603, message: "execution reverted", data: { data: "0xdeadbeef" } } });
        if (failures > 0) {
          failures -= 1;
          if (failures % 2 === 0) return void res.writeHead(500).end("down");
          return reply({ error: { code: -32000, message: "header not found" } });
        }
        if (call.method === "eth_sendRawTransaction") return reply({ result: `0x${"ab".repeat(32)}` });
        return reply({ result: "0x10" });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const provider = new ChainProvider(url, {
      staticNetwork: EthersNetwork.from(31337),
      batchMaxCount: 1,
      retryDelayMs: 10,
    });
    try {
      failures = 2; // a 500, then a JSON-RPC -32000: two retries
      expect(await provider.send("eth_blockNumber", [])).to.equal("0x10");
      expect(seen).to.deep.equal(["eth_blockNumber", "eth_blockNumber", "eth_blockNumber"]);
      expect(provider.retried).to.equal(2);

      seen.length = 0;
      failures = 3; // more than the retries: the error surfaces
      let error: unknown;
      await provider.send("eth_blockNumber", []).catch((e: unknown) => (error = e));
      expect(error).to.not.equal(undefined);
      expect(seen.length).to.equal(3);

      seen.length = 0;
      failures = 1;
      error = undefined;
      await provider.send("eth_sendRawTransaction", ["0x00"]).catch((e: unknown) => (error = e));
      expect(error, "a failed broadcast is not resent").to.not.equal(undefined);
      expect(seen).to.deep.equal(["eth_sendRawTransaction"]);

      seen.length = 0;
      error = undefined;
      await provider
        .send("eth_call", [{ to: ethers.ZeroAddress, data: "0x" }, "latest"])
        .catch((e: unknown) => (error = e));
      expect(error, "a revert is an answer").to.not.equal(undefined);
      expect(seen).to.deep.equal(["eth_call"]);
    } finally {
      provider.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
