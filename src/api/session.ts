// Sign-in, who-am-I and sign-out of the web UI. Sign-in is public: it is
// rate-limited per client address and per user name (bounded memory), runs at
// most a few password checks at once (argon2id costs memory), and answers a
// wrong name exactly like a wrong password.
import * as v from "valibot";
import type { ApiDeps } from "./deps.ts";
import { createSession, endSession, SESSION_COOKIE, sessionCookie, verifySession, type Session } from "../auth/sessions.ts";
import { MAX_PASSWORD_LENGTH, verifyUser } from "../auth/users.ts";
import { FailureLimiter } from "../auth/ratelimit.ts";
import { attachedClient } from "../http/client.ts";
import { HttpError, badRequest } from "../http/errors.ts";
import { assertSameOrigin } from "./auth.ts";
import { memberRoutes, publicRoutes } from "./route.ts";

const SignIn = v.object({
  username: v.pipe(v.string(), v.minLength(1, "username is required"), v.maxLength(64)),
  password: v.pipe(v.string(), v.minLength(1, "password is required"), v.maxLength(MAX_PASSWORD_LENGTH)),
});
const SIGN_IN_BODY_LIMIT = 4096;
/** Password checks running at once; each argon2id check holds its memory cost (64 MiB by default). */
const MAX_CHECKS_IN_FLIGHT = 4;

const signInFailuresByClient = new FailureLimiter(10, 5 * 60_000);
const signInFailuresByUser = new FailureLimiter(10, 15 * 60_000);

function tooMany(wait: number): HttpError {
  const s = Math.ceil(wait / 1000);
  return new HttpError(429, "too_many_attempts", `too many failed sign-ins; retry in ${s} s`, { "retry-after": String(s) });
}

function cookieHeader(req: Request, value: string, maxAgeS: number): string {
  const secure = new URL(req.url).protocol === "https:" ? "; Secure" : "";
  return `${SESSION_COOKIE}=${value}; Max-Age=${maxAgeS}; Path=/; HttpOnly; SameSite=Strict${secure}`;
}

const view = (s: Session) => ({ via: "session", user: s.user, csrf_token: s.csrfToken, expires_at: new Date(s.expiresAt).toISOString() });

export function sessionApi(app: ApiDeps) {
  const store = app.store;
  let checking = 0;

  const signIn = publicRoutes().post(
    "/api/session",
    async ({ request, json, set }) => {
      assertSameOrigin(request);
      const { username, password } = await json(SignIn);
      const client = attachedClient(request);
      const user = username.toLowerCase();
      const wait = Math.max(signInFailuresByClient.blockedFor(client), signInFailuresByUser.blockedFor(user));
      if (wait > 0) throw tooMany(wait);
      if (checking >= MAX_CHECKS_IN_FLIGHT)
        throw new HttpError(503, "busy", "too many sign-ins at once; retry in a second", { "retry-after": "1" });
      checking++;
      let ok: boolean;
      try {
        ok = await verifyUser(store, username, password);
      } finally {
        checking--;
      }
      if (!ok) {
        signInFailuresByClient.fail(client);
        signInFailuresByUser.fail(user);
        throw new HttpError(401, "invalid_credentials", "wrong user name or password");
      }
      const { cookie, session } = createSession(store, username);
      set.headers["set-cookie"] = cookieHeader(request, cookie, Math.floor((session.expiresAt - Date.now()) / 1000));
      set.headers["cache-control"] = "no-store";
      set.status = 201;
      return view(session);
    },
    { bodyLimit: SIGN_IN_BODY_LIMIT },
  );

  // Public so the UI can ask without a 401: a browser reports every 401 as an error.
  const whoAmI = publicRoutes().get("/api/session", ({ request, set }) => {
    set.headers["cache-control"] = "no-store";
    const cookie = sessionCookie(request);
    const session = cookie === null ? null : verifySession(store, cookie);
    return session ? view(session) : { via: null, user: null };
  });

  const signOut = memberRoutes().delete("/api/session", ({ request, principal, set }) => {
    if (principal.via !== "session") throw badRequest("only a session can sign out; revoke a token instead", "not_a_session");
    endSession(store, principal.id);
    set.headers["cache-control"] = "no-store";
    set.headers["set-cookie"] = cookieHeader(request, "", 0);
    return { signed_out: principal.user };
  });

  return [signIn, whoAmI, signOut];
}
