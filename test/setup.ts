// Loaded before every test file (bunfig.toml): tests that start servers and
// processes get room on a loaded 2-core machine (Bun's default is 5 s).
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(60_000);
