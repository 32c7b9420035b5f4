import type { FlagSpec } from "./command.ts";

export const dbFlag: Record<string, FlagSpec> = {
  db: { type: "string", description: "the database file", default: "./fazt.db" },
};
