/**
 * The oracle process: `node -r ts-node/register/transpile-only oracles/node/main.ts [--config <file>]`, configured
 * by the file and the environment (config.ts). Bad configuration or a failed start: one readable line on stderr and
 * exit code 1.
 */
import { loadNodeConfig } from "./config";
import { startOracleNode } from "./server";

function configPath(argv: readonly string[]): string | undefined {
  const i = argv.indexOf("--config");
  if (i >= 0) {
    const path = argv[i + 1];
    if (path === undefined || path.startsWith("--")) throw new Error("--config needs a file path");
    return path;
  }
  return process.env.MESHWORK_CONFIG || undefined;
}

async function main(): Promise<void> {
  const config = loadNodeConfig(configPath(process.argv.slice(2)));
  await startOracleNode(config);
}

main().catch((error: unknown) => {
  process.stderr.write(`meshwork-oracle: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
