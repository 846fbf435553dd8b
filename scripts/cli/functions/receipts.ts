/** Printing the transactions of the `functions` commands, including those the toolkit (ethers v5) sent. */
import { Interface, toBeHex, type ContractTransactionResponse, type TransactionReceipt } from "ethers";

import type { ReadSession, SendSession } from "../context";
import { CliError } from "../errors";
import { formatCall, print } from "../format";
import { parseLog } from "./shared";

/** Sends, waits and prints the receipt (`receiptLinesOf`). */
export async function sendQuietly(
  s: SendSession,
  label: string,
  tx: Promise<ContractTransactionResponse>,
): Promise<TransactionReceipt> {
  const response = await tx;
  const receipt = await response.wait();
  if (receipt === null) throw new CliError(`${label}: transaction ${response.hash} was not mined`);
  print(...receiptLinesOf(s, label, receipt));
  return receipt;
}

/** Prints a transaction the toolkit sent (it returns ethers v5 receipts): hash, block, gas and events. */
export async function printToolkitTx(s: ReadSession, label: string, hash: string): Promise<void> {
  const receipt = await s.provider.getTransactionReceipt(hash);
  if (receipt === null) throw new CliError(`${label}: transaction ${hash} was not mined`);
  print(...receiptLinesOf(s, label, receipt));
}

/** Events of the Functions router the CLI decodes (the protocol's ABIs do not know them). */
export const ROUTER_EVENTS = new Interface([
  "event SubscriptionCreated(uint64 indexed subscriptionId, address owner)",
  "event SubscriptionFunded(uint64 indexed subscriptionId, uint256 oldBalance, uint256 newBalance)",
  "event SubscriptionConsumerAdded(uint64 indexed subscriptionId, address consumer)",
  "event RequestProcessed(bytes32 indexed requestId, uint64 indexed subscriptionId, uint96 totalCostJuels, address transmitter, uint8 resultCode, bytes response, bytes err, bytes callbackReturnData)",
]);

/**
 * Like `SendSession.send`'s output, with the router's subscription events decoded too; the other events of the
 * Functions router, coordinator and LINK token (the request events carry the whole source as CBOR) are only counted.
 */
export function receiptLinesOf(s: ReadSession, label: string, receipt: TransactionReceipt): string[] {
  const lines = [`${label}: tx ${receipt.hash} (block ${receipt.blockNumber}, gas ${receipt.gasUsed})`];
  let hidden = 0;
  for (const log of receipt.logs) {
    const router = parseLog(ROUTER_EVENTS, log);
    const line = router === null ? s.decoder.format(log) : formatCall(router.name, router.fragment.inputs, router.args);
    if (line.startsWith("unknown event")) hidden += 1;
    else lines.push(`  ${line}`);
  }
  if (hidden > 0) lines.push(`  (and ${hidden} event(s) of the Functions router, coordinator or LINK token)`);
  return lines;
}

/** The transaction that created subscription `id`, from the router's SubscriptionCreated event since `fromBlock`. */
export async function creationTx(s: ReadSession, router: string, id: bigint, fromBlock: number): Promise<string> {
  const event = ROUTER_EVENTS.getEvent("SubscriptionCreated");
  if (event === null) throw new CliError("SubscriptionCreated is missing from the router ABI");
  const logs = await s.provider.getLogs({
    address: router,
    topics: [event.topicHash, toBeHex(id, 32)],
    fromBlock,
  });
  const log = logs.at(-1);
  if (log === undefined) throw new CliError(`no SubscriptionCreated event for subscription ${id}`);
  return log.transactionHash;
}
