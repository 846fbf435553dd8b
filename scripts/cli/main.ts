/**
 * The Meshwork command-line tool for operators and governance.
 *
 *   npm run cli -- <command> [options]        (node -r ts-node/register/transpile-only scripts/cli/main.ts)
 *   npm run cli -- --help
 *
 * Global options: --rpc <url> (default MESHWORK_RPC_URL, else http://127.0.0.1:8545), --deployments <dir> (default
 * DEPLOYMENTS_DIR, else deployments/), --key-file <path> (default: the key in MESHWORK_KEY). Every failure prints one
 * line starting with "meshwork: " to stderr and exits 1; a sent transaction prints its hash and decoded events.
 */
import { Command, CommanderError } from "commander";

import { claimCommand } from "./claim";
import { defaultGlobals } from "./context";
import { deviceCommand } from "./device";
import { describeError } from "./errors";
import { functionsCommand } from "./functions";
import { govCommand } from "./gov";
import { marketCommand } from "./market";
import { stakingCommands } from "./staking";
import { statusCommand } from "./status";

export function buildProgram(): Command {
  const defaults = defaultGlobals();
  const program = new Command("meshwork")
    .description("Meshwork operator and governance CLI")
    .option("--rpc <url>", "JSON-RPC endpoint (env MESHWORK_RPC_URL)", defaults.rpc)
    .option("--deployments <dir>", "folder of deployments/<chainId>.json files (env DEPLOYMENTS_DIR)", defaults.deployments)
    .option("--key-file <path>", "file holding the sending private key (default: env MESHWORK_KEY)")
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, outputError: () => undefined })
    .showSuggestionAfterError(true)
    .addHelpText(
      "after",
      "\nKeys are read from MESHWORK_KEY or --key-file and never printed. Amounts are MESH in decimal.\n" +
        "Run `npm run cli -- <command> --help` for a command's options.",
    );
  for (const command of [deviceCommand(), ...stakingCommands(), claimCommand(), statusCommand(), marketCommand(), govCommand(), functionsCommand()]) {
    inherit(command);
    program.addCommand(command);
  }
  return program;
}

/** Makes `command` and its sub-commands throw on usage errors instead of printing and exiting. */
function inherit(command: Command): void {
  command
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, outputError: () => undefined })
    .showSuggestionAfterError(true);
  for (const sub of command.commands) inherit(sub);
}

/** Runs the CLI; resolves to the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0; // --help, --version
      const message =
        error.code === "commander.help" || error.code === "commander.executeSubCommandAsync"
          ? "missing command; run with --help for the list of commands"
          : error.message.replace(/^error:\s*/, "");
      process.stderr.write(`meshwork: ${message.replace(/\s*\n\s*/g, " ")}\n`);
      return 1;
    }
    process.stderr.write(`meshwork: ${describeError(error)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
