/**
 * `device keygen`: a new device key. `device register`: the device key signs its onboarding consent (EIP-712, as the
 * agent does) and the operator (the sending key) submits `registerDevice`, after checking that the key is new and
 * that the operator's self-stake covers the added capacity.
 */
import { existsSync, writeFileSync } from "node:fs";

import { Command } from "commander";
import { Wallet } from "ethers";

import { cellToUint64, registrationDomain, signDeviceRegistration } from "../../oracles/agent/register";
import { ClassParam, DeviceStatus, ResourceClass } from "../../sdk/enums";
import { enumName, parseEnumName, parseUint64 } from "./args";
import { globalsOf, openSend, readKeyFile, withSession } from "./context";
import { CliError } from "./errors";
import { formatMesh, print } from "./format";

/** How long the device's signature stays valid (seconds after the latest block). */
const SIGNATURE_LIFETIME = 3_600n;

export function deviceCommand(): Command {
  const device = new Command("device").description("device keys and registration");

  device
    .command("keygen")
    .description("create a new device key and print its address (the device's identity on-chain)")
    .option("--out <file>", "write the private key to this file (mode 0600; refuses to overwrite)")
    .addHelpText("after", "\nExample:\n  $ npm run cli -- device keygen --out device.key")
    .action((options: { out?: string }) => {
      const wallet = Wallet.createRandom();
      if (options.out !== undefined) {
        if (existsSync(options.out)) throw new CliError(`${options.out} exists already; not overwriting a key`);
        try {
          writeFileSync(options.out, `${wallet.privateKey}\n`, { mode: 0o600, flag: "wx" });
        } catch (error) {
          throw new CliError(`cannot write ${options.out}: ${error instanceof Error ? error.message : String(error)}`);
        }
        print(`device ${wallet.address}`, `key written to ${options.out} (mode 0600)`);
      } else {
        print(`device ${wallet.address}`);
        process.stderr.write("note: no --out given, the key was not saved\n");
      }
    });

  device
    .command("register")
    .description("register a device under the sending key (the operator); the device key signs its consent")
    .requiredOption("--device-key-file <file>", "the device's private key (from `device keygen --out`)")
    .requiredOption("--class <class>", `resource class: ${Object.keys(ResourceClass).join(", ")}`)
    .requiredOption("--capacity <n>", "declared capacity in the class's units (whole number)")
    .option("--location <h3cell>", "H3 cell of the device (required for Coverage), e.g. 8c283082800b3ff")
    .option("--metadata <uri>", "metadata URI", "")
    .addHelpText(
      "after",
      "\nThe operator's self-stake must cover its declared capacity afterwards:\n" +
        "  registry.requiredStake(operator) + StakePerUnit(class) x capacity <= staking.selfStake(operator)\n" +
        "\nExample:\n  $ MESHWORK_KEY=0x.. npm run cli -- device register --device-key-file device.key \\\n" +
        "      --class Coverage --capacity 1 --location 8c283082800b3ff",
    )
    .action(async (options: RegisterOptions, command: Command) => {
      await registerDevice(options, command);
    });

  return device;
}

interface RegisterOptions {
  deviceKeyFile: string;
  class: string;
  capacity: string;
  location?: string;
  metadata: string;
}

async function registerDevice(options: RegisterOptions, command: Command): Promise<void> {
  const deviceWallet = readKeyFile(options.deviceKeyFile, "device key file");
  const resourceClass = parseEnumName(ResourceClass, options.class, "resource class");
  const capacity = parseUint64(options.capacity, "--capacity");
  if (capacity === 0n) throw new CliError("bad --capacity 0: must be at least 1");
  let location = 0n;
  if (options.location !== undefined) {
    try {
      location = cellToUint64(options.location);
    } catch {
      throw new CliError(`bad --location "${options.location}": not a valid H3 cell`);
    }
  }
  if (resourceClass === ResourceClass.Coverage && location === 0n) {
    throw new CliError("--location <h3cell> is required for Coverage devices");
  }

  await withSession(openSend(globalsOf(command)), async (s) => {
    const { registry, config, staking } = s.meshwork;
    const deviceAddress = deviceWallet.address;
    const existing = await registry.getDevice(deviceAddress);
    if (existing.status !== BigInt(DeviceStatus.None)) {
      throw new CliError(
        `device ${deviceAddress} is already registered (operator ${existing.operator}, ` +
          `status ${enumName(DeviceStatus, existing.status)}); a key registers once`,
      );
    }
    const className = enumName(ResourceClass, resourceClass);
    const maxCapacity = await config.classParam(resourceClass, ClassParam.MaxCapacity);
    if (capacity > maxCapacity) {
      throw new CliError(`capacity ${capacity} exceeds the maximum of ${maxCapacity} for ${className}`);
    }
    const [required, perUnit, have] = await Promise.all([
      registry.requiredStake(s.account),
      config.classParam(resourceClass, ClassParam.StakePerUnit),
      staking.selfStake(s.account),
    ]);
    const need = required + perUnit * capacity;
    if (have < need) {
      throw new CliError(
        `insufficient self-stake for operator ${s.account}: have ${formatMesh(have)}, need ${formatMesh(need)} ` +
          `(stake ${formatMesh(need - have)} more first: meshwork stake <amount>)`,
      );
    }

    const [domain, nonce, now] = await Promise.all([
      registrationDomain(registry),
      registry.nonces(deviceAddress),
      s.now(),
    ]);
    const { registration, signature } = signDeviceRegistration(deviceWallet, domain, {
      operator: s.account,
      deadline: now + SIGNATURE_LIFETIME,
      nonce,
      resourceClass,
      capacity,
      location,
      metadataURI: options.metadata,
    });
    await s.send(`register ${deviceAddress}`, registry.registerDevice(registration, signature));
  });
}
