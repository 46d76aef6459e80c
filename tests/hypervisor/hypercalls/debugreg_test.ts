/**
 * set_debugreg / get_debugreg as Xen 4.17 answers them, called by a real guest: the reset
 * values (DR6 0xffff0ff0, DR7 0x400) from the first instruction, the reserved bits, DR4/DR5
 * aliasing DR6/DR7 while CR4.DE is clear, and failed writes leaving the old value.
 */
import assert from "node:assert/strict";
import * as E from "../../../lib/abi/errno.ts";
import { runScript } from "../_run.ts";
import type { Call } from "../_script_kernel.ts";

const SET = 8, GET = 9;

Deno.test("debug registers: reset values, reserved bits, aliases, refused writes", async () => {
  const cases: [Call, number][] = [
    [{ nr: GET, args: [6], name: "DR6 at boot" }, 0xffff0ff0 | 0],
    [{ nr: GET, args: [7], name: "DR7 at boot" }, 0x400],
    [{ nr: GET, args: [0], name: "DR0 at boot" }, 0],
    [{ nr: SET, args: [6, 0x100f], name: "DR6 B0-B3 and bit 12" }, 0],
    [{ nr: GET, args: [6] }, 0xffff0fff | 0],
    [{ nr: GET, args: [4], name: "DR4 aliases DR6" }, 0xffff0fff | 0],
    [{ nr: SET, args: [5, 0x00d0_0001 | 0x1800], name: "DR5 -> DR7, reserved cleared" }, 0],
    [{ nr: GET, args: [7] }, 0x00d0_0401],
    [{ nr: SET, args: [7, 0x2401], name: "DR7.GD" }, -E.EPERM],
    [{ nr: GET, args: [7], name: "unchanged after GD" }, 0x00d0_0401],
    [{ nr: SET, args: [7, 0x20401], name: "I/O breakpoint without CR4.DE" }, -E.EPERM],
    [{ nr: GET, args: [7], name: "unchanged after I/O" }, 0x00d0_0401],
    [{ nr: SET, args: [7, 0x20400], name: "inactive I/O type is kept" }, 0],
    [{ nr: GET, args: [7] }, 0x20400],
    [{ nr: SET, args: [7, 0] }, 0],
    [{ nr: GET, args: [7], name: "bit 10 reads one" }, 0x400],
    // a 32-bit domain's value is zero-extended, so __addr_ok (below 2^47) passes any
    // address, the 32-bit hypervisor hole included
    [{ nr: SET, args: [0, 0xf5800000 | 0], name: "DR0 in the hypervisor hole" }, 0],
    [{ nr: GET, args: [0] }, 0xf5800000 | 0],
    [{ nr: SET, args: [3, 0xfffffffc | 0], name: "DR3 at the top" }, 0],
    [{ nr: GET, args: [3] }, 0xfffffffc | 0],
  ];
  const { results } = await runScript(cases.map((c) => c[0]), {}, []);
  cases.forEach(([c, want], i) =>
    assert.equal(results[i], want, `${c.name ?? `hypercall ${c.nr}`}: got ${results[i]}`)
  );
});
