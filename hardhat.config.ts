import { subtask, type HardhatUserConfig } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import "@nomicfoundation/hardhat-toolbox";

// The compiler comes from the npm `solc` package (solc-js), so builds work without downloading a compiler.
// Keep this version equal to the `solc` version pinned in package.json.
const SOLC_VERSION = "0.8.28";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD).setAction(async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper(args);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc") as { version(): string };
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: args.solcVersion,
    longVersion: solc.version(),
  };
});

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "cancun",
    },
  },
  mocha: { timeout: 120_000 },
  networks: {
    // Any JSON-RPC chain: MESHWORK_RPC_URL, and DEPLOYER_KEY for the account that sends transactions.
    ...(process.env.MESHWORK_RPC_URL
      ? {
          remote: {
            url: process.env.MESHWORK_RPC_URL,
            accounts: process.env.DEPLOYER_KEY ? [process.env.DEPLOYER_KEY] : [],
          },
        }
      : {}),
  },
  gasReporter: { enabled: process.env.REPORT_GAS === "true" },
};

export default config;
