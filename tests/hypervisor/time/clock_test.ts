import assert from "node:assert/strict";
import fc from "fast-check";
import { GuestClock, guestSystemTime } from "../../../lib/hypervisor/time/clock.ts";

Deno.test("GuestClock: a guest computing system time from vcpu_time_info gets the clock's time", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 ** 40 }),
      fc.integer({ min: 0, max: 2 ** 40 }),
      fc.integer({ min: 0, max: 2 ** 30 }),
      (atUpdate, later, skip) => {
        const c = new GuestClock({ instructionsPerSecond: 1e9 });
        let retired = atUpdate;
        c.retired = () => retired;
        const dv = new DataView(new ArrayBuffer(4096));
        c.writeVcpuTime(dv, 0);
        assert.equal(dv.getUint32(32, true) % 2, 0, "version even after the update");
        retired = atUpdate + later;
        c.fastForward(skip);
        assert.equal(guestSystemTime(dv, 0, c.tsc()), c.nowNs() - skip + skip);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("GuestClock is deterministic: time follows retired instructions and fast-forward", () => {
  const c = new GuestClock({ instructionsPerSecond: 1e9 }); // 1 ns per instruction
  let n = 1000;
  c.retired = () => n;
  assert.equal(c.nowNs(), 1000);
  c.fastForward(5e6);
  n = 2000;
  assert.equal(c.nowNs(), 5_002_000);
  const dv = new DataView(new ArrayBuffer(4096));
  c.writeWallclock(dv);
  assert.equal(dv.getUint32(2308, true), 1_767_225_600);
  assert.equal(dv.getUint32(2304, true) % 2, 0);
});

Deno.test("GuestClock in realtime mode follows the host clock and wallclock", async () => {
  const c = new GuestClock({ realtime: true });
  const dv = new DataView(new ArrayBuffer(4096));
  c.writeWallclock(dv);
  assert.ok(Math.abs(dv.getUint32(2308, true) - Date.now() / 1000) < 5);
  const t0 = c.nowNs();
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(c.nowNs() - t0 >= 15e6, "at least 15 ms of host time passed");
});
