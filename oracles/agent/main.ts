/**
 * The Meshwork device agent: one real device, run as its own process on this machine.
 *
 *   npm run agent -- --key-file device.key --class Storage --folder ./data --capacity 1 --oracle http://127.0.0.1:8601
 *   npm run agent -- --key-file device.key --class ComputeCpu --oracle http://127.0.0.1:8601
 *   (node -r ts-node/register/transpile-only oracles/agent/main.ts)
 *
 * Options: --key-file <file> (written by `npm run cli -- device keygen --out`), --class <Storage|ComputeCpu|ComputeGpu>,
 * --folder <dir> (Storage: the real files it keeps), --capacity <n> (optional; must equal the registered capacity,
 * GiB for Storage), --oracle <url> (repeatable; proofs go to the first that answers), --send-before-end <s>
 * (default 300), --rpc <url> (env MESHWORK_RPC_URL), --deployments <dir> (env DEPLOYMENTS_DIR).
 *
 * Startup checks, each a one-line "meshwork-agent: ..." on stderr and exit 1: unreadable key, unknown or unservable
 * class, missing or empty folder, RPC or deployment missing, device not registered or registered with another class
 * or capacity, folder larger than the capacity, no oracle reachable. Then `runAgent` (run.ts) until SIGINT / SIGTERM.
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";

import { Command, CommanderError, Option } from "commander";
import { JsonRpcProvider, Network } from "ethers";

import { connectMeshwork, deploymentPath } from "../../sdk/deployment";
import { DeviceStatus, ResourceClass } from "../../sdk/enums";
import { parseEnumName, enumName } from "../../scripts/cli/args";
import {
  defaultGlobals,
  probeChainId,
  readKeyFile,
} from "../../scripts/cli/context";
import { CliError, describeError } from "../../scripts/cli/errors";
import { proofDomain } from "../proof";
import { Device } from "./device";
import {
  AGENT_CLASSES,
  DEFAULT_SEND_BEFORE_END_S,
  capacityStore,
  committedChunks,
  oracleAlive,
  runAgent,
} from "./run";
import { readFolderData } from "./storage-folder";

interface AgentArgs {
  keyFile: string;
  class: string;
  folder?: string;
  capacity?: string;
  oracle: string[];
  sendBeforeEnd: string;
  rpc: string;
  deployments: string;
}

const PREFIX = "meshwork-agent";

function buildProgram(): Command {
  const defaults = defaultGlobals();
  return new Command(PREFIX)
    .description(
      "run one Meshwork device: send its proofs every epoch and watch its rewards",
    )
    .requiredOption(
      "--key-file <file>",
      "the device's private key (from `npm run cli -- device keygen --out`)",
    )
    .requiredOption(
      "--class <class>",
      "resource class: Storage, ComputeCpu or ComputeGpu",
    )
    .option(
      "--folder <dir>",
      "Storage: the folder of real files the device keeps",
    )
    .option(
      "--capacity <n>",
      "declared capacity (GiB for Storage); must equal the registered one",
    )
    .addOption(
      new Option(
        "--oracle <url>",
        "oracle node URL (repeatable; the first that answers takes the proofs)",
      )
        .argParser((value: string, previous: string[] = []) => [
          ...previous,
          value,
        ])
        .makeOptionMandatory(true),
    )
    .option(
      "--send-before-end <s>",
      "send proofs in the last <s> seconds of an epoch",
      String(DEFAULT_SEND_BEFORE_END_S),
    )
    .option(
      "--rpc <url>",
      "JSON-RPC endpoint (env MESHWORK_RPC_URL)",
      defaults.rpc,
    )
    .option(
      "--deployments <dir>",
      "folder of deployments/<chainId>.json files (env DEPLOYMENTS_DIR)",
      defaults.deployments,
    )
    .exitOverride()
    .configureOutput({
      writeErr: () => undefined,
      outputError: () => undefined,
    });
}

/** Parses, checks and runs; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  let args: AgentArgs;
  try {
    program.parse([...argv], { from: "user" });
    args = program.opts<AgentArgs>();
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0;
      return fail(error.message.replace(/^error:\s*/, ""));
    }
    return fail(describeError(error));
  }
  let provider: JsonRpcProvider | null = null;
  try {
    const wallet = readKeyFile(args.keyFile, "device key file");
    const resourceClass = parseEnumName(
      ResourceClass,
      args.class,
      "resource class",
    );
    if (!AGENT_CLASSES.has(resourceClass)) {
      throw new CliError(
        `class ${args.class} cannot be served by this agent (Storage, ComputeCpu or ComputeGpu)`,
      );
    }
    const sendBeforeEndS = Number(args.sendBeforeEnd);
    if (!Number.isSafeInteger(sendBeforeEndS) || sendBeforeEndS < 0) {
      throw new CliError(
        `bad --send-before-end "${args.sendBeforeEnd}": seconds, a whole number >= 0`,
      );
    }
    let data: Uint8Array | null = null;
    if (resourceClass === ResourceClass.Storage) {
      if (args.folder === undefined)
        throw new CliError("--folder <dir> is required for Storage");
      if (!existsSync(args.folder) || !statSync(args.folder).isDirectory()) {
        throw new CliError(
          `folder ${args.folder} does not exist or is not a directory`,
        );
      }
      data = readFolderData(args.folder);
      if (data.length === 0)
        throw new CliError(
          `folder ${args.folder} holds no data (no non-empty file)`,
        );
    }

    const chainId = await probeChainId(args.rpc);
    const dir = path.resolve(args.deployments);
    if (!existsSync(deploymentPath(chainId, dir))) {
      throw new CliError(
        `no deployment for chain ${chainId} in ${dir} (check --rpc and --deployments)`,
      );
    }
    const network = Network.from(chainId);
    provider = new JsonRpcProvider(args.rpc, network, {
      staticNetwork: network,
      pollingInterval: 1_000,
    });
    const meshwork = await connectMeshwork(provider, { chainId, dir });

    const registered = await meshwork.registry.getDevice(wallet.address);
    if (registered.status === BigInt(DeviceStatus.None)) {
      throw new CliError(
        `device ${wallet.address} is not registered (npm run cli -- device register ...)`,
      );
    }
    if (registered.resourceClass !== BigInt(resourceClass)) {
      throw new CliError(
        `device ${wallet.address} is registered as ${enumName(ResourceClass, registered.resourceClass)}, not ${args.class}`,
      );
    }
    if (registered.status !== BigInt(DeviceStatus.Active)) {
      process.stderr.write(
        `${PREFIX}: note: device is ${enumName(DeviceStatus, registered.status)}, not Active\n`,
      );
    }
    const capacity = registered.capacity;
    if (args.capacity !== undefined && args.capacity !== capacity.toString()) {
      throw new CliError(
        `--capacity ${args.capacity} differs from the registered capacity ${capacity}`,
      );
    }
    let store = null;
    if (data !== null) {
      try {
        store = capacityStore(data, committedChunks(capacity));
      } catch (error) {
        throw new CliError(
          `folder ${args.folder} does not fit ${capacity} GiB: ${describeError(error)}`,
        );
      }
    }

    const oracles = args.oracle;
    const alive = await Promise.all(oracles.map((url) => oracleAlive(url)));
    if (!alive.some((ok) => ok))
      throw new CliError(`no oracle reachable (${oracles.join(", ")})`);

    const device = new Device({
      wallet,
      resourceClass,
      capacity: Number(capacity),
      location: "",
      ...(store === null ? {} : { storage: store }),
    });
    const what =
      store === null
        ? `${args.class}`
        : `Storage ${capacity} GiB (${data?.length ?? 0} bytes from ${args.folder}, root ${store.dataRoot})`;
    process.stdout.write(
      `device ${wallet.address}: ${what}; oracles ${oracles.join(", ")}\n`,
    );

    const controller = new AbortController();
    const stop = (): void => {
      if (!controller.signal.aborted) process.stdout.write("stopping\n");
      controller.abort();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    await runAgent(
      {
        device,
        provider,
        contracts: meshwork,
        domain: proofDomain(chainId, meshwork.deployment.ProviderRegistry),
        oracles,
        sendBeforeEndS,
      },
      controller.signal,
    );
    return 0;
  } catch (error) {
    return fail(describeError(error));
  } finally {
    provider?.destroy();
  }
}

function fail(message: string): number {
  process.stderr.write(`${PREFIX}: ${message.replace(/\s*\n\s*/g, " ")}\n`);
  return 1;
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
