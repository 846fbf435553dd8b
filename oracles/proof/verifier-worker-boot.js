/**
 * Entry of a verifier worker when the pool runs from TypeScript sources (ts-node: mocha under `hardhat test`, or
 * `node -r ts-node/register/transpile-only`): a worker thread starts without the parent's require hooks unless they
 * came from `-r` in execArgv, so register ts-node here (once) and load the .ts worker named in workerData. Compiled
 * builds start verifier-worker.js directly and never use this file.
 */
"use strict";
const { workerData } = require("node:worker_threads");

if (!process[Symbol.for("ts-node.register.instance")]) require("ts-node/register/transpile-only");
require(workerData.entry);
