// Debian's Chromium, driven by playwright-core (.ci/run installs it with apt).
import { type Browser, chromium } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  // Chromium puts sandboxed iframes (the mail's HTML frame) in their own process, which the
  // driver now and then never attaches to; in-process the frame is still sandboxed and under its CSP.
  "--disable-features=IsolateSandboxedIframes",
];

/** A headless Chromium; the caller closes it. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}
