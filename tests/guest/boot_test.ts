/**
 * pvx boots its own guest: the selftest prints PASS (or SKIP for absent devices) for
 * every platform API area and powers off (exit 0); the scripted shell answers; and a
 * deliberately broken hypervisor (set_timer_op dropped) makes the timer selftest FAIL
 * and the run exit 1.
 * @module
 */
import assert, { deepStrictEqual } from "node:assert/strict";
import { run } from "../../tools/boot.ts";
import { MemorySink } from "../../lib/console/testing.ts";
import { HYPERCALL_TABLE } from "../../lib/hypervisor/hypercalls/table.ts";

const IMAGE = new URL("../../guest/pvx-guest.elf", import.meta.url).pathname;

/** The selftest's areas, in order (guest/kernel/selftest.c). */
const AREAS = [
  "descriptor tables",
  "privileged registers",
  "MMU",
  "memory reservation",
  "time and timer",
  "vcpu",
  "schedule",
  "event channels",
  "grant tables",
  "block I/O",
  "network I/O",
  "console I/O",
  "xenstore",
  "feature map",
  "version info",
  "user mode",
];
/** Areas that report SKIP when pvx boot has no such device. */
const DEVICE_AREAS = new Set(["block I/O", "network I/O"]);

async function boot(cmdline: string, input = ""): Promise<{ code: number; text: string }> {
  const sink = new MemorySink(1 << 20, 1 << 18);
  if (input) sink.type(input);
  const log: string[] = [];
  const code = await run({
    image: IMAGE,
    cmdline,
    console: sink,
    noReboot: true,
    maxInstructions: 2_000_000_000,
    log: (l) => log.push(l),
  });
  await sink.close();
  return { code, text: sink.text() + log.join("\n") };
}

/** The selftest's verdict lines: area -> "PASS" | "SKIP: why" | "FAIL: why". */
function verdicts(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^(PASS|FAIL|SKIP) ([^:\n]+)(?:: (.*))?$/gm)) {
    out.set(m[2], m[3] ? `${m[1]}: ${m[3]}` : m[1]);
  }
  return out;
}

Deno.test("pvx boot guest/pvx-guest.elf --cmdline selftest passes every area and exits 0", async () => {
  const { code, text } = await boot("selftest");
  const v = verdicts(text);
  deepStrictEqual([...v.keys()], AREAS, text);
  for (const area of AREAS) {
    const got = v.get(area) ?? "missing";
    if (DEVICE_AREAS.has(area)) assert(got === "PASS" || got.startsWith("SKIP"), `${area}: ${got}`);
    else deepStrictEqual(got, "PASS", `${area}: ${got}`);
  }
  assert(/selftest: \d+ passed, 0 failed/.test(text), text);
  deepStrictEqual(code, 0, text);
});

Deno.test("the guest's shell runs scripted commands from the console and powers off", async () => {
  const { code, text } = await boot("", "uname\nls\ncat motd\nballoon 4\nballoon -4\npoweroff\n");
  assert(text.includes("pvx$ "), text);
  assert(/pvx pvx-guest 1\.0 .*i686/.test(text), text);
  assert(/^hello \d+$/m.test(text), "ls lists the archive");
  assert(text.includes("Welcome to pvx-guest"), "cat motd");
  assert(text.includes("balloon: 4 pages out") && text.includes("balloon: 0 pages out"), text);
  deepStrictEqual(code, 0, text);
});

Deno.test("a hypervisor that drops set_timer_op makes the time selftest FAIL and pvx exit 1", async () => {
  const SET_TIMER_OP = 15;
  const saved = HYPERCALL_TABLE[SET_TIMER_OP];
  HYPERCALL_TABLE[SET_TIMER_OP] = () => 0; // accepted, never fires
  try {
    const { code, text } = await boot("selftest");
    const got = verdicts(text).get("time and timer") ?? "missing";
    assert(got.startsWith("FAIL"), `time and timer: ${got}`);
    deepStrictEqual(code, 1, text);
  } finally {
    HYPERCALL_TABLE[SET_TIMER_OP] = saved;
  }
});
