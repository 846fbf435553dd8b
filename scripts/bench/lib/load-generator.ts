/**
 * The ingest benchmark's load generator, a separate process (forked by scripts/bench/ingest.ts, talking over IPC):
 * signs its proofs before any clock starts, then on each `go` posts all of them to the oracle over keep-alive HTTP
 * connections on 127.0.0.1 and reports what was accepted. Bounded in count (every proof once per run) and in time
 * (no new request after `timeLimitMs`).
 *
 * Shapes: `batch` (POST /v1/proofs/batch, `batchSize` proofs per request, the gateway shape) and `single`
 * (POST /v1/proofs, one proof per request); `concurrency` connections, one request in flight on each.
 */
import { Agent, request } from "node:http";
import { proofDomain } from "../../../oracles/proof/digest";
import { toProofJson } from "../../../oracles/proof/wire";
import { benchDevices, benchProofs } from "./proofs";

export interface LoadInit {
  type: "init";
  shape: "batch" | "single";
  count: number;
  batchSize: number;
  concurrency: number;
  devices: number;
  seed: string;
  chainId: string;
  registry: string;
  epoch: string;
  timestamp: string;
}

export interface LoadGo {
  type: "go";
  port: number;
  timeLimitMs: number;
}

export interface LoadDone {
  type: "done";
  requests: number;
  /** Proofs the oracle answered as accepted. */
  accepted: number;
  /** Proofs the oracle answered as rejected (4xx item or response). */
  rejected: number;
  /** Requests that failed outright (5xx, connection errors). */
  failedRequests: number;
  /** Proofs not sent because the time limit was reached. */
  unsent: number;
  seconds: number;
}

let bodies: { body: string; proofs: number }[] = [];
let init: LoadInit | undefined;

function post(agent: Agent, port: number, path: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function run(go: LoadGo): Promise<LoadDone> {
  if (init === undefined) throw new Error("go before init");
  const { shape, concurrency } = init;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const path = shape === "batch" ? "/v1/proofs/batch" : "/v1/proofs";
  const done: LoadDone = {
    type: "done",
    requests: 0,
    accepted: 0,
    rejected: 0,
    failedRequests: 0,
    unsent: 0,
    seconds: 0,
  };
  let next = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(go.timeLimitMs) * 1_000_000n;
  const lane = async (): Promise<void> => {
    while (next < bodies.length) {
      if (process.hrtime.bigint() > deadline) return;
      const item = bodies[next++];
      done.requests += 1;
      try {
        const { status, text } = await post(agent, go.port, path, item.body);
        if (shape === "batch" && status === 200) {
          const reply = JSON.parse(text) as { accepted: number; rejected: number };
          done.accepted += reply.accepted;
          done.rejected += reply.rejected;
        } else if (status === 202) done.accepted += 1;
        else if (status >= 400 && status < 500) done.rejected += item.proofs;
        else done.failedRequests += 1;
      } catch {
        done.failedRequests += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  done.seconds = Number(process.hrtime.bigint() - start) / 1e9;
  for (let i = next; i < bodies.length; i++) done.unsent += bodies[i].proofs;
  agent.destroy();
  return done;
}

process.on("message", (message: LoadInit | LoadGo | { type: "exit" }) => {
  const send = (m: unknown): void => void process.send?.(m);
  if (message.type === "init") {
    init = message;
    const domain = proofDomain(BigInt(message.chainId), message.registry);
    const devices = benchDevices(message.devices, message.seed);
    const wire = benchProofs(devices, domain, message.count, {
      epoch: BigInt(message.epoch),
      timestamp: BigInt(message.timestamp),
    }).map((r) => JSON.stringify(toProofJson(r)));
    const size = message.shape === "batch" ? message.batchSize : 1;
    bodies = [];
    for (let i = 0; i < wire.length; i += size) {
      const slice = wire.slice(i, i + size);
      bodies.push({ body: message.shape === "batch" ? `[${slice.join(",")}]` : slice[0], proofs: slice.length });
    }
    send({ type: "ready" });
  } else if (message.type === "go") {
    run(message).then(send, (error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  } else {
    process.exit(0);
  }
});
