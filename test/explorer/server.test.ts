/**
 * The explorer server (scripts/explorer/server.ts, app.ts) against a tiny fake chain and fake oracle: its config, the
 * proxies passing requests through, what it refuses (4xx JSON), and the page Vite built.
 */
import { expect } from "chai";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { ethers } from "ethers";

import type { DeploymentFile } from "../../sdk/deployment";
import { MAX_RPC_BODY_BYTES } from "../../scripts/explorer/app";
import { startExplorer, type RunningExplorer } from "../../scripts/explorer/server";

interface Seen {
  method: string;
  url: string;
  body: string;
}

/** A server answering every request with `answer`, recording what it saw. */
async function fakeUpstream(answer: (req: Seen) => { status: number; body: string }): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const s = { method: req.method ?? "", url: req.url ?? "", body };
      seen.push(s);
      const { status, body: out } = answer(s);
      res.writeHead(status, { "content-type": "application/json" });
      res.end(out);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const closeServer = (s: Server): Promise<void> => new Promise((resolve) => s.close(() => resolve()));
const addr = (): string => ethers.Wallet.createRandom().address;

describe("explorer: server", function () {
  this.timeout(120_000);
  const deployment: DeploymentFile = {
    chainId: 31337,
    deployer: addr(),
    MeshToken: addr(),
    ProtocolConfig: addr(),
    ProviderRegistry: addr(),
    Staking: addr(),
    Slashing: addr(),
    EmissionSchedule: addr(),
    EpochSeed: addr(),
    OracleHub: addr(),
    RewardsDistributor: addr(),
    Marketplace: addr(),
    block: 3,
  };
  let chain: Awaited<ReturnType<typeof fakeUpstream>>;
  let oracle: Awaited<ReturnType<typeof fakeUpstream>>;
  let explorer: RunningExplorer;

  before(async function () {
    chain = await fakeUpstream((req) => ({ status: 200, body: JSON.stringify({ jsonrpc: "2.0", id: 1, result: req.body.length }) }));
    oracle = await fakeUpstream((req) =>
      req.url === "/v1/verdicts/7/file"
        ? { status: 200, body: '{"epoch":"7"}' }
        : { status: 404, body: '{"error":"not_found"}' },
    );
    // A real build of the page (Vite), as `npm start` does.
    explorer = await startExplorer({ rpcUrl: chain.url, deployment, oracles: [oracle.url, "http://127.0.0.1:9"], buildLogLevel: "silent" });
  });

  after(async function () {
    await explorer?.close();
    await closeServer(chain.server);
    await closeServer(oracle.server);
  });

  it("serves the config: relative proxy paths and the deployment", async function () {
    const res = await fetch(`${explorer.url}/config.json`);
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ rpcUrl: "/rpc", deployment, oracles: ["/oracle/0", "/oracle/1"] });
  });

  it("serves the built page and its assets", async function () {
    const res = await fetch(`${explorer.url}/`);
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/text\/html/);
    const html = await res.text();
    const script = /src="\.?\/?(assets\/[^"]+\.js)"/.exec(html);
    expect(script, html).to.not.equal(null);
    const js = await fetch(`${explorer.url}/${script![1]}`);
    expect(js.status).to.equal(200);
    expect(js.headers.get("content-type")).to.match(/javascript/);
  });

  it("passes JSON-RPC bodies through to the chain, batches included", async function () {
    const body = JSON.stringify([{ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }]);
    const res = await fetch(`${explorer.url}/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(res.status).to.equal(200);
    expect((await res.json()).result).to.equal(body.length);
    const last = chain.seen[chain.seen.length - 1];
    expect(last).to.deep.include({ method: "POST", body });
  });

  it("passes verdict routes through to the oracle, status included", async function () {
    const ok = await fetch(`${explorer.url}/oracle/0/v1/verdicts/7/file`);
    expect(ok.status).to.equal(200);
    expect(await ok.json()).to.deep.equal({ epoch: "7" });
    const missing = await fetch(`${explorer.url}/oracle/0/v1/verdicts/8`);
    expect(missing.status).to.equal(404);
    expect(oracle.seen.map((s) => `${s.method} ${s.url}`)).to.deep.equal(["GET /v1/verdicts/7/file", "GET /v1/verdicts/8"]);
  });

  it("answers 502 JSON when an oracle is down", async function () {
    const res = await fetch(`${explorer.url}/oracle/1/v1/verdicts/7`);
    expect(res.status).to.equal(502);
    expect(await res.json()).to.include({ error: "upstream_unreachable" });
  });

  const refused: [string, string, RequestInit, number, string][] = [
    ["GET /rpc", "/rpc", {}, 405, "method_not_allowed"],
    ["POST /rpc without a body", "/rpc", { method: "POST" }, 400, "empty_body"],
    ["POST /rpc over the size limit", "/rpc", { method: "POST", body: "x".repeat(MAX_RPC_BODY_BYTES + 1) }, 413, "body_too_large"],
    ["an oracle path outside /v1/verdicts/", "/oracle/0/metrics", {}, 403, "path_not_relayed"],
    ["a signature POST to an oracle", "/oracle/0/v1/verdicts/7/signatures", { method: "POST", body: "{}" }, 405, "method_not_allowed"],
    ["a traversal out of the verdict routes", "/oracle/0/v1/verdicts/7/..%2F..%2Fmetrics", {}, 403, "path_not_relayed"],
    ["an unknown oracle", "/oracle/5/v1/verdicts/7", {}, 404, "unknown_oracle"],
    ["an unknown file", "/nope.js", {}, 404, "not_found"],
    ["a path outside the page", "/..%2F..%2Fpackage.json", {}, 404, "not_found"],
  ];
  for (const [what, path, init, status, code] of refused) {
    it(`refuses ${what} with ${status} JSON`, async function () {
      const before = oracle.seen.length;
      const res = await fetch(`${explorer.url}${path}`, init);
      expect(res.status).to.equal(status);
      expect(res.headers.get("content-type")).to.equal("application/json");
      const body = (await res.json()) as { error: string; message: string };
      expect(body.error).to.equal(code);
      expect(body.message).to.be.a("string").and.not.equal("");
      expect(oracle.seen.length).to.equal(before);
    });
  }
});
