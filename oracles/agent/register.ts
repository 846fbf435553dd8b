/**
 * A device registers through its operator: the device key signs its onboarding consent (EIP-712
 * `DeviceRegistration(operator, resourceClass, capacity, location, nonce, deadline)` under the registry's domain), and
 * the operator submits `registerDevice(registration, signature)`.
 *
 * Units: the simulator's `Device.capacity` is a JS number in the class's unit (GiB for STORAGE, kW for ENERGY, 1
 * elsewhere); the registry takes whole units as a uint64, so the declared capacity is `onChainCapacity(capacity)`:
 * rounded to the nearest integer and at least 1 (a 0.4 kW meter declares 1 kW). The fleet's storage data uses the same
 * rounding, so a storage device stores exactly what it declares.
 *
 * Location: the registry requires an H3 cell for COVERAGE and accepts zero (no location) for every other class; a
 * non-zero location must be a valid H3 cell. By default only COVERAGE registers its cell (`REGISTERS_LOCATION`):
 * a mapping device moves, storage and compute have no place that matters, and an energy meter's place is not used
 * by any verifier. Pass `location` to register one anyway.
 *
 * Pure apart from signing, and synchronous: the digest is signed with the wallet's signing key (RFC 6979).
 */
import { Signature, TypedDataEncoder, type BaseWallet, type TypedDataDomain, type TypedDataField } from "ethers";
import { isValidCell } from "h3-js";

import { ResourceClass } from "../../sdk/enums";
import type { ProviderRegistry } from "../../typechain-types";
import type { DeviceRegistrationStruct } from "../../typechain-types/contracts/ProviderRegistry";
import { Device } from "./device";

/** EIP-712 types of the device's onboarding consent (`ProviderRegistry.REGISTRATION_TYPEHASH`). */
export const REGISTRATION_TYPES: Record<string, TypedDataField[]> = {
  DeviceRegistration: [
    { name: "operator", type: "address" },
    { name: "resourceClass", type: "uint8" },
    { name: "capacity", type: "uint64" },
    { name: "location", type: "uint64" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** Classes whose device registers its H3 cell by default (the registry requires one for COVERAGE only). */
export const REGISTERS_LOCATION: ReadonlySet<ResourceClass> = new Set([ResourceClass.Coverage]);

const UINT64_MAX = (1n << 64n) - 1n;

/** The on-chain capacity (uint64, whole units) of a simulator capacity: rounded to nearest, at least 1. */
export function onChainCapacity(capacity: number): bigint {
  if (!Number.isFinite(capacity) || capacity < 0) throw new RangeError(`capacity must be finite and >= 0: ${capacity}`);
  const units = BigInt(Math.max(1, Math.round(capacity)));
  if (units > UINT64_MAX) throw new RangeError(`capacity exceeds uint64: ${capacity}`);
  return units;
}

/** An H3 cell as the registry stores it: the 64-bit index of its hex string (e.g. "8c283082a1a3fff"). */
export function cellToUint64(cell: string): bigint {
  if (!isValidCell(cell)) throw new RangeError(`not a valid H3 cell: ${cell}`);
  return BigInt(`0x${cell}`);
}

/** What the operator submits: the arguments of `ProviderRegistry.registerDevice`. */
export interface SignedRegistration {
  registration: DeviceRegistrationStruct;
  signature: string;
}

export interface DeviceRegistrationOptions {
  /** The operator that will submit the registration (the signature binds the device to it). */
  operator: string;
  /** The signature expires after this unix time. */
  deadline: bigint;
  /** The device's registry nonce (`nonces(device)`); a key never used on the registry has 0 (the default). */
  nonce?: bigint;
  /** Defaults to the device's class (required when signing with a bare wallet). */
  resourceClass?: ResourceClass;
  /**
   * A number is the simulator's capacity (mapped by `onChainCapacity`), a bigint the on-chain value as is.
   * Defaults to the device's capacity (required when signing with a bare wallet).
   */
  capacity?: number | bigint;
  /**
   * H3 cell as a string or uint64; null or 0n for none. Defaults to the device's cell for classes in
   * `REGISTERS_LOCATION`, none otherwise.
   */
  location?: string | bigint | null;
  metadataURI?: string;
}

/**
 * The device signs its consent to be registered by `options.operator`; returns the `registerDevice` arguments.
 * `domain` is the registry's EIP-712 domain (`registrationDomain`).
 */
export function signDeviceRegistration(
  device: Device | BaseWallet,
  domain: TypedDataDomain,
  options: DeviceRegistrationOptions,
): SignedRegistration {
  const wallet = device instanceof Device ? device.wallet : device;
  const resourceClass = options.resourceClass ?? (device instanceof Device ? device.resourceClass : undefined);
  if (resourceClass === undefined) throw new TypeError("resourceClass is required when signing with a wallet");
  const rawCapacity = options.capacity ?? (device instanceof Device ? device.capacity : undefined);
  if (rawCapacity === undefined) throw new TypeError("capacity is required when signing with a wallet");
  const capacity = typeof rawCapacity === "bigint" ? rawCapacity : onChainCapacity(rawCapacity);
  const location = registeredLocation(device, resourceClass, options.location);
  const nonce = options.nonce ?? 0n;

  const digest = TypedDataEncoder.hash(domain, REGISTRATION_TYPES, {
    operator: options.operator,
    resourceClass,
    capacity,
    location,
    nonce,
    deadline: options.deadline,
  });
  return {
    registration: {
      device: wallet.address,
      resourceClass,
      capacity,
      location,
      deadline: options.deadline,
      metadataURI: options.metadataURI ?? "",
    },
    signature: Signature.from(wallet.signingKey.sign(digest)).serialized,
  };
}

function registeredLocation(
  device: Device | BaseWallet,
  resourceClass: ResourceClass,
  location: string | bigint | null | undefined,
): bigint {
  if (location === null) return 0n;
  if (typeof location === "bigint") return location;
  if (typeof location === "string") return cellToUint64(location);
  if (device instanceof Device && REGISTERS_LOCATION.has(resourceClass)) return cellToUint64(device.location);
  if (resourceClass === ResourceClass.Coverage) throw new TypeError("location is required for COVERAGE");
  return 0n;
}

/** EIP-5267 fields bits: name, version, chainId, verifyingContract, salt. */
const FIELD_NAME = 1n;
const FIELD_VERSION = 2n;
const FIELD_CHAIN_ID = 4n;
const FIELD_VERIFYING_CONTRACT = 8n;
const FIELD_SALT = 16n;

/** The registry's EIP-712 domain, read from the chain (EIP-5267 `eip712Domain()`), with exactly the fields it uses. */
export async function registrationDomain(registry: Pick<ProviderRegistry, "eip712Domain">): Promise<TypedDataDomain> {
  const d = await registry.eip712Domain();
  const fields = BigInt(d.fields);
  if (d.extensions.length > 0) throw new Error(`unsupported EIP-712 extensions: ${d.extensions.join(", ")}`);
  const domain: TypedDataDomain = {};
  if (fields & FIELD_NAME) domain.name = d.name;
  if (fields & FIELD_VERSION) domain.version = d.version;
  if (fields & FIELD_CHAIN_ID) domain.chainId = d.chainId;
  if (fields & FIELD_VERIFYING_CONTRACT) domain.verifyingContract = d.verifyingContract;
  if (fields & FIELD_SALT) domain.salt = d.salt;
  return domain;
}
