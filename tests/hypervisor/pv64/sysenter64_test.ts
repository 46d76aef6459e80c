/**
 * sysenter in a 64-bit PV domain (lib/hypervisor/pv64/sysenter64.ts), as Xen 4.17's
 * sysenter_entry: the frame holds rip 0, cs 3, rsp 0, ss FLAT_USER_SS and the flags with
 * IF set (VM and RF clear); the bounce goes to the CALLBACKTYPE_sysenter callback (events
 * masked with CALLBACKF_mask_events), else to the #GP handler with error code 0, else the
 * domain has no handler.
 * @module
 */
import assert from "node:assert/strict";
import {
  BOUNCE_NO_HANDLER,
  frameWords,
  TBF_EXCEPTION,
  type TrapBounce64,
} from "../../../lib/hypervisor/pv64/bounce64.ts";
import { registerCallback64, stackSwitch64 } from "../../../lib/hypervisor/pv64/callbacks64.ts";
import { isSysenter, sysenterBounce64 } from "../../../lib/hypervisor/pv64/sysenter64.ts";
import { Pv64Vcpu, Regs64, U_RFLAGS, U_RIP, U_RSP } from "../../../lib/hypervisor/pv64/vcpu64.ts";
import { TBF_EXCEPTION_ERRCODE, TBF_INTERRUPT } from "../../../lib/hypervisor/traps/bounce.ts";

const CALLBACKTYPE_sysenter = 5, CALLBACKF_mask_events = 1;

function userRegs(): Regs64 {
  const r = new Regs64();
  r.set(U_RIP, 0x08048010, 0);
  r.set(U_RSP, 0xbffff000, 0);
  r.set(U_RFLAGS, 0x10246, 0); // RF set: sysenter clears it
  r.cs = 0xe023;
  r.ss = 0xe02b;
  return r;
}

const tb = (): TrapBounce64 => ({ flags: 0, errorCode: 0, eipLo: 0, eipHi: 0, upcallMask: 0 });
/** Frame word i (rcx, r11, [error code], rip, cs, rflags, rsp, ss) as a bigint. */
const word = (i: number) => (BigInt(frameWords[2 * i + 1]) << 32n) | BigInt(frameWords[2 * i]);

function userVcpu(): Pv64Vcpu {
  const v = new Pv64Vcpu();
  v.kernelMode = false;
  stackSwitch64(v, 0xe02b, 0x80fff000, 0xffffffff);
  return v;
}

Deno.test("sysenter64: recognised only as 0f 34", () => {
  assert.equal(isSysenter(0x0f, 0x34), true);
  assert.equal(isSysenter(0x0f, 0x05), false);
  assert.equal(isSysenter(0x34, 0x0f), false);
});

Deno.test("sysenter64: bounces to the sysenter callback with Xen's null rip/cs/rsp frame", () => {
  const v = userVcpu();
  assert.equal(
    registerCallback64(v, CALLBACKTYPE_sysenter, CALLBACKF_mask_events, 0x81000300, 0xffffffff),
    0,
  );
  const r = userRegs(), t = tb();
  assert.equal(sysenterBounce64(v, r, t), 7);
  assert.equal(v.kernelMode, true, "toggled to kernel mode");
  assert.equal(t.flags & TBF_INTERRUPT, TBF_INTERRUPT, "events masked");
  assert.equal(r.lo(U_RIP) >>> 0, 0x81000300);
  assert.equal(r.hi(U_RIP) >>> 0, 0xffffffff);
  assert.equal(word(2), 0n, "rip 0");
  assert.equal(word(3) & 0xffffn, 3n, "cs 3");
  assert.equal(word(4) & 0x10000n, 0n, "RF clear");
  assert.equal(word(4) & 0x200n, 0x200n, "IF set");
  assert.equal(word(5), 0n, "rsp 0");
  assert.equal(word(6), 0xe02bn, "ss FLAT_USER_SS");
  assert.equal(r.lo(U_RSP) >>> 0, (0x80fff000 - 7 * 8) >>> 0, "on the kernel stack");
});

Deno.test("sysenter64: without a callback, the #GP handler with error code 0", () => {
  const v = userVcpu();
  v.trapAddr[26] = 0x81000d00;
  v.trapAddr[27] = 0xffffffff;
  v.trapFlagsCs[13] = (4 << 16) | 0xe033;
  const r = userRegs(), t = tb();
  assert.equal(sysenterBounce64(v, r, t), 8);
  assert.equal(t.flags, TBF_EXCEPTION | TBF_EXCEPTION_ERRCODE | TBF_INTERRUPT);
  assert.equal(word(2), 0n, "error code 0");
  assert.equal(word(3), 0n, "rip 0");
  assert.equal(r.lo(U_RIP) >>> 0, 0x81000d00);
  // and with no #GP handler either, the domain has none (Xen crashes it)
  const v2 = userVcpu();
  assert.equal(sysenterBounce64(v2, userRegs(), tb()), BOUNCE_NO_HANDLER);
});
