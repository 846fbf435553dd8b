/**
 * The oracle node's chain adapter: JSON-RPC provider (bounded, retrying reads), deployment file, typed contracts, device
 * directory, chain time, epoch state.
 */
export {
  checkDeployment,
  connectProtocol,
  deploymentFileSchema,
  parseDeployment,
  readDeploymentFile,
} from "./contracts";
export type { DeploymentFile, ProtocolContracts } from "./contracts";
export { ChainDeviceDirectory } from "./directory";
export type { ChainDeviceDirectoryOptions, DeviceReader } from "./directory";
export { ChainEpochClock, ChainTime, epochWindow, monotonicMs } from "./clock";
export { ChainProvider, isTransientRpcError } from "./provider";
export type { ChainProviderOptions } from "./provider";
export type { ChainTimeOptions } from "./clock";
export { toDeviceStatus, toResourceClass } from "./enums";
export { ChainReadError, ChainTimeNotReadyError, DeploymentFileError, isRevert } from "./errors";
export type { ErrorDecoder } from "./errors";
export { readLeases } from "./leases";
export type { LeaseSource, ReadLeasesOptions } from "./leases";
export { DeviceIndex, readEpochState, referenceBlock } from "./state";
export type { DeviceIndexOptions, EpochChainState } from "./state";
