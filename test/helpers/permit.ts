import { Signature, type TypedDataDomain } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import type { MeshToken } from "../../typechain-types";

/** EIP-712 domain of a MeshToken deployment (ERC20Permit, ERC20Votes). */
export async function tokenDomain(token: MeshToken): Promise<TypedDataDomain> {
  const domain = await token.eip712Domain();
  return { name: domain.name, version: domain.version, chainId: domain.chainId, verifyingContract: domain.verifyingContract };
}

export const PERMIT_TYPES = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** `signer`'s EIP-2612 permit for `spender` to take `value` of `owner`'s MESH until `deadline` (next nonce unless given). */
export async function signPermit(
  token: MeshToken,
  signer: HardhatEthersSigner,
  owner: string,
  spender: string,
  value: bigint,
  deadline: bigint,
  nonce?: bigint,
): Promise<Signature> {
  const signature = await signer.signTypedData(await tokenDomain(token), PERMIT_TYPES, {
    owner,
    spender,
    value,
    nonce: nonce ?? (await token.nonces(owner)),
    deadline,
  });
  return Signature.from(signature);
}
