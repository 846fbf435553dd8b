/**
 * `claim`: pays devices' rewards from the latest finalised root. The verdict file of that epoch comes from an oracle
 * (`GET <oracle>/v1/verdicts/<epoch>/file`); its `rewardsRoot` must equal the root on-chain, and each proof is checked
 * locally before one `claimMany` is sent for every device with an unclaimed amount.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { Command } from "commander";
import { ZeroAddress, ZeroHash, getAddress } from "ethers";
import { z } from "zod";

import { parseAddress } from "./args";
import { globalsOf, openSend, withSession, type SendSession } from "./context";
import { CliError } from "./errors";
import { formatMesh, print } from "./format";
import { address, bytes32, decimal, fetchVerdictFile } from "./verdict-file";

const LEAF_ENCODING = ["address", "uint256"];

const verdictFileSchema = z.object({
  epoch: decimal,
  rewardsRoot: bytes32,
  rewards: z.array(z.object({ device: address, cumulative: decimal, proof: z.array(bytes32) })),
});

type VerdictFile = z.infer<typeof verdictFileSchema>;

export function claimCommand(): Command {
  return new Command("claim")
    .description("claim devices' rewards from the latest finalised root, with proofs from an oracle's verdict file")
    .requiredOption("--oracle <url>", "base URL of an oracle node (serves /v1/verdicts/<epoch>/file)")
    .option("--device <address...>", "devices to claim for (default: every device of the sending account)")
    .addHelpText(
      "after",
      "\nRewards go to each device's operator's staking pool; collect them with Staking.claimRewards.\n" +
        "\nExample:\n  $ MESHWORK_KEY=0x.. npm run cli -- claim --oracle http://oracle-1:7000",
    )
    .action(async (options: { oracle: string; device?: string[] }, command: Command) => {
      const devices = options.device?.map((d) => parseAddress(d, "--device"));
      await withSession(openSend(globalsOf(command)), (s) => claim(s, options.oracle, devices));
    });
}

async function claim(s: SendSession, oracle: string, requested: string[] | undefined): Promise<void> {
  const { distributor, hub, registry } = s.meshwork;
  // claimMany syncs first: the root it checks against is the hub's latest finalised one.
  const [[syncedEpoch, syncedRoot], [finalEpoch, finalRoot, exists]] = await Promise.all([
    distributor.currentRoot(),
    hub.latestFinalised(),
  ]);
  const [epoch, root] = exists ? [finalEpoch, finalRoot] : [syncedEpoch, syncedRoot];
  if (!exists && syncedRoot === ZeroHash) throw new CliError("no finalised rewards root yet: nothing can be claimed");

  const file: VerdictFile = await fetchVerdictFile(oracle, epoch, verdictFileSchema);
  if (BigInt(file.epoch) !== epoch) {
    throw new CliError(`the oracle's verdict file is for epoch ${file.epoch}, not ${epoch}`);
  }
  if (file.rewardsRoot.toLowerCase() !== root.toLowerCase()) {
    throw new CliError(
      `the oracle's verdict file for epoch ${epoch} has rewardsRoot ${file.rewardsRoot}, ` +
        `but the root on-chain is ${root}: not claiming with it`,
    );
  }
  const byDevice = new Map(file.rewards.map((r) => [getAddress(r.device), r]));

  let devices: string[];
  if (requested !== undefined) {
    for (const d of requested) {
      if ((await registry.operatorOf(d)) === ZeroAddress) {
        throw new CliError(`unknown device ${d}: not registered`);
      }
      if (!byDevice.has(d)) throw new CliError(`device ${d} has no reward in the verdict file of epoch ${epoch}`);
    }
    devices = requested;
  } else {
    devices = [];
    for (const d of byDevice.keys()) if ((await registry.operatorOf(d)) === s.account) devices.push(d);
  }

  const claims: { device: string; cumulativeAmount: bigint; proof: string[] }[] = [];
  for (const device of devices) {
    const entry = byDevice.get(device);
    if (entry === undefined) continue;
    const cumulative = BigInt(entry.cumulative);
    if (!StandardMerkleTree.verify(root, LEAF_ENCODING, [device, cumulative], entry.proof)) {
      throw new CliError(`the proof of device ${device} in the verdict file does not verify against root ${root}`);
    }
    const claimed = await distributor.claimed(device);
    if (cumulative > claimed) claims.push({ device, cumulativeAmount: cumulative, proof: entry.proof });
  }
  if (claims.length === 0) {
    print(`nothing to claim at epoch ${epoch} for ${requested === undefined ? s.account : "the given devices"}`);
    return;
  }
  let total = 0n;
  for (const c of claims) total += c.cumulativeAmount - (await distributor.claimed(c.device));
  print(`claiming ${formatMesh(total)} for ${claims.length} device(s) at epoch ${epoch}`);
  await s.send("claim", distributor.claimMany(claims));
}
