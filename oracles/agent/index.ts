/** The device side: device keys and proofs, behaviours, storage data and the fleet simulator. */
export * from "./behaviours";
export * from "./chunks";
export * from "./device";
export * from "./fleet";
export * from "./radio";
export * from "./register";
export { folderStore, listFolderFiles, readFolderData } from "./storage-folder";
export {
  AGENT_CLASSES,
  DEFAULT_SEND_BEFORE_END_S,
  agentWindow,
  capacityStore,
  committedChunks,
  cumulativeReward,
  epochProofs,
  isDue,
  oracleAlive,
  postBatch,
  runAgent,
  type AgentOptions,
  type BatchOutcome,
} from "./run";
