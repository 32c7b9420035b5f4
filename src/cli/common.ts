import type { FlagSpec } from "./command.ts";
import { Store } from "../db/index.ts";

export const dbFlag: Record<string, FlagSpec> = {
  db: { type: "string", description: "the database file", default: "./fazt.db" },
};

/** Open the database for a local command; the Store's errors are runtime failures (exit 1). */
export function openStore(path: string): Store {
  return Store.open(path);
}
