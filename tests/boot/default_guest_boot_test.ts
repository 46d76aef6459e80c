import { ok, strictEqual } from "node:assert/strict";

Deno.test("pvx boot with no image boots pvx's own guest: its selftest passes without a terminal", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli.ts", "boot"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  strictEqual(out.code, 0, text + new TextDecoder().decode(out.stderr));
  ok(/cmdline "selftest"/.test(text), text);
  const pass = text.split("\n").filter((l) => l.startsWith("PASS "));
  ok(pass.length >= 14, text);
  ok(!/^FAIL /m.test(text), text);
  ok(/selftest: \d+ passed, 0 failed/.test(text), text);
});
