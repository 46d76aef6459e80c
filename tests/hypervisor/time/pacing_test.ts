/**
 * Virtual-time pacing: the instruction rate, and idle time held to the host clock while
 * input can come from outside (an idle guest then sleeps on the host), fast-forwarded
 * otherwise. Bounds are one-sided and wide (no timing asserts): paced virtual time never
 * runs ahead of the host clock by more than the guest's own computing; unpaced idle time
 * runs far ahead of it.
 */
import assert from "node:assert/strict";
import { DEFAULT_INSTRUCTIONS_PER_SECOND, GuestClock } from "../../../lib/hypervisor/time/clock.ts";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { attachDevices } from "../../../lib/toolstack/devices.ts";
import { MemorySink } from "../../../lib/console/testing.ts";

const GUEST = await Deno.readFile(new URL("../../../guest/pvx-guest.elf", import.meta.url));

Deno.test("GuestClock: each instruction is worth 1e9 / instructionsPerSecond ns", () => {
  const c = new GuestClock();
  let n = 0;
  c.retired = () => n;
  n = DEFAULT_INSTRUCTIONS_PER_SECOND;
  assert.equal(c.nowNs(), 1e9);
  const d = new GuestClock({ instructionsPerSecond: 1e9 });
  d.retired = () => n;
  assert.equal(d.nowNs(), DEFAULT_INSTRUCTIONS_PER_SECOND);
  // instructionsFor: running that many instructions moves time at least that far
  for (const ns of [1, 39, 40, 41, 1e6, 123457]) {
    const before = c.nowNs();
    n += c.instructionsFor(ns);
    assert.ok(c.nowNs() - before >= ns, `${ns} ns`);
  }
});

Deno.test("Machine rejects an implausible --instructions-per-second", () => {
  for (const ips of [0, 5, 1.5e3 + 0.5, 1e13]) {
    assert.throws(
      () => new Machine({ image: GUEST, instructionsPerSecond: ips }),
      /instructions-per-second/,
    );
  }
});

/** Runs pvx's shell (idle at its prompt) for `ms` of host time. */
async function idleShell(paced: boolean, ms: number): Promise<{ virt: number; host: number }> {
  const m = new Machine({ image: GUEST, memoryMiB: 16, paced: () => paced });
  const sink = new MemorySink();
  const dev = await attachDevices(m, { sink });
  const t0 = performance.now();
  const running = m.run();
  await new Promise((r) => setTimeout(r, ms));
  m.stop();
  await running;
  const host = (performance.now() - t0) * 1e6;
  await dev.detach();
  assert.ok(sink.text().includes("pvx$"), sink.text());
  return { virt: m.host.clock.nowNs(), host };
}

Deno.test("an idle guest's time follows the host clock when paced, and fast-forwards when not", async () => {
  const paced = await idleShell(true, 1500);
  // booting to the prompt computes ~1.3 M instructions (~50 ms of guest time); the rest is
  // idle, which pacing never moves past the host clock
  assert.ok(
    paced.virt <= paced.host + 0.5e9,
    `paced: ${paced.virt} ns of guest time in ${paced.host} ns`,
  );
  const free = await idleShell(false, 1500);
  assert.ok(
    free.virt > 10 * free.host,
    `unpaced: ${free.virt} ns of guest time in ${free.host} ns`,
  );
});
