/**
 * The one-line crash reason of a 64-bit domain prints rip (and #PF's address) as Xen
 * does: 16 unsigned hex digits, also in the upper canonical half where the halves are
 * negative as int32.
 */
import assert from "node:assert/strict";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { injectException64 } from "../../../lib/hypervisor/pv64/traps64.ts";
import { kernel64 } from "./_kernel64.ts";

function domain64() {
  const m = new Machine({ image: kernel64(Uint8Array.from([0xeb, 0xfe])), memoryMiB: 16 });
  return { m, v: m.domain.vcpus[0] };
}

Deno.test("64-bit crash reason: an upper-half rip prints unsigned (no minus sign)", () => {
  const { m, v } = domain64();
  v.cpu.eip = 0x7e5b7fa0;
  v.cpu64!.ripHi = 0xfffffffe;
  assert.equal(injectException64(v, 13, 0), false);
  assert.equal(m.domain.crashReason, "unhandled trap 13 (error code 0x0) (rip 0xfffffffe7e5b7fa0)");
});

Deno.test("64-bit crash reason: a #PF prints its upper-half address and a low rip in 16 digits", () => {
  const { m, v } = domain64();
  v.cpu.eip = 0x100004;
  v.cpu64!.ripHi = 0;
  assert.equal(injectException64(v, 14, 2, 0x80001008, 0xffff8000), false);
  assert.equal(
    m.domain.crashReason,
    "unhandled trap 14 (error code 0x2) at address 0xffff800080001008 (rip 0x0000000000100004)",
  );
});

Deno.test("64-bit crash dump: the run's dump names the unsigned rip", async () => {
  // ud2 at the entry: no trap table, so the domain crashes on #UD
  const m = new Machine({ image: kernel64(Uint8Array.from([0x0f, 0x0b])), memoryMiB: 16 });
  const r = await m.run(undefined, 100);
  assert.equal(r.reason, "crash");
  assert.match(r.dump ?? "", /crashed: unhandled trap 6 \(rip 0x0000000000100000\)$/m);
  assert.doesNotMatch(r.dump ?? "", /0x-/);
});
