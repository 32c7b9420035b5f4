import { main } from "./cli/index.ts";

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
