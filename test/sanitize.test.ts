// The HTML sanitiser's worker thread: it cleans received HTML off the event
// loop, and a worker that cannot start never leaves a message waiting.
import { expect, test } from "bun:test";
import { Sanitizer } from "../src/mail/sanitize.ts";

test("the worker strips scripts and remote images, keeps text and inline images", async () => {
  const s = new Sanitizer();
  try {
    const dirty = '<p onclick="x()">Hi <b>you</b></p><script>alert(1)</script>';
    const html = await s.sanitize(`${dirty}<img src="http://t.example/p.gif"><img src="data:image/gif;base64,R0lG">`);
    expect(html).toContain("<p>Hi <b>you</b></p>");
    expect(html).not.toContain("script");
    expect(html).not.toContain("onclick");
    expect(html).not.toContain("t.example");
    expect(html).toContain('src="data:image/gif;base64,R0lG"');
  } finally {
    s.stop();
  }
});

test("a worker that fails to start answers null (text only) for every waiting message, and the next message tries again", async () => {
  const s = new Sanitizer("/nonexistent/sanitize-worker.ts");
  try {
    const answers = await Promise.all([s.sanitize("<p>one</p>"), s.sanitize("<p>two</p>")]);
    expect(answers).toEqual([null, null]);
    expect(await s.sanitize("<p>three</p>")).toBeNull();
  } finally {
    s.stop();
  }
});
