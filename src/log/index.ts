// One line per event, logfmt-ish JSON on stderr. Level from FAZT_LOG_LEVEL.
// Warnings and errors are also kept in a small in-memory ring (recent.ts), whatever the level.
import { RecentLog } from "./recent.ts";

/** The last warnings and errors of this process. */
export const recentProblems = new RecentLog();

type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function threshold(): number {
  const l = (process.env.FAZT_LOG_LEVEL ?? "info").toLowerCase() as Level;
  return ORDER[l] ?? ORDER.info;
}

const min = threshold();

function emit(level: Level, msg: string, fields?: Record<string, unknown>): void {
  if (level === "warn" || level === "error") recentProblems.add(level, msg, fields);
  if (ORDER[level] < min) return;
  const line: Record<string, unknown> = { t: new Date().toISOString(), level, msg, ...fields };
  for (const [k, v] of Object.entries(line)) if (v instanceof Error) line[k] = v.message;
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

export const log = {
  debug: (msg: string, f?: Record<string, unknown>) => emit("debug", msg, f),
  info: (msg: string, f?: Record<string, unknown>) => emit("info", msg, f),
  warn: (msg: string, f?: Record<string, unknown>) => emit("warn", msg, f),
  error: (msg: string, f?: Record<string, unknown>) => emit("error", msg, f),
};
