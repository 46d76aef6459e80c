/**
 * Issue #18: "a kernel panic exits 1 with pvx's dump". Debian's Linux booted with an rdinit
 * that does not exist and no root= has nothing to run: it panics ("VFS: Unable to mount root
 * fs"); Linux's Xen panic notifier makes the panic restart at once with SHUTDOWN_crash
 * (panic_timeout 0 becomes -1 on Xen), so the domain ends as crashed, which `pvx boot` turns
 * into exit 1 after printing its register dump. Cost: about 2 G instructions (the whole
 * kernel boot), so it runs with PVX_LINUX=full only.
 * @module
 */
import assert from "node:assert/strict";
import { exists } from "../_tools.ts";
import { LINUX_DIR, runSession, type Session } from "./_session.ts";
import { exitCodeForOutcome } from "../../lib/toolstack/exit_code.ts";

const HAVE = ["vmlinuz", "initrd.img", "root.img"].every((f) => exists(LINUX_DIR + f));
const FULL = Deno.env.get("PVX_LINUX") === "full" || Deno.env.get("PVX_FUZZ") === "full";
const why = !HAVE
  ? "Linux fixture missing: deno task linux"
  : !FULL
  ? "a boot to the root mount is ~2 G instructions: PVX_LINUX=full"
  : undefined;

Deno.test({
  name: "linux: a kernel panic crashes the domain (SHUTDOWN_crash): exit 1 with pvx's dump" +
    (why ? ` (ignored: ${why})` : ""),
  ignore: why !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "pvx-linux-panic-" });
    let s: Session;
    try {
      s = await runSession({
        bootBudget: 10e9,
        commandBudget: 0,
        dir,
        stages: [],
        cmdline: "console=hvc0 rdinit=/nonexistent",
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    assert.match(s.console, /Kernel panic - not syncing: VFS: Unable to mount root fs/);
    assert.equal(s.end.reason, "crash", s.stoppedAt ?? "");
    assert.equal(exitCodeForOutcome(s.end.reason), 1);
    assert.match(s.end.dump ?? "", /RIP/);
  },
});
