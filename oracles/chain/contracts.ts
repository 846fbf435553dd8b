/** The oracles read the integrators' deployment module (sdk/deployment.ts). */
export {
  checkDeployment,
  connectProtocol,
  deploymentFileSchema,
  parseDeployment,
  readDeploymentFile,
  type DeploymentFile,
  type ProtocolContracts,
} from "../../sdk/deployment";
