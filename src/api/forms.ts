// A site's forms and their submissions: the forms with counts, a page of
// submissions (or all of them as CSV), one uploaded file, deleting one.
import { nextTurn } from "../core/breather.ts";
import type { ApiDeps } from "./deps.ts";
import { badRequest, notFound } from "../http/errors.ts";
import { FORM_NAME_RE } from "../sites/settings.ts";
import type { Site } from "../sites/index.ts";
import { deployFormNames } from "../vfs/form-names.ts";
import {
  SUBMISSION_ID_RE,
  allSubmissions,
  csvHeader,
  deleteSubmission,
  FieldColumns,
  formCounts,
  siteSubmissionBytes,
  formSender,
  listSubmissions,
  submissionFile,
  submissionRow,
  type SubmissionView,
} from "../forms/index.ts";
import { siteRoutes } from "./route.ts";

const MAX_PAGE = 200;

function page(query: Record<string, string | undefined>): { limit: number; before?: string } {
  const limit = query.limit === undefined ? 50 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw badRequest(`limit: expected 1..${MAX_PAGE}`);
  const before = query.before;
  if (before !== undefined && !SUBMISSION_ID_RE.test(before)) throw badRequest("before: not a submission id");
  return { limit, before };
}

function formName(params: Record<string, string>): string {
  const name = params.name!;
  if (!FORM_NAME_RE.test(name)) throw notFound("form_not_found", `no form ${JSON.stringify(name.slice(0, 40))}`);
  return name;
}

function submissionId(params: Record<string, string>): string {
  const id = params.id!;
  if (!SUBMISSION_ID_RE.test(id)) throw notFound("submission_not_found", "not a submission id");
  return id;
}

/** Every form the site has: declared in settings, in the live deploy's HTML, or with submissions kept from before. */
function siteForms(app: ApiDeps, site: Site) {
  const html = new Set(site.liveDeployId ? deployFormNames(app.store.read, site.liveDeployId) : []);
  const counts = new Map(formCounts(app.store, site.id).map((c) => [c.form, c]));
  const names = [...new Set([...Object.keys(site.settings.forms), ...html, ...counts.keys()])].sort();
  return names.map((name) => {
    const c = counts.get(name);
    const declared = [...(name in site.settings.forms ? ["settings"] : []), ...(html.has(name) ? ["html"] : [])];
    return {
      name,
      declared,
      accepting: declared.length > 0,
      notify: site.settings.forms[name]?.notify ?? [],
      submissions: c?.submissions ?? 0,
      last_at: c?.lastAt ? new Date(c.lastAt).toISOString() : null,
    };
  });
}

function csvExport(app: ApiDeps, site: Site, form: string): Response {
  const store = app.store;
  const encoder = new TextEncoder();
  let columns: string[] | null = null;
  let pages: Generator<SubmissionView[]> | null = null;
  // Two passes a page at a time (the field names become the columns, then the rows), yielding between pages.
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!columns) {
        const names = new FieldColumns();
        for (const p of allSubmissions(store, site.id, form)) {
          names.add(p);
          await nextTurn();
        }
        columns = names.list;
        pages = allSubmissions(store, site.id, form);
        return controller.enqueue(encoder.encode(csvHeader(columns)));
      }
      const next = pages!.next();
      if (next.done) return controller.close();
      controller.enqueue(encoder.encode(next.value.map((s) => submissionRow(s, columns!)).join("")));
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/csv; charset=utf-8; header=present",
      "content-disposition": `attachment; filename="${site.name}-${form}.csv"`,
      "cache-control": "no-store",
    },
  });
}

export function formsApi(app: ApiDeps) {
  const store = app.store;
  return [
    siteRoutes()
      .get("/api/sites/:site/forms", ({ site }) => ({
        site: site.name,
        sender: formSender(site, app.config.domain),
        // What the site's submissions hold, and the most they may (past it: 507 form_storage_full).
        stored_bytes: siteSubmissionBytes(store, site.id),
        max_bytes: app.config.forms.siteMaxBytes,
        forms: siteForms(app, site),
      }))
      .get("/api/sites/:site/forms/:name/submissions", ({ site, params, query }) => {
        const form = formName(params);
        if (query.format === "csv") return csvExport(app, site, form);
        if (query.format !== undefined && query.format !== "json") throw badRequest("format: expected json or csv");
        return { site: site.name, form, ...listSubmissions(store, site.id, form, page(query)) };
      })
      .get("/api/sites/:site/forms/:name/submissions/:id/files/:n", ({ site, params }) => {
        const n = Number(params.n);
        if (!Number.isInteger(n) || n < 0) throw badRequest("file index: expected 0, 1, ...");
        const f = submissionFile(store, site.id, formName(params), submissionId(params), n);
        // Always a download, never rendered on the admin host (an uploaded HTML file would run there).
        return new Response(f.bytes, {
          headers: {
            "content-type": "application/octet-stream",
            "content-disposition": `attachment; filename*=UTF-8''${encodeURIComponent(f.filename)}`,
            "x-content-type-options": "nosniff",
          },
        });
      })
      .delete("/api/sites/:site/forms/:name/submissions/:id", ({ site, params }) => {
        const id = submissionId(params);
        deleteSubmission(store, site.id, formName(params), id);
        app.gc.schedule(); // the files' blobs, unless something else holds them
        return { deleted: id };
      }),
  ];
}
