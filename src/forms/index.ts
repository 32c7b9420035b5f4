// Forms for static sites: POST /.fazt/forms/NAME on any site host stores a
// submission (fields, files as held blobs) and may mail a notification through
// the outbox. Owns the form_* tables (migration 0015).
import type { Store } from "../db/index.ts";
import type { ServerConfig } from "../core/config.ts";
import type { Registry } from "../metrics/registry.ts";

export { FormReceiver, FORMS_PREFIX } from "./receiver.ts";
export { formSender, noSenderMessage } from "./notify.ts";
export { FieldColumns, csvHeader, submissionRow } from "./csv.ts";
export {
  SUBMISSION_ID_RE,
  allSubmissions,
  deleteSubmission,
  deleteSiteSubmissions,
  siteSubmissionBytes,
  formCounts,
  listSubmissions,
  submissionFile,
  type SubmissionView,
} from "./submissions.ts";

/** What forms use of the running server (server/App provides it). */
export interface FormsDeps {
  readonly store: Store;
  readonly config: Readonly<ServerConfig>;
  readonly metrics: Registry;
  /** A notification was queued: the mail sender looks for work at once. */
  mailChanged(): void;
}
