import { strictEqual } from "node:assert/strict";
import { main } from "../../cli.ts";
import { VERSION } from "../../lib/version.ts";

Deno.test("pvx --version prints the version and exits 0", async () => {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli.ts", "--version"],
    stdout: "piped",
    stderr: "piped",
  });
  const out = await cmd.output();
  strictEqual(out.code, 0);
  strictEqual(new TextDecoder().decode(out.stdout).trim(), VERSION);
});

Deno.test("pvx with an unknown subcommand exits 2", async () => {
  const orig = console.error;
  console.error = () => {};
  try {
    strictEqual(await main(["no-such-command"]), 2);
  } finally {
    console.error = orig;
  }
});
