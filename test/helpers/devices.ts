import { ethers } from "ethers";

import type { ProviderRegistry } from "../../typechain-types";
import type { DeviceRegistrationStruct } from "../../typechain-types/contracts/ProviderRegistry";

export { ResourceClass, DeviceStatus, FaultKind } from "../../sdk/enums";

/** Valid H3 cells (resolution 8, San Francisco) for tests. */
export const H3_CELL = 0x8828308281fffffn;
export const H3_CELL_2 = 0x882830828dfffffn;

/** A device key derived from a label, so tests are reproducible. */
export function deviceWallet(label: string): ethers.Wallet {
  return new ethers.Wallet(ethers.id(`meshwork-test-device:${label}`));
}

export const REGISTRATION_TYPES = {
  DeviceRegistration: [
    { name: "operator", type: "address" },
    { name: "resourceClass", type: "uint8" },
    { name: "capacity", type: "uint64" },
    { name: "location", type: "uint64" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

export const LOCATION_TYPES = {
  LocationUpdate: [
    { name: "device", type: "address" },
    { name: "location", type: "uint64" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** The EIP-712 domain of a registry, read from the chain (EIP-5267). */
export async function registryDomain(registry: ProviderRegistry): Promise<ethers.TypedDataDomain> {
  const domain = await registry.eip712Domain();
  return { name: domain.name, version: domain.version, chainId: domain.chainId, verifyingContract: domain.verifyingContract };
}

export interface RegistrationParams {
  operator: string;
  resourceClass: number;
  capacity: bigint;
  location: bigint;
  deadline: bigint;
  metadataURI?: string;
  /** Defaults to the device's current nonce on the registry. */
  nonce?: bigint;
  /** Overrides parts of the domain, to test signatures for another chain or contract. */
  domain?: Partial<ethers.TypedDataDomain>;
}

/** The device signs its onboarding consent; returns the call arguments for `registerDevice`. */
export async function signRegistration(
  registry: ProviderRegistry,
  device: ethers.Wallet,
  params: RegistrationParams,
): Promise<{ registration: DeviceRegistrationStruct; signature: string }> {
  const nonce = params.nonce ?? (await registry.nonces(device.address));
  const domain = { ...(await registryDomain(registry)), ...params.domain };
  const signature = await device.signTypedData(domain, REGISTRATION_TYPES, {
    operator: params.operator,
    resourceClass: params.resourceClass,
    capacity: params.capacity,
    location: params.location,
    nonce,
    deadline: params.deadline,
  });
  return {
    registration: {
      device: device.address,
      resourceClass: params.resourceClass,
      capacity: params.capacity,
      location: params.location,
      deadline: params.deadline,
      metadataURI: params.metadataURI ?? "",
    },
    signature,
  };
}

/** The device signs a move to `location`. */
export async function signLocationUpdate(
  registry: ProviderRegistry,
  device: ethers.Wallet,
  location: bigint,
  deadline: bigint,
  nonce?: bigint,
): Promise<string> {
  return device.signTypedData(await registryDomain(registry), LOCATION_TYPES, {
    device: device.address,
    location,
    nonce: nonce ?? (await registry.nonces(device.address)),
    deadline,
  });
}
