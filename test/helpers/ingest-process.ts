/**
 * A stand-alone ingest process for crash tests: the real ingest app (app.ts) on a file-backed `ProofStore`, with the
 * signature checks on a `VerifierPool`, as server.ts wires them, but with an in-memory device directory and a fixed
 * clock instead of a chain. Run as a script (`node -r ts-node/register/transpile-only test/helpers/ingest-process.ts`)
 * with:
 * - MESHWORK_TEST_STORE    path of the SQLite store
 * - MESHWORK_TEST_PORT     port on 127.0.0.1
 * - MESHWORK_TEST_DEVICES  number of registered devices (`ingestDevice(0..n-1)`)
 * Imported, it gives the tests the same devices, domain and clock.
 */
import { ethers } from "ethers";
import { DeviceStatus, ResourceClass } from "../../sdk/enums";
import { proofDomain, ProofKind, signProof, type ProofRecord } from "../../oracles/proof";
import { VerifierPool } from "../../oracles/proof/verifier-pool";
import { buildIngestApp } from "../../oracles/node/app";
import { FixedEpochClock, MemoryDeviceDirectory } from "../../oracles/node/directory";
import { ProofStore } from "../../oracles/node/store";

export const INGEST_DOMAIN = proofDomain(31337n, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
export const INGEST_EPOCH_LENGTH = 3600n;
export const INGEST_EPOCH = 42n;
export const INGEST_EPOCH_START = 1_767_225_600n;
export const INGEST_GENESIS = INGEST_EPOCH_START - INGEST_EPOCH * INGEST_EPOCH_LENGTH;
export const INGEST_NOW = INGEST_EPOCH_START + 100n;

/** The key of registered device `i`. */
export function ingestDevice(i: number): ethers.Wallet {
  return new ethers.Wallet(ethers.id(`meshwork-ingest-process-device:${i}`));
}

/** A directory with `wallets` registered (Active, Coverage). */
export function ingestDirectory(wallets: readonly ethers.Wallet[]): MemoryDeviceDirectory {
  return new MemoryDeviceDirectory(
    wallets.map((w) => [
      w.address,
      { operator: w.address, resourceClass: ResourceClass.Coverage, status: DeviceStatus.Active },
    ]),
  );
}

/** A valid heartbeat of `device` with `nonce`, for the fixed clock. */
export function ingestProof(device: ethers.Wallet, nonce: bigint): ProofRecord {
  return signProof(device, INGEST_DOMAIN, {
    epoch: INGEST_EPOCH,
    nonce,
    timestamp: INGEST_EPOCH_START + 50n,
    resourceClass: ResourceClass.Coverage,
    kind: ProofKind.Heartbeat,
    payload: { uptimeSeconds: 60 },
  });
}

async function main(): Promise<void> {
  const storePath = process.env.MESHWORK_TEST_STORE;
  const port = Number(process.env.MESHWORK_TEST_PORT);
  const count = Number(process.env.MESHWORK_TEST_DEVICES ?? "50");
  if (storePath === undefined || !Number.isInteger(port)) throw new Error("MESHWORK_TEST_STORE and _PORT are required");
  const store = new ProofStore(storePath);
  const verifier = new VerifierPool();
  const app = buildIngestApp({
    store,
    directory: ingestDirectory(Array.from({ length: count }, (_, i) => ingestDevice(i))),
    clock: new FixedEpochClock(INGEST_GENESIS, INGEST_EPOCH_LENGTH),
    domain: INGEST_DOMAIN,
    now: () => INGEST_NOW,
    verifier,
  });
  const address = await app.listen({ host: "127.0.0.1", port });
  console.log(JSON.stringify({ listening: address, proofs: store.count() }));
  process.once("SIGTERM", () => {
    void app
      .close()
      .then(() => verifier.close())
      .finally(() => {
        store.close();
        process.exit(0);
      });
  });
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
