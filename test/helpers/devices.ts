import { ethers } from "ethers";

import {
  REGISTRATION_TYPES,
  registrationDomain,
  signDeviceRegistration,
  type SignedRegistration,
} from "../../oracles/agent/register";
import type { ResourceClass } from "../../sdk/enums";
import type { ProviderRegistry } from "../../typechain-types";

export { ResourceClass, DeviceStatus, FaultKind } from "../../sdk/enums";

/** Valid H3 cells (resolution 8, San Francisco) for tests. */
export const H3_CELL = 0x8828308281fffffn;
export const H3_CELL_2 = 0x882830828dfffffn;

/** A device key derived from a label, so tests are reproducible. */
export function deviceWallet(label: string): ethers.Wallet {
  return new ethers.Wallet(ethers.id(`meshwork-test-device:${label}`));
}

/** EIP-712 types of the device's onboarding consent (the agent's, so tests sign exactly what devices sign). */
export { REGISTRATION_TYPES };

export const LOCATION_TYPES = {
  LocationUpdate: [
    { name: "device", type: "address" },
    { name: "location", type: "uint64" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** The EIP-712 domain of a registry, read from the chain (EIP-5267). */
export const registryDomain: (registry: ProviderRegistry) => Promise<ethers.TypedDataDomain> = registrationDomain;

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
): Promise<SignedRegistration> {
  const nonce = params.nonce ?? (await registry.nonces(device.address));
  const domain = { ...(await registryDomain(registry)), ...params.domain };
  return signDeviceRegistration(device, domain, {
    operator: params.operator,
    resourceClass: params.resourceClass as ResourceClass,
    capacity: params.capacity,
    location: params.location,
    nonce,
    deadline: params.deadline,
    metadataURI: params.metadataURI,
  });
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
