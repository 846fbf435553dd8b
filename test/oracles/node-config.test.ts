import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers } from "ethers";

import {
  ConfigError,
  loadNodeConfig,
  type NodeConfig,
} from "../../oracles/node/config";

const KEY = ethers.id("node-config test oracle key");
const KEY_BODY = KEY.slice(2);

const MINIMAL = {
  MESHWORK_RPC_URL: "http://127.0.0.1:8545",
  MESHWORK_DEPLOYMENT: "deployments/localhost.json",
  MESHWORK_ORACLE_KEY: KEY,
} as const;

/** Loads expecting a ConfigError; checks it is one line, names `key`, and never leaks the private key. */
function expectConfigError(
  load: () => NodeConfig,
  ...fragments: string[]
): string {
  let caught: unknown;
  try {
    load();
  } catch (error) {
    caught = error;
  }
  expect(caught, "expected a ConfigError").to.be.instanceOf(ConfigError);
  const message = (caught as ConfigError).message;
  expect(message).to.not.match(/[\r\n]/);
  expect(message.toLowerCase()).to.not.include(KEY_BODY.toLowerCase());
  expect(
    JSON.stringify((caught as ConfigError).details).toLowerCase(),
  ).to.not.include(KEY_BODY.toLowerCase());
  for (const fragment of fragments) expect(message).to.include(fragment);
  return message;
}

describe("oracles/node config: loadNodeConfig", function () {
  let dir: string;
  before(function () {
    dir = mkdtempSync(join(tmpdir(), "meshwork-node-config-"));
  });
  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  function file(name: string, content: string): string {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  }

  describe("valid", function () {
    it("applies the defaults to a minimal environment", function () {
      expect(loadNodeConfig(undefined, { ...MINIMAL })).to.deep.equal({
        rpcUrl: MINIMAL.MESHWORK_RPC_URL,
        deployment: MINIMAL.MESHWORK_DEPLOYMENT,
        oracleKey: KEY,
        host: "127.0.0.1",
        port: 8480,
        storePath: "./data/oracle.sqlite",
        peers: [],
        pollMs: 1_000,
        syncIntervalMs: 1_000,
        staggerMs: 5_000,
        peerTimeoutMs: 10_000,
        rpcTimeoutMs: 10_000,
        txTimeoutMs: 120_000,
        maxBackoffMs: 60_000,
        peerRateLimit: 100,
        peerRateBurst: 500,
        signatureRateLimit: 5,
        signatureRateBurst: 50,
        bodyLimit: 512 * 1024,
        maxBatchItems: 100,
        maxClockSkew: 60,
        logLevel: "info",
      } satisfies NodeConfig);
    });

    it("adds 0x to a bare hex key, and accepts ws(s) RPC URLs", function () {
      const config = loadNodeConfig(undefined, {
        ...MINIMAL,
        MESHWORK_ORACLE_KEY: KEY_BODY,
        MESHWORK_RPC_URL: "wss://rpc.example/ws",
      });
      expect(config.oracleKey).to.equal(KEY);
      expect(config.rpcUrl).to.equal("wss://rpc.example/ws");
    });

    it("reads a JSON file, the environment overriding it (empty env values ignored)", function () {
      const path = file(
        "full.json",
        JSON.stringify({
          rpcUrl: "http://file-rpc:8545",
          deployment: "from-file.json",
          oracleKey: KEY,
          host: "0.0.0.0",
          port: 9000,
          storePath: ":memory:",
          peers: [{ id: "b", url: "https://b.example/" }],
          pollMs: 200,
          staggerMs: 0,
          logLevel: "debug",
        }),
      );
      const fromFile = loadNodeConfig(path, {});
      expect(fromFile).to.deep.include({
        rpcUrl: "http://file-rpc:8545",
        deployment: "from-file.json",
        host: "0.0.0.0",
        port: 9000,
        storePath: ":memory:",
        peers: [{ id: "b", url: "https://b.example" }],
        pollMs: 200,
        staggerMs: 0,
        logLevel: "debug",
        syncIntervalMs: 1_000,
      });

      const overridden = loadNodeConfig(path, {
        MESHWORK_PORT: "9100",
        MESHWORK_POLL_MS: "300",
        MESHWORK_LOG_LEVEL: "warn",
        MESHWORK_HOST: "",
        MESHWORK_PEERS: "c=http://c.example",
        MESHWORK_INGEST_MAX_BATCH: "7",
      });
      expect(overridden).to.deep.include({
        rpcUrl: "http://file-rpc:8545",
        host: "0.0.0.0",
        port: 9100,
        pollMs: 300,
        logLevel: "warn",
        maxBatchItems: 7,
        peers: [{ id: "c", url: "http://c.example" }],
      });
    });

    it("parses MESHWORK_PEERS as id=url pairs, stripping trailing slashes and blanks", function () {
      const config = loadNodeConfig(undefined, {
        ...MINIMAL,
        MESHWORK_PEERS: "a=http://127.0.0.1:1,b=http://127.0.0.1:2/, ,",
      });
      expect(config.peers).to.deep.equal([
        { id: "a", url: "http://127.0.0.1:1" },
        { id: "b", url: "http://127.0.0.1:2" },
      ]);
    });

    it("uses the entry as id for a peer without '=' (the URL alone is normalised)", function () {
      const config = loadNodeConfig(undefined, {
        ...MINIMAL,
        MESHWORK_PEERS: "http://127.0.0.1:3//",
      });
      expect(config.peers).to.deep.equal([
        { id: "http://127.0.0.1:3//", url: "http://127.0.0.1:3" },
      ]);
    });

    it("accepts the port bounds 0 and 65535", function () {
      expect(
        loadNodeConfig(undefined, { ...MINIMAL, MESHWORK_PORT: "0" }).port,
      ).to.equal(0);
      expect(
        loadNodeConfig(undefined, { ...MINIMAL, MESHWORK_PORT: "65535" }).port,
      ).to.equal(65535);
    });
  });

  describe("invalid: ConfigError, one line, naming the key, never the private key", function () {
    it("missing rpcUrl / oracleKey; no deployment means deployments/<chain id>.json", function () {
      const { MESHWORK_RPC_URL: _r, ...noRpc } = MINIMAL;
      expectConfigError(() => loadNodeConfig(undefined, noRpc), "rpcUrl");
      const { MESHWORK_DEPLOYMENT: _d, ...noDeployment } = MINIMAL;
      expect(loadNodeConfig(undefined, noDeployment).deployment).to.equal(undefined);
      const { MESHWORK_ORACLE_KEY: _k, ...noKey } = MINIMAL;
      expectConfigError(() => loadNodeConfig(undefined, noKey), "oracleKey");
    });

    it("names every bad key in one message", function () {
      const message = expectConfigError(
        () => loadNodeConfig(undefined, {}),
        "rpcUrl",
        "oracleKey",
      );
      expect(message).to.match(/^invalid oracle configuration: /);
    });

    it("bad RPC URL", function () {
      for (const url of ["not a url", "ftp://rpc.example", "127.0.0.1:8545"]) {
        expectConfigError(
          () =>
            loadNodeConfig(undefined, { ...MINIMAL, MESHWORK_RPC_URL: url }),
          "rpcUrl",
        );
      }
    });

    it("bad peer URL", function () {
      expectConfigError(
        () =>
          loadNodeConfig(undefined, {
            ...MINIMAL,
            MESHWORK_PEERS: "a=ws://x.example",
          }),
        "peers.0.url",
      );
      expectConfigError(
        () =>
          loadNodeConfig(undefined, {
            ...MINIMAL,
            MESHWORK_PEERS: "=http://x.example",
          }),
        "peers.0.id",
      );
    });

    it("bad key: not hex, wrong length", function () {
      for (const key of [
        `0x${"g".repeat(64)}`,
        KEY.slice(0, -2),
        `${KEY}00`,
        "0x",
        `0x${KEY}`,
      ]) {
        const message = expectConfigError(
          () =>
            loadNodeConfig(undefined, { ...MINIMAL, MESHWORK_ORACLE_KEY: key }),
          "oracleKey",
        );
        if (key.length > 2) expect(message).to.not.include(key.slice(2, 20));
      }
    });

    it("bad key in the file does not leak either", function () {
      const leaky = `${KEY}ff`;
      const path = file(
        "bad-key.json",
        JSON.stringify({
          ...{ rpcUrl: "http://x", deployment: "d" },
          oracleKey: leaky,
        }),
      );
      const message = expectConfigError(
        () => loadNodeConfig(path, {}),
        "oracleKey",
      );
      expect(message).to.not.include(leaky.slice(2));
    });

    // BUG: config.ts oracleKey refine (lines ~40-47) only runs `new ethers.SigningKey(k)`, whose constructor checks
    // the length but not the range: the zero key and keys >= the curve order n (e.g. 0xff…ff) pass, and the node only
    // fails later, when the key is first used (`publicKey` throws "Expected valid bigint: 0 < bigint < curve.n").
    // Fix: make the refine touch the public key (`new ethers.SigningKey(k).publicKey`) or check
    // `0n < BigInt(k) && BigInt(k) < secp256k1 n` explicitly.
    it("bad key: zero, or not below the secp256k1 order", function () {
      for (const key of [`0x${"0".repeat(64)}`, `0x${"f".repeat(64)}`]) {
        expectConfigError(
          () =>
            loadNodeConfig(undefined, { ...MINIMAL, MESHWORK_ORACLE_KEY: key }),
          "oracleKey",
        );
      }
    });

    it("port out of range or not an integer", function () {
      for (const port of ["65536", "-1", "80.5", "http"]) {
        expectConfigError(
          () => loadNodeConfig(undefined, { ...MINIMAL, MESHWORK_PORT: port }),
          "port",
        );
      }
    });

    it("other numeric keys out of range, and an unknown log level", function () {
      expectConfigError(
        () => loadNodeConfig(undefined, { ...MINIMAL, MESHWORK_POLL_MS: "10" }),
        "pollMs",
      );
      expectConfigError(
        () =>
          loadNodeConfig(undefined, {
            ...MINIMAL,
            MESHWORK_PEER_TIMEOUT_MS: "99",
          }),
        "peerTimeoutMs",
      );
      expectConfigError(
        () => loadNodeConfig(undefined, { ...MINIMAL, MESHWORK_RPC_TIMEOUT_MS: "0" }),
        "rpcTimeoutMs",
      );
      expectConfigError(
        () => loadNodeConfig(undefined, { ...MINIMAL, MESHWORK_PEER_RATE_LIMIT: "-1" }),
        "peerRateLimit",
      );
      expectConfigError(
        () =>
          loadNodeConfig(undefined, {
            ...MINIMAL,
            MESHWORK_INGEST_MAX_BATCH: "0",
          }),
        "maxBatchItems",
      );
      expectConfigError(
        () =>
          loadNodeConfig(undefined, { ...MINIMAL, MESHWORK_LOG_LEVEL: "loud" }),
        "logLevel",
      );
    });

    it("unknown key in the file (strict), including a peer's", function () {
      const path = file("unknown.json", JSON.stringify({ rpcPort: 1 }));
      expectConfigError(() => loadNodeConfig(path, { ...MINIMAL }), "rpcPort");
      const peer = file(
        "unknown-peer.json",
        JSON.stringify({
          peers: [{ id: "a", url: "http://a.example", weight: 2 }],
        }),
      );
      expectConfigError(() => loadNodeConfig(peer, { ...MINIMAL }), "weight");
    });

    it("an unknown key that holds the private key names the key, not the value", function () {
      const path = file("privateKey.json", JSON.stringify({ privateKey: KEY }));
      expectConfigError(
        () => loadNodeConfig(path, { ...MINIMAL }),
        "privateKey",
      );
    });

    it("config file missing", function () {
      const path = join(dir, "does-not-exist.json");
      expectConfigError(
        () => loadNodeConfig(path, { ...MINIMAL }),
        "cannot read config file",
        path,
        "ENOENT",
      );
    });

    it("config file not JSON, or JSON that is not an object", function () {
      for (const [name, content] of [
        ["broken.json", "{ rpcUrl: "],
        ["array.json", JSON.stringify([{ rpcUrl: "http://x" }])],
        ["null.json", "null"],
        ["string.json", '"x"'],
        ["number.json", "42"],
      ]) {
        const path = file(name, content);
        expectConfigError(
          () => loadNodeConfig(path, { ...MINIMAL }),
          `config file ${path} is not a JSON object`,
        );
      }
    });

    it("a file that contains the key and is broken does not leak the key", function () {
      const path = file("broken-with-key.json", `{ "oracleKey": "${KEY}", `);
      expectConfigError(() => loadNodeConfig(path, {}), "is not a JSON object");
    });
  });

  describe("the oracle process", function () {
    this.timeout(60_000);

    const run = (env: NodeJS.ProcessEnv) =>
      spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", join("oracles", "node", "main.ts")], {
        cwd: join(__dirname, "..", ".."),
        env: { PATH: process.env.PATH, ...env },
        encoding: "utf8",
        timeout: 50_000,
      });

    it("exits 1 with one readable line on a bad configuration, never printing the key", function () {
      const result = run({ ...MINIMAL, MESHWORK_PORT: "70000", MESHWORK_RPC_URL: "not a url" });
      expect(result.status).to.equal(1);
      const lines = result.stderr.trim().split("\n");
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/^meshwork-oracle: invalid oracle configuration: .*rpcUrl.*port/);
      expect(result.stderr).to.not.include(KEY_BODY);
    });

    it("exits 1 with one line when the deployment file is missing", function () {
      const result = run({ ...MINIMAL, MESHWORK_DEPLOYMENT: join(tmpdir(), "no-such-deployment.json") });
      expect(result.status).to.equal(1);
      expect(result.stderr.trim().split("\n")).to.have.length(1);
      expect(result.stderr).to.match(/^meshwork-oracle: deployment file .*no-such-deployment\.json/);
    });
  });
});
