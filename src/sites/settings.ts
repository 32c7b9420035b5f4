// A site's settings: typed, validated once here, stored as JSON in sites.settings.
// Every reader (routing, HSTS, the API) gets them through parseSettings.
import * as v from "valibot";
import { headerProblem } from "../http/headers.ts";

export type TrailingSlash = "auto" | "always" | "never";

export interface Hsts {
  maxAge: number;
  includeSubdomains: boolean;
}

export interface SiteSettings {
  /** SPA fallback page for paths that match nothing (e.g. "/index.html"), or null. */
  spa: string | null;
  hsts: Hsts | null;
  /** auto: directories get a slash (301), files none; always / never force one form. */
  trailingSlash: TrailingSlash;
  /** The 404 page, instead of the nearest 404.html. */
  notFound: string | null;
  /** Response headers added to every answer of the site (`_headers` rules override them). */
  headers: Record<string, string>;
  /** Serve dotfiles other than .well-known/ (off: they are not published). */
  dotfiles: boolean;
  /** Forms the site accepts at POST /.fazt/forms/NAME (besides data-fazt-form in its HTML), with whom to notify. */
  forms: Record<string, FormSettings>;
}

export interface FormSettings {
  /** Addresses mailed on each submission (through the outbox). */
  notify: string[];
}

export const DEFAULT_SETTINGS: SiteSettings = {
  spa: null,
  hsts: null,
  trailingSlash: "auto",
  notFound: null,
  headers: {},
  dotfiles: false,
  forms: {},
};

const MAX_HSTS_SECONDS = 63_072_000; // two years: the preload list's maximum
const MAX_DEFAULT_HEADERS = 50;

/** A form's name: a short slug (it is a URL segment and a CSV/mail label). */
export const FORM_NAME_RE = /^[a-z0-9][a-z0-9_-]{0,39}$/;
export const MAX_FORMS = 50;
const MAX_NOTIFY = 10;

const NotifyAddress = v.pipe(v.string(), v.maxLength(320), v.email("is not a mail address"));

const FormsInput = v.pipe(
  v.record(
    v.pipe(v.string(), v.regex(FORM_NAME_RE, "a form name is a slug: a-z, 0-9, - and _, at most 40 characters")),
    v.strictObject({
      notify: v.optional(v.pipe(v.array(NotifyAddress), v.maxLength(MAX_NOTIFY)), []),
    }),
  ),
  v.check((f) => Object.keys(f).length <= MAX_FORMS, `at most ${MAX_FORMS} forms`),
);

const SitePath = v.pipe(
  v.string(),
  v.maxLength(1024),
  v.regex(/^\/[^\0\\]*$/, "expected a path starting with /"),
  v.check((p) => !p.split("/").includes(".."), "a path may not contain .."),
);

const HstsInput = v.union([
  v.null(),
  v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_HSTS_SECONDS)),
  v.object({
    max_age: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_HSTS_SECONDS)),
    include_subdomains: v.optional(v.boolean(), false),
  }),
]);

const HeadersInput = v.pipe(
  v.record(v.string(), v.string()),
  v.check((h) => Object.keys(h).length <= MAX_DEFAULT_HEADERS, `at most ${MAX_DEFAULT_HEADERS} headers`),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const [name, value] of Object.entries(dataset.value)) {
      const problem = headerProblem(name, value);
      if (problem) addIssue({ message: problem, path: [{ type: "object", origin: "value", input: dataset.value, key: name, value }] });
    }
  }),
);

/** PATCH body: each field optional; null clears spa, hsts and not_found. */
export const SettingsPatch = v.strictObject({
  spa: v.optional(v.union([v.boolean(), v.null(), SitePath])),
  hsts: v.optional(HstsInput),
  trailing_slash: v.optional(v.picklist(["auto", "always", "never"])),
  not_found: v.optional(v.union([v.null(), SitePath])),
  headers: v.optional(HeadersInput),
  dotfiles: v.optional(v.boolean()),
  forms: v.optional(FormsInput),
});
export type SettingsPatch = v.InferOutput<typeof SettingsPatch>;

/** Apply a validated patch. */
export function patchSettings(current: SiteSettings, patch: SettingsPatch): SiteSettings {
  const next = { ...current };
  if (patch.spa !== undefined) next.spa = patch.spa === true ? "/index.html" : patch.spa === false ? null : patch.spa;
  if (patch.hsts !== undefined) next.hsts = hstsOf(patch.hsts);
  if (patch.trailing_slash !== undefined) next.trailingSlash = patch.trailing_slash;
  if (patch.not_found !== undefined) next.notFound = patch.not_found;
  if (patch.headers !== undefined) next.headers = patch.headers;
  if (patch.dotfiles !== undefined) next.dotfiles = patch.dotfiles;
  if (patch.forms !== undefined) next.forms = patch.forms;
  return next;
}

function hstsOf(input: SettingsPatch["hsts"]): Hsts | null {
  if (input === null || input === undefined) return null;
  const h = typeof input === "number" ? { max_age: input, include_subdomains: false } : input;
  return h.max_age > 0 ? { maxAge: h.max_age, includeSubdomains: h.include_subdomains } : null;
}

/** The stored JSON (snake_case, as the API shows it). */
export function settingsJson(s: SiteSettings) {
  return {
    spa: s.spa,
    hsts: s.hsts ? { max_age: s.hsts.maxAge, include_subdomains: s.hsts.includeSubdomains } : null,
    trailing_slash: s.trailingSlash,
    not_found: s.notFound,
    headers: s.headers,
    dotfiles: s.dotfiles,
    forms: s.forms,
  };
}

/** Settings from stored JSON; whatever fails validation falls back to its default. */
export function parseSettings(json: string): SiteSettings {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return DEFAULT_SETTINGS;
  }
  let settings = DEFAULT_SETTINGS;
  for (const [key, value] of Object.entries(raw ?? {})) {
    const one = v.safeParse(SettingsPatch, { [key]: value });
    if (one.success) settings = patchSettings(settings, one.output);
  }
  return settings;
}
