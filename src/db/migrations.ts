// Migrations are embedded in the binary as text. Add a new numbered file in
// migrations/ and list it here; test/db.test.ts checks the two agree.
import m0001 from "../../migrations/0001_init.sql" with { type: "text" };
import m0002 from "../../migrations/0002_uploads.sql" with { type: "text" };
import m0004 from "../../migrations/0004_certificate_status.sql" with { type: "text" };
import m0005 from "../../migrations/0005_analytics.sql" with { type: "text" };
import m0006 from "../../migrations/0006_analytics_hits.sql" with { type: "text" };
import m0008 from "../../migrations/0008_analytics_budget.sql" with { type: "text" };
import m0009 from "../../migrations/0009_deploy_activations.sql" with { type: "text" };
import m0011 from "../../migrations/0011_immutable_files.sql" with { type: "text" };
import m0012 from "../../migrations/0012_mail.sql" with { type: "text" };
import m0013 from "../../migrations/0013_sessions.sql" with { type: "text" };
import m0015 from "../../migrations/0015_forms.sql" with { type: "text" };
import m0017 from "../../migrations/0017_mail_payloads.sql" with { type: "text" };
import m0018 from "../../migrations/0018_deploy_state.sql" with { type: "text" };
import m0019 from "../../migrations/0019_form_bytes.sql" with { type: "text" };

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  { version: 1, name: "0001_init.sql", sql: m0001 },
  { version: 2, name: "0002_uploads.sql", sql: m0002 },
  { version: 4, name: "0004_certificate_status.sql", sql: m0004 },
  { version: 5, name: "0005_analytics.sql", sql: m0005 },
  { version: 6, name: "0006_analytics_hits.sql", sql: m0006 },
  { version: 8, name: "0008_analytics_budget.sql", sql: m0008 },
  { version: 9, name: "0009_deploy_activations.sql", sql: m0009 },
  { version: 11, name: "0011_immutable_files.sql", sql: m0011 },
  { version: 12, name: "0012_mail.sql", sql: m0012 },
  { version: 13, name: "0013_sessions.sql", sql: m0013 },
  { version: 15, name: "0015_forms.sql", sql: m0015 },
  { version: 17, name: "0017_mail_payloads.sql", sql: m0017 },
  { version: 18, name: "0018_deploy_state.sql", sql: m0018 },
  { version: 19, name: "0019_form_bytes.sql", sql: m0019 },
];
