/**
 * The 64-bit VCPUOP_initialise loader: contexts written by gcc -m64 from Xen's own
 * struct vcpu_guest_context (so the offsets are the compiler's, not the layout table's)
 * are decoded, checked as arch_set_info_guest does, and applied to a 64-bit guest.
 */
import assert from "node:assert/strict";
import { EINVAL, VGCF_in_kernel } from "../../../lib/abi/mod.ts";
import { makeTestGuest64, PFN64_L4 } from "../../../lib/paging/testing64.ts";
import { asGfn } from "../../../lib/abi/mod.ts";
import {
  applyVcpuContext64,
  decodeVcpuContext64,
  VCPU_GUEST_CONTEXT64_SIZE,
  type VcpuContext64,
} from "../../../lib/hypervisor/pv64/vcpu_context64.ts";
import {
  CB_EVENT,
  CB_SYSCALL,
  Pv64Vcpu,
  Regs64,
  SB_GS_USER,
  U_R15,
  U_RAX,
  U_RFLAGS,
  U_RIP,
  U_RSP,
} from "../../../lib/hypervisor/pv64/vcpu64.ts";

function haveTool(): boolean {
  try {
    Deno.statSync("/usr/include/xen/xen.h");
    return new Deno.Command("gcc", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}
const have = haveTool();

/**
 * Compiles one program whose case k runs bodies[k]'s C statements on a zeroed
 * `struct vcpu_guest_context c`, and returns each case's bytes.
 */
function gccContexts(bodies: string[]): Uint8Array[] {
  const src = [
    "#include <stdio.h>",
    "#include <stdlib.h>",
    "#include <string.h>",
    "#include <stdint.h>",
    "#include <xen/xen.h>",
    "int main(int argc, char **argv) { static struct vcpu_guest_context c;",
    "memset(&c, 0, sizeof c); switch (atoi(argv[1])) {",
    ...bodies.map((b, k) => `case ${k}: { ${b} } break;`),
    "} fwrite(&c, sizeof c, 1, stdout); return 0; }",
  ].join("\n");
  const dir = Deno.makeTempDirSync({ prefix: "pvx-ctx64-" });
  try {
    Deno.writeTextFileSync(`${dir}/c.c`, src);
    const cc = new Deno.Command("gcc", {
      args: ["-m64", "-D__XEN_INTERFACE_VERSION__=0x00040e00", "-o", `${dir}/c`, `${dir}/c.c`],
    }).outputSync();
    assert.ok(cc.success, new TextDecoder().decode(cc.stderr));
    return bodies.map((_, k) =>
      new Deno.Command(`${dir}/c`, { args: [String(k)] }).outputSync().stdout
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** One context. */
function gccContext(body: string): Uint8Array {
  return gccContexts([body])[0];
}

const GOOD = (l4Pfn: number) => `
  c.flags = ${VGCF_in_kernel} | (1 << 4);
  c.user_regs.rip = 0xffffffff81000000UL; c.user_regs.rsp = 0xffffffff81802000UL;
  c.user_regs.rax = 0x1122334455667788UL; c.user_regs.r15 = 0xfedcba9876543210UL;
  c.user_regs.rflags = 0x3246; c.user_regs.cs = 0xe030; c.user_regs.ss = 0xe02b;
  c.kernel_ss = 0xe028; c.kernel_sp = 0xffffffff81803000UL;
  c.ctrlreg[3] = ${l4Pfn}UL << 12;
  c.event_callback_eip = 0xffffffff81001000UL; c.syscall_callback_eip = 0xffffffff81002000UL;
  c.gs_base_user = 0x00007f0000001000UL; c.fs_base = 0x1000;
  c.trap_ctxt[14].vector = 14; c.trap_ctxt[14].flags = 3; c.trap_ctxt[14].cs = 0xe030;
  c.trap_ctxt[14].address = 0xffffffff81003000UL;
  c.ldt_base = 0xffffc90000000000UL; c.ldt_ents = 16;
  c.vm_assist = (1UL << 32) | (1 << 2);
`;
const ignored = have ? "" : " (ignored: gcc or libxen-dev headers missing)";

Deno.test({
  name: "vcpu_context64: gcc's vcpu_guest_context decodes field by field" + ignored,
  ignore: !have,
  fn() {
    const b = gccContext(GOOD(0));
    assert.equal(b.length, VCPU_GUEST_CONTEXT64_SIZE);
    const c = decodeVcpuContext64(b, 0) as VcpuContext64;
    assert.equal(typeof c, "object");
    assert.deepEqual([c.regs.lo(U_RIP), c.regs.hi(U_RIP)], [0x81000000, 0xffffffff]);
    assert.deepEqual([c.regs.lo(U_RSP), c.regs.hi(U_RSP)], [0x81802000, 0xffffffff]);
    assert.deepEqual([c.regs.lo(U_RAX), c.regs.hi(U_RAX)], [0x55667788, 0x11223344]);
    assert.deepEqual([c.regs.lo(U_R15), c.regs.hi(U_R15)], [0x76543210, 0xfedcba98]);
    assert.equal(c.regs.lo(U_RFLAGS), 0x3246);
    assert.equal(c.sel.cs, 0xe033, "RPL 0 becomes the 64-bit guest kernel's RPL 3");
    assert.equal(c.sel.ss, 0xe02b);
    assert.equal(c.kernelSs, 0xe02b);
    assert.deepEqual(c.kernelSp, [0x81803000, 0xffffffff]);
    assert.equal(c.trapFlagsCs[14], (3 << 16) | 0xe033);
    assert.deepEqual([c.trapAddr[28], c.trapAddr[29]], [0x81003000, 0xffffffff]);
    assert.deepEqual([...c.callbacks], [0x81001000, 0xffffffff, 0, 0, 0x81002000, 0xffffffff]);
    assert.deepEqual([...c.segBase], [0x1000, 0, 0, 0, 0x00001000, 0x00007f00]);
    assert.deepEqual(c.ldtBase, [0, 0xffffc900]);
    assert.equal(c.ldtEnts, 16);
    assert.deepEqual(c.vmAssist, [4, 1]);
    // A non-null fs (gs) selector kills fs_base (gs_base_user); gs_base_kernel stays; the
    // GDT entry count is an unsigned int to pv_set_gdt (its high half is dropped).
    const k = decodeVcpuContext64(
      gccContext(
        GOOD(0) + "c.user_regs.fs = 0xe02b; c.user_regs.gs = 0x10; c.gs_base_kernel = 0x2000;" +
          "c.gdt_ents = 1UL << 32;",
      ),
      0,
    ) as VcpuContext64;
    assert.deepEqual([...k.segBase], [0, 0, 0x2000, 0, 0, 0]);
    assert.deepEqual([k.gdtEnts, k.gdtFrames.length], [0, 0]);
  },
});

Deno.test({
  name: "vcpu_context64: arch_set_info_guest's checks refuse bad contexts with -EINVAL" + ignored,
  ignore: !have,
  fn() {
    const bad = [
      "c.user_regs.rip = 0x0000800000000000UL;", // non-canonical
      "c.user_regs.rsp = 0x8000000000000000UL;",
      "c.kernel_sp = 0x0001000000000000UL;",
      "c.event_callback_eip = 0x00f0000000000000UL;",
      "c.syscall_callback_eip = 0x0000800000000000UL;",
      "c.failsafe_callback_eip = 0x0000800000000000UL;",
      "c.fs_base = 0x0000800000000000UL;",
      "c.gs_base_kernel = 0x0000800000000000UL;",
      "c.trap_ctxt[3].address = 0x0000800000000000UL;",
      "c.ldt_base = 0xffff800000000000UL;", // Xen's range: !__addr_ok
      "c.ldt_base = 0x1008;", // not page aligned
      "c.ldt_ents = 8193;",
      "c.gdt_ents = 14 * 512 + 1;", // above FIRST_RESERVED_GDT_ENTRY
      "c.ldt_ents = 1UL << 32;", // an unsigned long, compared whole
      "c.vm_assist = 1 << 6;", // not a valid assist on vcpu 0
      `c.flags &= ~${VGCF_in_kernel};`, // user mode without a user L4
    ];
    for (const stmt of bad) {
      assert.equal(decodeVcpuContext64(gccContext(GOOD(0) + stmt), 0), -EINVAL, stmt);
    }
    // The same vm_assist bit is not checked on other vcpus; user mode with a user L4 is fine.
    assert.equal(
      typeof decodeVcpuContext64(gccContext(GOOD(0) + "c.vm_assist = 1 << 6;"), 1),
      "object",
    );
    const user = GOOD(0) + `c.flags &= ~${VGCF_in_kernel}; c.ctrlreg[1] = 4096;`;
    assert.equal(typeof decodeVcpuContext64(gccContext(user), 0), "object");
    assert.equal(decodeVcpuContext64(new Uint8Array(100), 0), -EINVAL);
  },
});

Deno.test({
  name: "vcpu_context64: applying installs the L4, LDT, callbacks, stack, bases, IDT and regs" +
    ignored,
  ignore: !have,
  fn() {
    const g = makeTestGuest64(64);
    const d = g.dom;
    const l4 = d.p2m.get(asGfn(PFN64_L4));
    const [good, notL4] = gccContexts([GOOD(l4), GOOD(d.p2m.get(asGfn(9))) + "c.ldt_ents = 0;"]);
    const c = decodeVcpuContext64(good, 0) as VcpuContext64;
    const pv = new Pv64Vcpu(), regs = new Regs64(), gdt: number[] = [];
    assert.equal(applyVcpuContext64(d, 0, c, pv, regs, gdt), 0);
    assert.equal(d.baseMfn[0], l4);
    assert.equal(d.m2pStrict, true, "vm_assist bit 32 is m2p_strict");
    assert.deepEqual([d.ldtBase[0], d.ldtBaseHi[0], d.ldtEnts[0]], [0, 0xffffc900, 16]);
    assert.equal(pv.kernelMode, true);
    assert.deepEqual([pv.callbacks[2 * CB_EVENT + 1], pv.callbacks[2 * CB_SYSCALL]], [
      0xffffffff,
      0x81002000,
    ]);
    assert.equal(pv.vgcFlags, VGCF_in_kernel | (1 << 4), "vgc_flags = flags");
    assert.deepEqual([pv.segBase[2 * SB_GS_USER], pv.segBase[2 * SB_GS_USER + 1]], [
      0x1000,
      0x7f00,
    ]);
    assert.equal(pv.trapFlagsCs[14], (3 << 16) | 0xe033);
    assert.equal(pv.iopl, 0x3000, "IOPL is virtualised");
    assert.equal(regs.lo(U_RFLAGS), 0x0246, "IOPL cleared, IF set");
    assert.equal(regs.hi(U_RAX), 0x11223344);
    assert.equal(regs.cs, 0xe033);
    // A cr3 that is not an L4 (a data page) fails validation and leaves the LDT alone.
    const before = [d.ldtBase[0], d.ldtBaseHi[0], d.ldtEnts[0]];
    const c2 = decodeVcpuContext64(notL4, 0);
    assert.notEqual(applyVcpuContext64(d, 0, c2 as VcpuContext64, pv, regs, gdt), 0);
    assert.deepEqual([d.ldtBase[0], d.ldtBaseHi[0], d.ldtEnts[0]], before);
    assert.equal(d.baseMfn[0], l4);
  },
});

Deno.test("setLdt64: __addr_ok, alignment and the 8192-entry limit (MMUEXT_SET_LDT)", async () => {
  const { mmuextOp64, MMUEXT_SET_LDT, setLdt64 } = await import("../../../lib/paging/mod.ts");
  const d = makeTestGuest64(16).dom;
  assert.equal(setLdt64(d, 0, 0, 0x7fff, 8192), 0, "top of the lower half");
  assert.equal(setLdt64(d, 0, 0, 0xffff8800, 1), 0, "HYPERVISOR_VIRT_END is guest space");
  assert.equal(setLdt64(d, 0, 0, 0xffff87ff, 1), -EINVAL, "inside Xen's range");
  assert.equal(setLdt64(d, 0, 0, 0xffff8000, 1), -EINVAL);
  assert.equal(setLdt64(d, 0, 0, 0x8000, 1), -EINVAL, "non-canonical");
  assert.equal(setLdt64(d, 0, 0x800, 0, 1), -EINVAL, "unaligned");
  assert.equal(setLdt64(d, 0, 0x1000, 0, 8193), -EINVAL);
  assert.equal(setLdt64(d, 0, 0x800, 0xffff8000, 0), 0, "no entries: the base is ignored");
  assert.deepEqual([d.ldtBase[0], d.ldtBaseHi[0], d.ldtEnts[0]], [0, 0, 0]);
  assert.equal(mmuextOp64(d, 0, MMUEXT_SET_LDT, 0x1_0000_2000, 4), 0, "a base above 4 GiB");
  assert.deepEqual([d.ldtBase[0], d.ldtBaseHi[0], d.ldtEnts[0]], [0x2000, 1, 4]);
  assert.equal(mmuextOp64(d, 0, MMUEXT_SET_LDT, 0, 4, 0xffff8000), -EINVAL);
});
