#!/usr/bin/env node
// The `tessera` command (package.json "bin"): `node dist/mesh/cli/main.js`.
import { runCli } from "./run-cli.js";

const code = await runCli(process.argv.slice(2), {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  isTTY: process.stderr.isTTY === true,
});
// Exit once the output is flushed, rather than when the last timer fires:
// a stopped server may leave a call's deadline timer pending for seconds.
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
