/**
 * Random guest code at ring 1 (after PHYSDEVOP_set_iopl(1) or not, with random register
 * contents): whatever faults, traps, privileged or I/O instructions, stores into page
 * tables or hypercalls it produces, pvx never throws and the run ends cleanly.
 * 300 kernels by default, 5,000 under PVX_FUZZ=full.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { EBX, ECX, kernelImage } from "../_image.ts";

const RUNS = Deno.env.get("PVX_FUZZ") === "full" ? 5000 : 300;

function randomKernel(code: Uint8Array, regs: number[], iopl: boolean): Uint8Array {
  return kernelImage((a, hp) => {
    if (iopl) a.movImm(EBX, 6).movLabel(ECX, "iopl1").hypercall(hp, 33);
    for (let r = 0; r < 8; r++) if (r !== 4) a.movImm(r, regs[r]);
    a.bytesOf(code);
    a.db(0xeb, 0xfe); // jmp $ (if the code falls through)
    a.align(4).label("iopl1").dd(1);
  });
}

Deno.test("random ring-1 code never makes pvx throw", async () => {
  const outcomes = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ minLength: 1, maxLength: 64 }),
      fc.array(
        fc.oneof(
          fc.integer({ min: 0, max: 0xffffffff }),
          fc.constantFrom(0, 0xc0000000, 0xc0001000, 0xc0004000, 0xf5800000),
        ),
        { minLength: 8, maxLength: 8 },
      ),
      fc.boolean(),
      async (code, regs, iopl) => {
        const m = new Machine({
          image: randomKernel(code, regs, iopl),
          memoryMiB: 4,
          maxInstructions: 20_000,
          sliceInstructions: 5_000,
        });
        const r = await m.run();
        outcomes.set(r.reason, (outcomes.get(r.reason) ?? 0) + 1);
        assert.ok(
          ["crash", "limit", "poweroff", "hung", "reboot", "suspend", "watchdog", "soft_reset"]
            .includes(r.reason),
        );
      },
    ),
    { numRuns: RUNS, seed: 7 },
  );
  assert.ok((outcomes.get("crash") ?? 0) > 0, JSON.stringify([...outcomes]));
});
