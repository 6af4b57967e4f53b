/**
 * The options that give a trace of every asset other chains and bridges (`trace`, `serve`):
 * `--chain CHAINID=URL` (repeatable) and `--bridges FILE` (docs/taint-models.md, "Following taint
 * across chains").
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import {
  BRIDGE_NAMES,
  type BridgeContract,
  type BridgeReaderOptions,
} from "../analytics/bridges/index.js";
import { UsageError } from "../shared/errors.js";
import { checkHttpUrl, type Values } from "./command.js";

/** The chains of `--chain CHAINID=URL` (repeatable), each URL checked; a bad one refused. */
export function chainOptions(values: Values): { chainId: number; url: string }[] {
  const given = (values["chain"] as string[] | undefined) ?? [];
  return given.map((text) => {
    const m = /^(\d+)=(.+)$/.exec(text);
    if (m === null)
      throw new UsageError(`--chain must be CHAINID=URL, got ${JSON.stringify(text)}`);
    return { chainId: Number(m[1]), url: checkHttpUrl("chain", m[2] as string) };
  });
}

/** What a --bridges file may say. */
const BridgesFile = z
  .object({
    contracts: z
      .array(
        z
          .object({
            bridge: z.enum(BRIDGE_NAMES),
            role: z.string(),
            chainId: z.number().int().positive(),
            address: z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an address"),
            peerChainId: z.number().int().positive().optional(),
          })
          .strict(),
      )
      .default([]),
    tables: z.record(z.string(), z.record(z.string(), z.number().int())).optional(),
    tokens: z
      .array(
        z.array(
          z
            .object({
              chainId: z.number().int().positive(),
              token: z.string().regex(/^(native|0x[0-9a-fA-F]{40})$/, "an address or native"),
            })
            .strict(),
        ),
      )
      .optional(),
  })
  .strict();

/** A --bridges file, read and checked; a bad one is refused in one line naming the field. */
export function readBridgesFile(file: string) {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new UsageError(
      `--bridges ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`,
    );
  }
  const parsed = BridgesFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(
      `--bridges ${file}: ${issue?.path.join(".") || "the file"}: ${issue?.message ?? "invalid"}`,
    );
  }
  const { contracts, tables, tokens } = parsed.data;
  return {
    contracts: contracts.map((c) => ({
      ...c,
      address: c.address.toLowerCase(),
    })) as BridgeContract[],
    tables: tables as BridgeReaderOptions["tables"],
    tokens: tokens?.map((g) =>
      g.map((t) => ({ chainId: t.chainId, token: t.token.toLowerCase() })),
    ),
  };
}
