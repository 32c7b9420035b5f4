// fazt stats SITE: the analytics report of GET /api/sites/:site/analytics, as text.
import type { CommandBody } from "./command.ts";
import { formatSize } from "../core/bytes.ts";
import { str } from "./command.ts";
import { Client, clientFlags } from "./client.ts";
import type { AnalyticsReport } from "../analytics/query.ts";

export const statsCommand: CommandBody = {
  usage: "SITE [--from YYYY-MM-DD] [--to YYYY-MM-DD]",
  minArgs: 1,
  maxArgs: 1,
  flags: {
    ...clientFlags,
    from: { type: "string", description: "first day, UTC (default 6 days before --to)", noEnv: true },
    to: { type: "string", description: "last day, UTC (default today)", noEnv: true },
    json: { type: "boolean", description: "print the API's JSON", noEnv: true },
  },
  async run(args) {
    const q = new URLSearchParams();
    for (const k of ["from", "to"]) if (str(args, k)) q.set(k, str(args, k)!);
    const site = encodeURIComponent(args.positionals[0]!);
    const report = await Client.from(args).request<AnalyticsReport>("GET", `/api/sites/${site}/analytics${q.size ? `?${q}` : ""}`);
    process.stdout.write(args.flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  },
};

function formatReport(r: AnalyticsReport): string {
  const t = r.totals;
  const out = [
    `${r.site}: ${r.from} to ${r.to} (UTC)`,
    "",
    `views ${t.views}   visitors ${t.visitors}   bots ${t.bots}   requests ${t.requests}`,
    `bytes ${formatSize(t.bytes)}   humans ${formatSize(t.human_bytes)}   bots ${formatSize(t.bot_bytes)}`,
    `status 2xx ${r.status["2xx"]}   3xx ${r.status["3xx"]}   4xx ${r.status["4xx"]}   5xx ${r.status["5xx"]}`,
    "",
    "date        views  visitors  bots  bytes (humans)  bytes (bots)",
    ...r.series.map((d) => {
      const bytes = `${formatSize(d.human_bytes).padStart(14)}  ${formatSize(d.bot_bytes).padStart(12)}`;
      return `${d.date}  ${pad(d.views, 5)}  ${pad(d.visitors, 8)}  ${pad(d.bots, 4)}  ${bytes}`;
    }),
  ];
  const section = (title: string, rows: { name: string | number; n: number }[]) => {
    out.push("", title);
    if (rows.length === 0) out.push("  (none)");
    for (const row of rows) out.push(`  ${pad(row.n, 7)}  ${row.name}`);
  };
  section(
    "top paths",
    r.paths.map((p) => ({ name: p.path, n: p.views })),
  );
  section(
    "top referrers",
    r.referrers.map((p) => ({ name: p.referrer, n: p.views })),
  );
  section(
    "browsers",
    r.browsers.map((p) => ({ name: p.name, n: p.views })),
  );
  section(
    "operating systems",
    r.os.map((p) => ({ name: p.name, n: p.views })),
  );
  section(
    "devices",
    r.devices.map((p) => ({ name: p.name, n: p.views })),
  );
  section(
    "status codes",
    r.status_codes.map((p) => ({ name: p.code, n: p.count })),
  );
  section(
    "requests by path class",
    r.classes.map((p) => ({ name: `${p.class} (${formatSize(p.bytes)})`, n: p.requests })),
  );
  return `${out.join("\n")}\n`;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w);
}
