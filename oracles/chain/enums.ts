/** Checked conversions of the registry's enum values (uint8, returned as bigint) to the SDK's enum numbers. */
import { DeviceStatus, ResourceClass } from "../../sdk/enums";

import { ChainReadError } from "./errors";

const CLASS_VALUES: readonly number[] = Object.values(ResourceClass);
const STATUS_VALUES: readonly number[] = Object.values(DeviceStatus);

/** The `ResourceClass` numbered `value`; throws `ChainReadError` for a number the SDK does not know. */
export function toResourceClass(value: bigint): ResourceClass {
  const n = Number(value);
  if (!CLASS_VALUES.includes(n)) throw new ChainReadError(`unknown resource class ${value}`, { details: { value: n } });
  return n as ResourceClass;
}

/** The `DeviceStatus` numbered `value`; throws `ChainReadError` for a number the SDK does not know. */
export function toDeviceStatus(value: bigint): DeviceStatus {
  const n = Number(value);
  if (!STATUS_VALUES.includes(n)) throw new ChainReadError(`unknown device status ${value}`, { details: { value: n } });
  return n as DeviceStatus;
}
