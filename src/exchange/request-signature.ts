/**
 * Who signed a gateway request (docs/exchange.md, "The provider"): an EOA signing key by ECDSA
 * recovery, a contract signing key (a multisig, a smart-contract wallet) by its ERC-1271
 * `isValidSignature`, as the access ledger itself accepts the parties' signatures
 * (OpenZeppelin's `SignatureChecker`). Whether the signer is a registered, active key of the
 * requester is the ledger's check that follows (gateway.ts, `authorize`); this only says whether
 * the claimed signer signed.
 *
 * A contract's answer costs the gateway an `eth_call` whose code it does not control: it runs with
 * a gas cap and a timeout, so that a wallet that loops, or a node that stalls, costs a bounded
 * amount and is refused rather than waited on.
 */
import { AbiCoder, Interface, TypedDataEncoder, type Provider, type TypedDataDomain } from "ethers";
import { GATEWAY_REQUEST_TYPES, recoverRequestSigner, type GatewayRequest } from "./protocol.js";

/** `bytes4(keccak256("isValidSignature(bytes32,bytes)"))`: ERC-1271's magic value. */
export const ERC1271_MAGIC = "0x1626ba7e";

const ERC1271 = new Interface([
  "function isValidSignature(bytes32 hash, bytes signature) view returns (bytes4)",
]);
/** The magic value as a contract returns it: left-aligned in one 32-byte word. */
const MAGIC_WORD = AbiCoder.defaultAbiCoder().encode(["bytes4"], [ERC1271_MAGIC]);

/** Bounds of one ERC-1271 check. */
export interface ContractSignatureLimits {
  /** Gas the wallet's `isValidSignature` may use (the call fails beyond). */
  gas: bigint;
  /** How long the node may take to answer, in milliseconds. */
  timeoutMs: number;
}

export const DEFAULT_CONTRACT_SIGNATURE_LIMITS: ContractSignatureLimits = {
  // OpenZeppelin's own multisig checks stay far below; a wallet needing more is refused.
  gas: 200_000n,
  timeoutMs: 5_000,
};

/** Why a request's signature was not accepted. */
export type SignatureVerdict =
  { ok: true; kind: "eoa" | "erc1271" } | { ok: false; reason: string };

/**
 * Whether `signer` signed `request` on `domain`: ECDSA first (no call to the node), then, when
 * `signer` has code, its ERC-1271 answer at the node's latest block. An answer other than the
 * exact magic word (a revert, running out of gas, the timeout, any other bytes) is a refusal.
 */
export async function verifyRequestSignature(
  provider: Provider,
  domain: TypedDataDomain,
  request: GatewayRequest,
  signer: string,
  signature: string,
  limits: ContractSignatureLimits = DEFAULT_CONTRACT_SIGNATURE_LIMITS,
): Promise<SignatureVerdict> {
  const recovered = recoverRequestSigner(domain, request, signature);
  if (recovered !== undefined && recovered.toLowerCase() === signer.toLowerCase())
    return { ok: true, kind: "eoa" };
  if (!/^0x(?:[0-9a-fA-F]{2})*$/.test(signature) || signature.length > 2 + 2 * 4096)
    return { ok: false, reason: "the signature is not hex bytes (at most 4096)" };
  const digest = TypedDataEncoder.hash(domain, GATEWAY_REQUEST_TYPES, request);
  const data = ERC1271.encodeFunctionData("isValidSignature", [digest, signature]);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), limits.timeoutMs);
  });
  try {
    const answer = await Promise.race([
      (async () => {
        const code = await provider.getCode(signer);
        if (code === "0x") return "no-code" as const;
        return provider.call({ to: signer, data, gasLimit: limits.gas });
      })().catch((e: unknown) => ({ error: (e as Error).message.split("\n")[0] ?? "" })),
      timeout,
    ]);
    if (answer === "timeout")
      return {
        ok: false,
        reason: `the contract's isValidSignature did not answer within ${limits.timeoutMs} ms`,
      };
    if (answer === "no-code") return { ok: false, reason: "no ECDSA signature by the signer" };
    if (typeof answer !== "string")
      return {
        ok: false,
        reason: `the contract's isValidSignature failed (gas cap ${limits.gas}): ${answer.error.slice(0, 160)}`,
      };
    if (answer.length < 66 || answer.slice(0, 66).toLowerCase() !== MAGIC_WORD)
      return { ok: false, reason: "the contract's isValidSignature rejected it" };
    return { ok: true, kind: "erc1271" };
  } finally {
    clearTimeout(timer);
  }
}
