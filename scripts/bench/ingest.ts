/**
 * Ingest over HTTP with durable writes: proofs per second accepted by one oracle (`buildIngestApp` listening on
 * 127.0.0.1, a file-backed `ProofStore` with synchronous = FULL and group commit, a `VerifierPool` with one worker
 * per core) under load from a separate load-generator process (lib/load-generator.ts). The device directory and the
 * epoch clock are faked in memory (no chain): every device is registered, every proof is valid and signed before the
 * clock starts, so every proof must be accepted; the bench fails otherwise.
 *
 * Run by hand: `BENCH_MODE=quick node -r ts-node/register/transpile-only scripts/bench/ingest.ts` (prints the JSON
 * result; `BENCH_RESULT=<path>` writes it there instead).
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { buildIngestApp } from "../../oracles/node/app";
import { FixedEpochClock, MemoryDeviceDirectory } from "../../oracles/node/directory";
import { ProofStore } from "../../oracles/node/store";
import { proofDomain } from "../../oracles/proof/digest";
import { VerifierPool } from "../../oracles/proof/verifier-pool";
import { benchDevices, directoryEntries } from "./lib/proofs";
import type { LoadDone, LoadInit } from "./lib/load-generator";
import { benchMode, fmt, median, writeResult, type BenchSection, type BenchTarget } from "./lib/report";

const mode = benchMode();
const RUNS = mode === "full" ? 5 : 2;
const CHAIN_ID = 31337n;
const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const EPOCH_LENGTH = 3600n;
const EPOCH = 42n;
const EPOCH_START = 1_767_225_600n;
const GENESIS = EPOCH_START - EPOCH * EPOCH_LENGTH;
const NOW = EPOCH_START + 100n;
const DEVICES = 1000;
const SEED = "ingest bench";

interface Shape {
  key: "batch" | "single";
  label: string;
  count: number;
  batchSize: number;
  concurrency: number;
  timeLimitMs: number;
}

const SHAPES: Shape[] = [
  {
    key: "batch",
    label: "batches of 100 proofs (POST /v1/proofs/batch, the gateway shape)",
    count: mode === "full" ? 60_000 : 15_000,
    batchSize: 100,
    concurrency: 8,
    timeLimitMs: mode === "full" ? 30_000 : 8_000,
  },
  {
    key: "single",
    label: "one proof per request (POST /v1/proofs)",
    count: mode === "full" ? 30_000 : 8_000,
    batchSize: 1,
    concurrency: 128,
    timeLimitMs: mode === "full" ? 30_000 : 8_000,
  },
];

interface RunResult {
  rate: number;
  accepted: number;
  stored: number;
  groupCommits: number;
  done: LoadDone;
  seconds: number;
}

function startGenerator(): ChildProcess {
  // Under ts-node (the way benches run) the child needs the same hook.
  const tsNode = Boolean((process as unknown as Record<symbol, unknown>)[Symbol.for("ts-node.register.instance")]);
  return fork(join(__dirname, `lib/load-generator${tsNode ? ".ts" : ".js"}`), [], {
    execArgv: tsNode ? ["-r", "ts-node/register/transpile-only"] : [],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

function nextMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`load generator exited (${code})`));
    child.once("exit", onExit);
    child.once("message", (m) => {
      child.off("exit", onExit);
      resolve(m as T);
    });
  });
}

async function runOnce(shape: Shape, child: ChildProcess, pool: VerifierPool, dir: string, i: number): Promise<RunResult> {
  const store = new ProofStore(join(dir, `proofs-${shape.key}-${i}.sqlite`));
  const app = buildIngestApp({
    store,
    directory: new MemoryDeviceDirectory(directoryEntries(benchDevices(DEVICES, SEED))),
    clock: new FixedEpochClock(GENESIS, EPOCH_LENGTH),
    domain: proofDomain(CHAIN_ID, REGISTRY),
    now: () => NOW,
    maxBatchItems: shape.batchSize === 1 ? undefined : shape.batchSize,
    verifier: pool,
  });
  try {
    await app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = app.server.address() as { port: number };
    const start = process.hrtime.bigint();
    const finished = nextMessage<LoadDone>(child);
    child.send({ type: "go", port, timeLimitMs: shape.timeLimitMs });
    const done = await finished;
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const stored = store.count();
    return {
      rate: done.accepted / seconds,
      accepted: done.accepted,
      stored,
      groupCommits: store.groupCommits,
      done,
      seconds,
    };
  } finally {
    await app.close();
    store.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "meshwork-bench-ingest-"));
  const pool = new VerifierPool();
  const results = new Map<Shape["key"], RunResult[]>();
  const problems: string[] = [];
  try {
    for (const shape of SHAPES) {
      const child = startGenerator();
      try {
        const init: LoadInit = {
          type: "init",
          shape: shape.key,
          count: shape.count,
          batchSize: shape.batchSize,
          concurrency: shape.concurrency,
          devices: DEVICES,
          seed: SEED,
          chainId: CHAIN_ID.toString(),
          registry: REGISTRY,
          epoch: EPOCH.toString(),
          timestamp: (EPOCH_START + 50n).toString(),
        };
        const ready = nextMessage(child);
        child.send(init);
        await ready;
        const runs: RunResult[] = [];
        for (let i = 0; i < RUNS; i++) {
          const r = await runOnce(shape, child, pool, dir, i);
          runs.push(r);
          const sent = shape.count - r.done.unsent;
          if (r.done.rejected !== 0 || r.done.failedRequests !== 0 || r.accepted !== sent || r.stored !== r.accepted) {
            problems.push(
              `${shape.key} run ${i + 1}: ${r.accepted} accepted, ${r.done.rejected} rejected, ` +
                `${r.done.failedRequests} failed requests, ${r.stored} stored, ${sent} sent`,
            );
          }
        }
        results.set(shape.key, runs);
        child.send({ type: "exit" });
      } finally {
        if (child.exitCode === null) child.kill();
      }
    }
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
  if (problems.length > 0) throw new Error(`not every proof was accepted and stored: ${problems.join("; ")}`);

  const rows = SHAPES.map((shape) => {
    const runs = results.get(shape.key) ?? [];
    const rate = median(runs.map((r) => r.rate));
    const perCommit = median(runs.map((r) => r.accepted / Math.max(1, r.groupCommits)));
    const unsent = runs.reduce((n, r) => n + r.done.unsent, 0);
    return {
      shape,
      rate,
      row: [
        shape.label,
        shape.concurrency,
        fmt(runs[0]?.accepted ?? 0),
        fmt(rate),
        runs.map((r) => fmt(r.rate)).join(" / "),
        fmt(perCommit, 1),
        unsent === 0 ? "0" : fmt(unsent),
      ],
    };
  });
  const batch = rows.find((r) => r.shape.key === "batch");
  const sections: BenchSection[] = [
    {
      heading: "Ingest over HTTP with durable writes",
      notes: [
        `One oracle: \`buildIngestApp\` on 127.0.0.1, a file-backed SQLite \`ProofStore\` (WAL, synchronous = FULL, ` +
          `group commit: one fsync per event-loop turn's inserts), a \`VerifierPool\` of ${pool.size} workers ` +
          `(${availableParallelism()} cores). A separate load-generator process posts pre-signed valid proofs ` +
          `(${DEVICES} registered devices, a fleet mix of kinds) over keep-alive \`node:http\` connections; both ` +
          "processes share the machine's cores.",
        `Rate = proofs accepted (every one committed before its reply) ÷ wall time from the first request to the ` +
          `last reply; median of ${RUNS} runs, each on a fresh store. Each run checks that every proof was ` +
          "accepted (0 rejected, 0 failed requests) and that the store holds exactly that many rows.",
      ],
      table: {
        columns: [
          "shape",
          "connections",
          "proofs per run",
          "accepted proofs/s (median)",
          "runs",
          "proofs per fsync (median)",
          "unsent at time limit",
        ],
        rows: rows.map((r) => r.row),
      },
    },
  ];
  const targets: BenchTarget[] = [
    {
      label: "proofs/s accepted and durably stored by one oracle (batches of 100)",
      value: batch?.rate ?? 0,
      target: 5_000,
      unit: "proofs/s",
      higherIsBetter: true,
    },
  ];
  writeResult({ name: "ingest", title: "Ingest throughput", sections, targets });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
