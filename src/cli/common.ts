import type { FlagSpec } from "./command.ts";
import { Store } from "../db/index.ts";

export const dbFlag: Record<string, FlagSpec> = {
  db: { type: "string", description: "the database file", default: "./fazt.db" },
};

/** A local command's database: Fazt's own (or new) only; loose file modes are fixed with a warning. */
export function openLocalStore(path: string): Store {
  return Store.open(path, { warn: (message) => process.stderr.write(`fazt: warning: ${message}\n`) });
}
