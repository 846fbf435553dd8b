/** The device side: device keys and proofs, behaviours, storage data and the fleet simulator. */
export * from "./behaviours";
export * from "./chunks";
export * from "./device";
export * from "./fleet";
export * from "./radio";
export * from "./register";
export { folderStore, listFolderFiles, readFolderData } from "./storage-folder";
