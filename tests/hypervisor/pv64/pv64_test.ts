/**
 * The 64-bit PV entry and exit models: callbacks, stack_switch, set_segment_base, the
 * bounce frame, the syscall from user mode, the sysret-style return and the iret
 * hypercall, one Xen rule per test, plus a round trip syscall -> bounce -> iret that
 * must give user space its registers back.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BOUNCE_BAD_STACK,
  BOUNCE_NO_HANDLER,
  createBounceFrame64,
  frameBase,
  frameWords,
  returnToGuest64,
  syscallFromUser64,
  TBF_EXCEPTION,
  type TrapBounce64,
} from "../../../lib/hypervisor/pv64/bounce64.ts";
import {
  registerCallback64,
  SEGBASE_FS,
  SEGBASE_GS_KERNEL,
  SEGBASE_GS_USER,
  SEGBASE_GS_USER_SEL,
  setCallbacks64,
  setSegmentBase64,
  stackSwitch64,
  unregisterCallback64,
} from "../../../lib/hypervisor/pv64/callbacks64.ts";
import { iret64, IRET_NO_USER_TABLES } from "../../../lib/hypervisor/pv64/iret64.ts";
import {
  CB_EVENT,
  CB_SYSCALL,
  CB_SYSCALL32,
  Pv64Vcpu,
  Regs64,
  SB_FS,
  SB_GS_USER,
  U_R11,
  U_RAX,
  U_RCX,
  U_RFLAGS,
  U_RIP,
  U_RSP,
} from "../../../lib/hypervisor/pv64/vcpu64.ts";
import { TBF_EXCEPTION_ERRCODE, TBF_INTERRUPT } from "../../../lib/hypervisor/traps/bounce.ts";

const u64 = (lo: number, hi: number) => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
const split = (v: bigint): [number, number] => [
  Number(v & 0xffffffffn),
  Number((v >> 32n) & 0xffffffffn),
];
const reg = (r: Regs64, i: number) => u64(r.lo(i), r.hi(i));
const word = (i: number) => u64(frameWords[2 * i], frameWords[2 * i + 1]);
const tbOf = (eip: bigint, flags = 0, errorCode = 0, upcallMask = 0): TrapBounce64 => {
  const [eipLo, eipHi] = split(eip);
  return { flags, errorCode, eipLo, eipHi, upcallMask };
};

Deno.test("pv64 callbacks: canonical addresses only, CALLBACKF_mask_events, unknown types", () => {
  const v = new Pv64Vcpu();
  assert.equal(registerCallback64(v, 2, 1, 0x1000, 0xffffffff), 0);
  assert.equal(
    u64(v.callbacks[2 * CB_SYSCALL], v.callbacks[2 * CB_SYSCALL + 1]),
    0xffffffff00001000n,
  );
  assert.equal(v.vgcFlags & (1 << 4), 1 << 4, "VGCF_syscall_disables_events");
  assert.equal(registerCallback64(v, 2, 0, 0x1000, 0), 0);
  assert.equal(v.vgcFlags & (1 << 4), 0);
  assert.equal(registerCallback64(v, 0, 0, 0, 0x8000), -22, "non-canonical");
  assert.equal(registerCallback64(v, 7, 1, 0x2000, 0), 0);
  assert.equal(v.syscall32DisablesEvents, true);
  assert.equal(registerCallback64(v, 5, 0, 0x3000, 0), 0);
  assert.equal(registerCallback64(v, 3, 0, 0x3000, 0), -38, "sysenter_deprecated: -ENOSYS");
  assert.equal(unregisterCallback64(v, 0), -22);
  assert.equal(unregisterCallback64(v, 4), 0);
  // set_callbacks registers all three and returns 0 even for a bad address.
  assert.equal(setCallbacks64(v, new Uint32Array([0x10, 0, 0x20, 0x8000, 0x30, 0])), 0);
  assert.equal(v.callbacks[2 * CB_EVENT], 0x10);
  assert.equal(v.callbacks[2 * CB_SYSCALL], 0x30);
});

Deno.test("pv64 stack_switch raises the stack selector's RPL to 3", () => {
  const v = new Pv64Vcpu();
  assert.equal(stackSwitch64(v, 0xe028, 0x5000, 0xffffffff), 0);
  assert.equal(v.kernelSs, 0xe02b);
  assert.equal(u64(v.kernelSp[0], v.kernelSp[1]), 0xffffffff00005000n);
  stackSwitch64(v, 0xe02b, 0, 0);
  assert.equal(v.kernelSs, 0xe02b);
});

Deno.test("pv64 set_segment_base: FS, GS kernel/user, GS user selector", () => {
  const v = new Pv64Vcpu();
  assert.equal(setSegmentBase64(v, SEGBASE_FS, 0x1234, 0x7fff), 0);
  assert.equal(u64(v.segBase[2 * SB_FS], v.segBase[2 * SB_FS + 1]), 0x00007fff00001234n);
  assert.equal(setSegmentBase64(v, SEGBASE_GS_KERNEL, 0, 0x8000), -22);
  assert.equal(setSegmentBase64(v, SEGBASE_GS_USER, 0x10, 0xffff8000), 0);
  let asked = -1;
  assert.equal(
    setSegmentBase64(v, SEGBASE_GS_USER_SEL, 0xe028, 0, (sel) => {
      asked = sel;
      return [0x4000, 0];
    }),
    0,
  );
  assert.equal(asked, 0xe02b, "RPL 3 for a non-NUL selector");
  assert.equal(v.gsUserSel, 0xe02b);
  assert.equal(v.segBase[2 * SB_GS_USER], 0x4000);
  // A selector that faults on load becomes NUL with base 0 (Linux must not see an error).
  assert.equal(setSegmentBase64(v, SEGBASE_GS_USER_SEL, 0x1234, 0, () => null), 0);
  assert.equal(v.gsUserSel, 0);
  assert.equal(v.segBase[2 * SB_GS_USER], 0);
  assert.equal(setSegmentBase64(v, 4, 0, 0), -22);
});

function kernelRegs(): Regs64 {
  const r = new Regs64();
  r.set(U_RIP, 0x81001234, 0xffffffff);
  r.set(U_RSP, 0x80ffff38, 0xffffffff);
  r.set(U_RFLAGS, 0x246, 0);
  r.set(U_RCX, 0x11111111, 0x22222222);
  r.set(U_R11, 0x33333333, 0x44444444);
  r.cs = 0xe033;
  r.ss = 0xe02b;
  return r;
}

Deno.test("pv64 bounce in kernel mode: aligned frame on the current stack, RPL 0 in its cs", () => {
  const v = new Pv64Vcpu();
  const r = kernelRegs();
  const tb = tbOf(0xffffffff81005000n, TBF_EXCEPTION | TBF_EXCEPTION_ERRCODE | TBF_INTERRUPT, 0x1b);
  assert.equal(createBounceFrame64(v, r, tb), 8);
  // 0x...80ffff38 aligned down to 0x...80ffff30, minus 8 words.
  assert.equal(u64(frameBase[0], frameBase[1]), 0xffffffff80ffff30n - 64n);
  assert.equal(word(0), 0x2222222211111111n, "rcx");
  assert.equal(word(1), 0x4444444433333333n, "r11");
  assert.equal(word(2), 0x1bn, "error code");
  assert.equal(word(3), 0xffffffff81001234n, "rip");
  assert.equal(word(4), 0xe030n, "cs with RPL 0, saved_upcall_mask 0");
  assert.equal(word(5), 0x246n, "rflags, IF = !saved mask");
  assert.equal(word(6), 0xffffffff80ffff38n, "the interrupted rsp");
  assert.equal(word(7), 0xe02bn);
  assert.equal(tb.upcallMask, 1, "TBF_INTERRUPT masks events");
  assert.equal(reg(r, U_RIP), 0xffffffff81005000n);
  assert.equal(reg(r, U_RSP), 0xffffffff80ffff30n - 64n);
  assert.equal(r.cs, 0xe033);
  assert.equal(r.ss, 0xe02b);
  assert.equal(r.viaSyscall, true);
});

Deno.test("pv64 bounce from user mode: toggles to kernel, lands on the stack_switch stack", () => {
  const v = new Pv64Vcpu();
  v.kernelMode = false;
  stackSwitch64(v, 0xe02b, 0x80fff000, 0xffffffff);
  const r = kernelRegs();
  r.set(U_RSP, 0x7ff0, 0x00007fff);
  r.set(U_RFLAGS, 0x40246, 0); // AC set: cleared for the handler
  const tb = tbOf(0xffffffff81006000n, 0, 0, 1);
  assert.equal(createBounceFrame64(v, r, tb), 7);
  assert.equal(v.kernelMode, true);
  assert.equal(u64(frameBase[0], frameBase[1]), 0xffffffff80fff000n - 56n);
  assert.equal(word(3), 0x1_0000_e033n, "user cs kept, saved_upcall_mask 1 in bits 32..39");
  assert.equal(word(4), 0x40046n, "IF cleared in the frame: events were masked");
  assert.equal(word(5), 0x00007fff00007ff0n);
  assert.equal(tb.upcallMask, 1);
  assert.equal(r.lo(U_RFLAGS) & (1 << 18), 0);
});

Deno.test("pv64 bounce: a stack in Xen's range or no handler crashes the domain", () => {
  const v = new Pv64Vcpu();
  const r = kernelRegs();
  r.set(U_RSP, 0x1000, 0xffff8100);
  assert.equal(createBounceFrame64(v, r, tbOf(0x1000n)), BOUNCE_BAD_STACK);
  const r2 = kernelRegs();
  assert.equal(createBounceFrame64(v, r2, tbOf(0n)), BOUNCE_NO_HANDLER);
  // Just below HYPERVISOR_VIRT_START is a valid (if odd) stack.
  const r3 = kernelRegs();
  r3.set(U_RSP, 0xfffffff0, 0xffff7fff);
  assert.equal(createBounceFrame64(v, r3, tbOf(0x1000n)), 7);
});

Deno.test("pv64 syscall from user mode: syscall / syscall32 callbacks, #UD without one", () => {
  const v = new Pv64Vcpu();
  v.kernelMode = false;
  stackSwitch64(v, 0xe02b, 0x80fff000, 0xffffffff);
  registerCallback64(v, 2, 1, 0x81000100, 0xffffffff);
  const ud = new Uint32Array([0x81000600, 0xffffffff, 4]);
  const r = kernelRegs();
  r.set(U_RFLAGS, 0x646, 0); // DF set
  const tb = tbOf(0n);
  assert.equal(syscallFromUser64(v, r, tb, ud), 7);
  assert.equal(reg(r, U_RIP), 0xffffffff81000100n);
  assert.equal(tb.flags, TBF_INTERRUPT);
  assert.equal(r.lo(U_RFLAGS) & (1 << 10), 0, "DF cleared");
  // A 32-bit user process with no syscall32 callback: #UD at the syscall instruction.
  v.kernelMode = false;
  const r32 = kernelRegs();
  r32.cs = 0xe023;
  r32.set(U_RIP, 0x08048002, 0);
  const tb32 = tbOf(0n);
  assert.equal(syscallFromUser64(v, r32, tb32, ud), 7);
  assert.equal(word(2), 0x08048000n, "rip in the frame points at the syscall");
  assert.equal(reg(r32, U_RIP), 0xffffffff81000600n);
  assert.equal(tb32.flags, TBF_EXCEPTION | TBF_INTERRUPT);
  // With one registered, the 32-bit process gets it.
  registerCallback64(v, 7, 0, 0x81000200, 0xffffffff);
  v.kernelMode = false;
  const r32b = kernelRegs();
  r32b.cs = 0xe023;
  assert.equal(syscallFromUser64(v, r32b, tbOf(0n), ud), 7);
  assert.equal(v.callbacks[2 * CB_SYSCALL32], 0x81000200);
  assert.equal(reg(r32b, U_RIP), 0xffffffff81000200n);
});

Deno.test("pv64 return to guest: after a syscall/bounce rcx = rip and r11 = rflags | IF", () => {
  const r = kernelRegs();
  r.viaSyscall = true;
  r.set(U_RFLAGS, 0x3046, 0);
  returnToGuest64(r);
  assert.equal(reg(r, U_RCX), reg(r, U_RIP));
  assert.equal(reg(r, U_R11), 0x246n);
  const r2 = kernelRegs();
  returnToGuest64(r2);
  assert.equal(reg(r2, U_RCX), 0x2222222211111111n, "iret path: untouched");
});

function iretCtx(words: bigint[]): Uint32Array {
  const out = new Uint32Array(18);
  words.forEach((w, i) => [out[2 * i], out[2 * i + 1]] = split(w));
  return out;
}

Deno.test("pv64 iret: to user mode needs user tables; VGCF_in_syscall keeps rcx/r11 clobbered", () => {
  const v = new Pv64Vcpu();
  const r = kernelRegs();
  const ctx = iretCtx([
    7n,
    0x1111n,
    0x2222n,
    0n,
    0x400000n,
    0xe033n,
    0x3202n,
    0x7ffff000n,
    0xe02bn,
  ]);
  assert.equal(iret64(v, r, ctx, false), IRET_NO_USER_TABLES);
  assert.equal(iret64(v, r, ctx, true), 0, "IF set: events unmasked");
  assert.equal(v.kernelMode, false);
  assert.equal(reg(r, U_RAX), 7n);
  assert.equal(reg(r, U_RIP), 0x400000n);
  assert.equal(reg(r, U_RFLAGS), 0x202n, "IOPL dropped, IF forced");
  assert.equal(reg(r, U_RSP), 0x7ffff000n);
  assert.equal(reg(r, U_RCX), 0x2222n);
  assert.equal(reg(r, U_R11), 0x1111n);
  assert.equal(r.viaSyscall, false);
  // Back in kernel mode, an iret to kernel code (RPL forced to 3) with VGCF_in_syscall.
  const v2 = new Pv64Vcpu();
  const r2 = kernelRegs();
  r2.viaSyscall = true;
  const ctx2 = iretCtx([
    0n,
    0x1111n,
    0x2222n,
    256n,
    0xffffffff81000000n,
    0xe030n,
    0x2n,
    0xffffffff80ff0000n,
    0xe028n,
  ]);
  assert.equal(iret64(v2, r2, ctx2, false), 1, "IF clear: events masked");
  assert.equal(v2.kernelMode, true);
  assert.equal(r2.cs, 0xe033);
  assert.equal(r2.ss, 0xe02b);
  assert.equal(reg(r2, U_RCX), 0x2222222211111111n, "rcx not restored");
  assert.equal(r2.viaSyscall, true);
});

Deno.test("pv64 round trip: user syscall -> bounce -> the kernel's iret gives user space its registers back", () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: (1n << 47n) - 1n }),
      fc.bigInt({ min: 0n, max: (1n << 47n) - 1n }),
      fc.integer({ min: 0, max: 0x3fffff }),
      fc.boolean(),
      (rip, rsp, flags, inSyscall) => {
        const v = new Pv64Vcpu();
        v.kernelMode = false;
        stackSwitch64(v, 0xe02b, 0x80fff000, 0xffffffff);
        registerCallback64(v, 2, 0, 0x81000100, 0xffffffff);
        const r = new Regs64();
        const rflags = (flags & 0x3f7fd5) | 0x202; // IF set in user space
        r.set(U_RIP, ...split(rip));
        r.set(U_RSP, ...split(rsp));
        r.set(U_RFLAGS, rflags, 0);
        r.set(U_RCX, ...split(rip));
        r.set(U_R11, rflags, 0);
        r.cs = 0xe033;
        r.ss = 0xe02b;
        const tb = tbOf(0n);
        assert.equal(syscallFromUser64(v, r, tb, new Uint32Array(3)), 7);
        // The kernel's return: rax, r11, rcx (from the frame), flags, rip, cs, rflags, rsp, ss.
        const ctx = iretCtx([
          0n,
          word(1),
          word(0),
          inSyscall ? 256n : 0n,
          word(2),
          word(3) & 0xffffn,
          word(4),
          word(5),
          word(6),
        ]);
        assert.equal(iret64(v, r, ctx, true), 0);
        returnToGuest64(r);
        assert.equal(v.kernelMode, false);
        assert.equal(reg(r, U_RIP), rip);
        assert.equal(reg(r, U_RSP), rsp);
        assert.equal(r.cs, 0xe033);
        assert.equal(reg(r, U_RCX), rip);
        const want = (rflags & ~0x3000 & ~(1 << 17)) | 0x200;
        assert.equal(Number(reg(r, U_RFLAGS)), want);
        assert.equal(Number(reg(r, U_R11)), inSyscall ? want : rflags);
      },
    ),
    { numRuns: 200 },
  );
});
