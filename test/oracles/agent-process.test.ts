/**
 * The real device agent (oracles/agent/run.ts, main.ts): the storage store padded to the declared capacity, proofs
 * built mid-epoch (no future timestamp, and `verifyEpoch` verifies them), and the startup errors of the process.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { ethers } from "ethers";

import { memoryStore } from "../../oracles/agent/chunks";
import { Device, walletFromSeed } from "../../oracles/agent/device";
import {
  agentWindow,
  capacityStore,
  committedChunks,
  epochProofs,
  isDue,
} from "../../oracles/agent/run";
import { readFolderData } from "../../oracles/agent/storage-folder";
import { proofDigest, proofDomain } from "../../oracles/proof";
import { verifyEpoch } from "../../oracles/verify/epoch";
import { STORAGE_CHUNK_SIZE, rootFromPath } from "../../oracles/verify/storage";
import { ResourceClass } from "../../sdk/enums";

const ROOT = path.resolve(__dirname, "..", "..");
const DOMAIN = proofDomain(
  31337n,
  "0x000000000000000000000000000000000000dEaD",
);
const WINDOW = { start: 1_800_000_000, end: 1_800_003_600 };
const SEED = ethers.id("agent-process-seed");

describe("device agent", function () {
  this.timeout(20_000);
  let folder: string;

  before(() => {
    folder = mkdtempSync(path.join(tmpdir(), "meshwork-agent-"));
    mkdirSync(path.join(folder, "sub"));
    writeFileSync(path.join(folder, "a.txt"), "hello meshwork\n".repeat(500));
    writeFileSync(
      path.join(folder, "sub", "b.bin"),
      Buffer.from(ethers.randomBytes(9_000)),
    );
  });
  after(() => rmSync(folder, { recursive: true, force: true }));

  describe("capacityStore", () => {
    it("equals memoryStore over the zero-padded data, for every chunk count shape", () => {
      const data = readFolderData(folder);
      const dataChunks = Math.ceil(data.length / STORAGE_CHUNK_SIZE);
      for (const count of [dataChunks, dataChunks + 1, 7, 8, 13, 16, 33]) {
        if (count < dataChunks) continue;
        const padded = new Uint8Array(count * STORAGE_CHUNK_SIZE);
        padded.set(data);
        const expected = memoryStore(padded);
        const store = capacityStore(data, count);
        expect(store.dataRoot, `count ${count}`).to.equal(expected.dataRoot);
        for (let i = 0; i < count; i++) {
          expect(store.proof(i), `count ${count} index ${i}`).to.deep.equal(
            expected.proof(i),
          );
          expect(ethers.hexlify(store.chunk(i) ?? "0x")).to.equal(
            ethers.hexlify(expected.chunk(i) ?? "0x"),
          );
        }
      }
    });

    it("answers any index of a full GiB with a path to its root", () => {
      const store = capacityStore(readFolderData(folder), committedChunks(1n));
      expect(store.chunkCount).to.equal(262_144);
      for (const i of [0, 1, 3, 4, 262_143, 131_072]) {
        const leaf = ethers.keccak256(store.chunk(i) ?? new Uint8Array());
        expect(rootFromPath(leaf, i, store.proof(i))).to.equal(store.dataRoot);
      }
    });

    it("refuses data larger than the capacity, and empty data", () => {
      expect(() =>
        capacityStore(new Uint8Array(3 * STORAGE_CHUNK_SIZE), 2),
      ).to.throw(RangeError);
      expect(() => capacityStore(new Uint8Array(0), 2)).to.throw(RangeError);
    });
  });

  describe("proofs built mid-epoch", () => {
    const now = BigInt(WINDOW.start + 1_000);

    it("the window ends one second after now, and the send rule is the last seconds of the epoch", () => {
      expect(agentWindow(WINDOW, now)).to.deep.equal({
        start: WINDOW.start,
        end: WINDOW.start + 1_001,
      });
      expect(agentWindow(WINDOW, BigInt(WINDOW.end + 50))).to.deep.equal(
        WINDOW,
      );
      expect(isDue(WINDOW, BigInt(WINDOW.end - 301), 300)).to.equal(false);
      expect(isDue(WINDOW, BigInt(WINDOW.end - 300), 300)).to.equal(true);
      expect(isDue(WINDOW, BigInt(WINDOW.end + 10), 300)).to.equal(true);
    });

    for (const [name, resourceClass] of [
      ["Storage (real folder, 1 GiB)", ResourceClass.Storage],
      ["ComputeCpu", ResourceClass.ComputeCpu],
      ["ComputeGpu", ResourceClass.ComputeGpu],
    ] as const) {
      it(`${name}: no timestamp after now, every proof verified, work > 0`, () => {
        const storage =
          resourceClass === ResourceClass.Storage
            ? capacityStore(readFolderData(folder), committedChunks(1n))
            : undefined;
        const device = new Device({
          wallet: walletFromSeed("agent-process", name),
          resourceClass,
          capacity: 1,
          location: "",
          ...(storage === undefined ? {} : { storage }),
        });
        const records = epochProofs(
          device,
          { epoch: 5n, seed: SEED, window: WINDOW, domain: DOMAIN },
          now,
        );
        expect(records.length).to.be.greaterThan(1);
        for (const r of records) {
          expect(r.timestamp <= now, `timestamp ${r.timestamp}`).to.equal(true);
          expect(r.timestamp >= BigInt(WINDOW.start)).to.equal(true);
        }
        const outcomes = verifyEpoch({
          epoch: 5n,
          seed: SEED,
          window: WINDOW,
          devices: new Map([[device.address, { resourceClass, capacity: 1n }]]),
          proofs: records.map((record) => ({
            record,
            digest: proofDigest(DOMAIN, record),
          })),
        });
        expect(outcomes).to.have.length(records.length);
        for (const o of outcomes)
          expect(o.result, o.result.ok ? "" : o.result.reason).to.include({
            ok: true,
          });
        const work = outcomes.reduce(
          (s, o) => s + (o.result.ok ? BigInt(o.result.workUnits) : 0n),
          0n,
        );
        expect(work > 0n).to.equal(true);
      });
    }
  });

  describe("process startup errors", () => {
    /** Runs main.ts with `args` (an unreachable RPC), resolving to its exit code and output. */
    const agent = (
      ...args: string[]
    ): Promise<{ status: number | null; stderr: string }> =>
      new Promise((resolve) => {
        const child = spawn(
          process.execPath,
          [
            "-r",
            "ts-node/register/transpile-only",
            path.join(ROOT, "oracles", "agent", "main.ts"),
            ...args,
          ],
          {
            cwd: ROOT,
            env: { ...process.env, MESHWORK_RPC_URL: "http://127.0.0.1:9" },
            timeout: 30_000,
          },
        );
        let stderr = "";
        child.stderr.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
        child.on("close", (status) => resolve({ status, stderr }));
      });
    const oneLine = (text: string): void => {
      expect(text.trimEnd().split("\n"), text).to.have.length(1);
      expect(text.startsWith("meshwork-agent: "), text).to.equal(true);
    };

    it("a missing key file, a bad class, an empty folder, no RPC: exit 1 with one line", async () => {
      const keyFile = path.join(folder, "..", `${path.basename(folder)}.key`);
      writeFileSync(
        keyFile,
        `${walletFromSeed("agent-process", "key").privateKey}\n`,
      );
      const empty = mkdtempSync(path.join(tmpdir(), "meshwork-agent-empty-"));
      try {
        const cases: [string[], RegExp][] = [
          [
            [
              "--key-file",
              "/nonexistent/device.key",
              "--class",
              "ComputeCpu",
              "--oracle",
              "http://x",
            ],
            /cannot be read/,
          ],
          [
            [
              "--key-file",
              keyFile,
              "--class",
              "Coverage",
              "--oracle",
              "http://x",
            ],
            /cannot be served/,
          ],
          [
            [
              "--key-file",
              keyFile,
              "--class",
              "Storage",
              "--folder",
              empty,
              "--oracle",
              "http://x",
            ],
            /holds no data/,
          ],
          [
            [
              "--key-file",
              keyFile,
              "--class",
              "ComputeCpu",
              "--oracle",
              "http://x",
            ],
            /RPC/,
          ],
        ];
        const runs: { status: number | null; stderr: string }[] = [];
        for (let i = 0; i < cases.length; i += 2) {
          runs.push(
            ...(await Promise.all(
              cases.slice(i, i + 2).map(([args]) => agent(...args)),
            )),
          ); // two at a time
        }
        for (const [i, [args, message]] of cases.entries()) {
          const r = runs[i];
          expect(r.status, `${args.join(" ")}: ${r.stderr}`).to.equal(1);
          oneLine(r.stderr);
          expect(r.stderr).to.match(message);
        }
      } finally {
        rmSync(keyFile, { force: true });
        rmSync(empty, { recursive: true, force: true });
      }
    });
  });
});
