import assert from "node:assert/strict";
import {
  DOMID_SELF,
  ECS_FREE,
  ECS_INTERDOMAIN,
  ECS_UNBOUND,
  EVTCHNSTAT_closed,
  EVTCHNSTAT_interdomain,
  EVTCHNSTAT_ipi,
  EVTCHNSTAT_unbound,
  EVTCHNSTAT_virq,
  type EvtchnStatusInfo,
  VIRQ_CONSOLE,
  VIRQ_DEBUG,
  VIRQ_DOM_EXC,
  VIRQ_TIMER,
} from "../../../lib/hypervisor/evtchn/mod.ts";
import { TestWorld } from "../../../lib/hypervisor/gnttab/testing.ts";
import type { Tracer } from "../../../lib/hypervisor/trace/tracer.ts";

const EINVAL = -22, ESRCH = -3, EPERM = -1, EEXIST = -17, ENOENT = -2, ENOSPC = -28;
const EBUSY = -16, ENOSYS = -38;

function world() {
  const w = new TestWorld();
  const d0 = w.addDomain(0, { privileged: true });
  const d1 = w.addDomain(1, { vcpus: 2 });
  const d2 = w.addDomain(2);
  return { w, d0, d1, d2 };
}

Deno.test("allocUnbound() returns the lowest free port above the reserved port 0", () => {
  const { d1 } = world();
  assert.equal(d1.evtchn.allocUnbound(DOMID_SELF, 0), 1);
  assert.equal(d1.evtchn.allocUnbound(1, 0), 2);
  assert.equal(d1.evtchn.state(2), ECS_UNBOUND);
  assert.equal(d1.evtchn.remoteDom(2), 0);
  assert.equal(d1.evtchn.close(1), 0);
  assert.equal(d1.evtchn.allocUnbound(DOMID_SELF, DOMID_SELF), 1);
  assert.equal(d1.evtchn.remoteDom(1), 1, "DOMID_SELF as remote names the caller");
});

Deno.test("allocUnbound() returns -EPERM for a domU naming another domain, -ESRCH for none", () => {
  const { d0, d1, d2 } = world();
  assert.equal(d1.evtchn.allocUnbound(2, 0), EPERM);
  assert.equal(d1.evtchn.allocUnbound(77, 0), ESRCH);
  assert.equal(d2.evtchn.state(1), ECS_FREE);
  // dom0 (privileged) allocates in a domU, as the toolstack does for console/xenstore.
  assert.equal(d0.evtchn.allocUnbound(2, 0), 1);
  assert.equal(d2.evtchn.state(1), ECS_UNBOUND);
});

Deno.test("allocUnbound() returns -ENOSPC when all 1023 ports are used", () => {
  const { d1 } = world();
  for (let i = 1; i < 1024; i++) assert.equal(d1.evtchn.allocUnbound(DOMID_SELF, 0), i);
  assert.equal(d1.evtchn.allocUnbound(DOMID_SELF, 0), ENOSPC);
  assert.equal(d1.evtchn.bindIpi(0), ENOSPC);
});

Deno.test("bindInterdomain() connects both ends and sets the local port pending", () => {
  const { w, d0, d1 } = world();
  const gp = d1.evtchn.allocUnbound(DOMID_SELF, 0);
  const lp = d0.evtchn.bindInterdomain(1, gp);
  assert.equal(lp, 1);
  assert.equal(d0.evtchn.state(lp), ECS_INTERDOMAIN);
  assert.equal(d1.evtchn.state(gp), ECS_INTERDOMAIN);
  assert.equal(d0.evtchn.remotePort(lp), gp);
  assert.equal(d1.evtchn.remotePort(gp), lp);
  assert.ok(d0.evtchn.shared.isPending(lp), "conservative set-pending on the new port");
  assert.deepEqual(w.kicks, ["0:0"]);
});

Deno.test("bindInterdomain() rejects missing domains, wrong states and foreign offers", () => {
  const { d0, d1, d2 } = world();
  const gp = d1.evtchn.allocUnbound(DOMID_SELF, 2); // offered to d2, not d0
  assert.equal(d0.evtchn.bindInterdomain(9, gp), ESRCH);
  assert.equal(d0.evtchn.bindInterdomain(1, gp), EINVAL, "offered to another domain");
  assert.equal(d0.evtchn.bindInterdomain(1, 5), EINVAL, "free port");
  assert.equal(d0.evtchn.bindInterdomain(1, 4096), EINVAL, "out of range");
  assert.equal(d0.evtchn.state(1), ECS_FREE, "nothing allocated on failure");
  assert.equal(d2.evtchn.bindInterdomain(1, gp), 1);
  assert.equal(d0.evtchn.bindInterdomain(1, gp), EINVAL, "already bound");
});

Deno.test("bindInterdomain() with an explicit local port returns -EBUSY when it is taken", () => {
  const { d0, d1 } = world();
  const a = d1.evtchn.allocUnbound(DOMID_SELF, 0);
  const b = d1.evtchn.allocUnbound(DOMID_SELF, 0);
  assert.equal(d0.evtchn.bindInterdomain(1, a, 7), 7);
  assert.equal(d0.evtchn.bindInterdomain(1, b, 7), EBUSY);
  assert.equal(d0.evtchn.bindInterdomain(1, b, 5000), ENOSPC);
});

Deno.test("bindInterdomain() supports loopback with DOMID_SELF", () => {
  const { w, d1 } = world();
  const a = d1.evtchn.allocUnbound(DOMID_SELF, DOMID_SELF);
  const b = d1.evtchn.bindInterdomain(DOMID_SELF, a);
  assert.equal(b, 2);
  d1.evtchn.shared.testAndClearPending(b);
  d1.evtchn.shared.setUpcallPending(0, 0);
  d1.evtchn.shared.takePendingSel(0);
  w.kicks.length = 0;
  assert.equal(d1.evtchn.send(b), 0);
  assert.ok(d1.evtchn.shared.isPending(a));
  assert.deepEqual(w.kicks, ["1:0"]);
});

Deno.test("send() sets the remote port pending, its selector bit and upcall_pending once", () => {
  const { w, d0, d1 } = world();
  for (let i = 0; i < 40; i++) d1.evtchn.allocUnbound(DOMID_SELF, 0); // reach word 1
  const gp = d1.evtchn.allocUnbound(DOMID_SELF, 0);
  assert.equal(gp, 41);
  const bp = d0.evtchn.bindInterdomain(1, gp);
  w.kicks.length = 0;
  const si = d1.evtchn.shared;
  assert.equal(d0.evtchn.send(bp), 0);
  assert.ok(si.isPending(gp));
  assert.equal(si.pendingSel(0), 1 << 1);
  assert.equal(si.upcallPending(0), 1);
  assert.deepEqual(w.kicks, ["1:0"]);
  assert.equal(d0.evtchn.send(bp), 0);
  assert.deepEqual(w.kicks, ["1:0"], "already pending: no second upcall");
});

Deno.test("send() of a masked port sets only the pending bit; unmask() re-raises it", () => {
  const { w, d0, d1 } = world();
  const gp = d1.evtchn.allocUnbound(DOMID_SELF, 0);
  const bp = d0.evtchn.bindInterdomain(1, gp);
  const si = d1.evtchn.shared;
  si.testAndSetMask(gp);
  w.kicks.length = 0;
  d0.evtchn.send(bp);
  assert.ok(si.isPending(gp));
  assert.equal(si.pendingSel(0), 0);
  assert.equal(si.upcallPending(0), 0);
  assert.deepEqual(w.kicks, []);
  assert.equal(d1.evtchn.unmask(gp), 0);
  assert.ok(!si.isMasked(gp));
  assert.equal(si.pendingSel(0), 1);
  assert.equal(si.upcallPending(0), 1);
  assert.deepEqual(w.kicks, ["1:0"]);
  assert.equal(d1.evtchn.unmask(gp), 0, "unmasking an unmasked port is fine");
  assert.equal(d1.evtchn.unmask(1024), EINVAL);
});

Deno.test("send() returns -EINVAL for a closed, free or VIRQ port and drops unbound sends", () => {
  const { w, d1 } = world();
  assert.equal(d1.evtchn.send(0), EINVAL, "reserved port 0");
  assert.equal(d1.evtchn.send(3), EINVAL, "free port");
  assert.equal(d1.evtchn.send(-1), EINVAL);
  assert.equal(d1.evtchn.send(1.5), EINVAL);
  const u = d1.evtchn.allocUnbound(DOMID_SELF, 0);
  assert.equal(d1.evtchn.send(u), 0);
  assert.ok(!d1.evtchn.shared.isPending(u));
  const v = d1.evtchn.bindVirq(VIRQ_TIMER, 0);
  assert.equal(d1.evtchn.send(v), EINVAL);
  d1.evtchn.close(u);
  assert.equal(d1.evtchn.send(u), EINVAL, "closed port");
  assert.deepEqual(w.kicks, []);
});

Deno.test("send() on an IPI port notifies the bound vcpu", () => {
  const { w, d1 } = world();
  const p = d1.evtchn.bindIpi(1);
  assert.equal(d1.evtchn.send(p), 0);
  assert.equal(d1.evtchn.shared.upcallPending(1), 1);
  assert.equal(d1.evtchn.shared.upcallPending(0), 0);
  assert.deepEqual(w.kicks, ["1:1"]);
  assert.equal(d1.evtchn.bindIpi(2), ENOENT);
  assert.equal(d1.evtchn.bindVcpu(p, 0), EINVAL, "IPI bindings are fixed");
});

Deno.test("bindVirq() binds per-vcpu and global VIRQs and returns -EEXIST when bound", () => {
  const { w, d1 } = world();
  const t0 = d1.evtchn.bindVirq(VIRQ_TIMER, 0);
  const t1 = d1.evtchn.bindVirq(VIRQ_TIMER, 1);
  assert.ok(t0 > 0 && t1 > 0 && t0 !== t1);
  assert.equal(d1.evtchn.bindVirq(VIRQ_TIMER, 0), EEXIST);
  assert.equal(d1.evtchn.bindVirq(VIRQ_DEBUG, 1) > 0, true);
  assert.equal(d1.evtchn.bindVirq(VIRQ_CONSOLE, 1), EINVAL, "global VIRQ on vcpu 1");
  const c = d1.evtchn.bindVirq(VIRQ_CONSOLE, 0);
  assert.ok(c > 0);
  assert.equal(d1.evtchn.bindVirq(VIRQ_CONSOLE, 0), EEXIST);
  assert.equal(d1.evtchn.bindVirq(VIRQ_DOM_EXC, 0) > 0, true);
  assert.equal(d1.evtchn.bindVirq(24, 0), EINVAL);
  assert.equal(d1.evtchn.bindVirq(-1, 0), EINVAL);
  assert.equal(d1.evtchn.bindVirq(VIRQ_TIMER, 2), ENOENT);
  d1.evtchn.sendVirq(1, VIRQ_TIMER);
  assert.ok(d1.evtchn.shared.isPending(t1));
  assert.ok(!d1.evtchn.shared.isPending(t0));
  assert.deepEqual(w.kicks, ["1:1"]);
  // Global VIRQs move with bind_vcpu; per-vcpu ones do not.
  assert.equal(d1.evtchn.bindVcpu(c, 1), 0);
  assert.equal(d1.evtchn.bindVcpu(t0, 1), EINVAL);
  d1.evtchn.sendGlobalVirq(VIRQ_CONSOLE);
  assert.ok(d1.evtchn.shared.isPending(c));
  assert.equal(d1.evtchn.shared.pendingSel(1), 1);
  // Closing frees the VIRQ for a new binding.
  assert.equal(d1.evtchn.close(t0), 0);
  assert.equal(d1.evtchn.virqPort(0, VIRQ_TIMER), 0);
  assert.ok(d1.evtchn.bindVirq(VIRQ_TIMER, 0) > 0);
});

Deno.test("close() returns the interdomain peer to unbound, offered to the closer", () => {
  const { d0, d1 } = world();
  const gp = d1.evtchn.allocUnbound(DOMID_SELF, 0);
  const bp = d0.evtchn.bindInterdomain(1, gp);
  assert.equal(d1.evtchn.close(gp), 0);
  assert.equal(d1.evtchn.state(gp), ECS_FREE);
  assert.equal(d0.evtchn.state(bp), ECS_UNBOUND);
  assert.equal(d0.evtchn.remoteDom(bp), 1);
  assert.equal(d0.evtchn.send(bp), 0, "unbound: dropped");
  // The guest can bind back to the now-unbound backend port.
  const again = d1.evtchn.bindInterdomain(0, bp);
  assert.ok(again > 0);
  assert.equal(d0.evtchn.state(bp), ECS_INTERDOMAIN);
});

Deno.test("close() returns -EINVAL for free, reserved and out-of-range ports", () => {
  const { d1 } = world();
  assert.equal(d1.evtchn.close(0), EINVAL);
  assert.equal(d1.evtchn.close(1), EINVAL);
  assert.equal(d1.evtchn.close(1024), EINVAL);
  const p = d1.evtchn.bindIpi(0);
  assert.equal(d1.evtchn.close(p), 0);
  assert.equal(d1.evtchn.close(p), EINVAL, "double close");
});

Deno.test("close() clears the pending bit and keeps the mask bit", () => {
  const { d1 } = world();
  const p = d1.evtchn.bindIpi(0);
  d1.evtchn.shared.testAndSetMask(p);
  d1.evtchn.send(p);
  assert.ok(d1.evtchn.shared.isPending(p));
  d1.evtchn.close(p);
  assert.ok(!d1.evtchn.shared.isPending(p));
  assert.ok(d1.evtchn.shared.isMasked(p));
});

Deno.test("status() reports each state and guards other domains", () => {
  const { d0, d1 } = world();
  const gp = d1.evtchn.allocUnbound(DOMID_SELF, 0);
  const s1 = d1.evtchn.status(DOMID_SELF, gp) as EvtchnStatusInfo;
  assert.equal(s1.status, EVTCHNSTAT_unbound);
  assert.equal(s1.dom, 0);
  const bp = d0.evtchn.bindInterdomain(1, gp);
  const s2 = d0.evtchn.status(1, gp) as EvtchnStatusInfo;
  assert.deepEqual(s2, { status: EVTCHNSTAT_interdomain, vcpu: 0, dom: 0, port: bp, virq: 0 });
  const v = d1.evtchn.bindVirq(VIRQ_DEBUG, 1);
  assert.deepEqual(d1.evtchn.status(1, v), {
    status: EVTCHNSTAT_virq,
    vcpu: 1,
    dom: 0,
    port: 0,
    virq: VIRQ_DEBUG,
  });
  const i = d1.evtchn.bindIpi(1);
  assert.equal((d1.evtchn.status(1, i) as EvtchnStatusInfo).status, EVTCHNSTAT_ipi);
  assert.equal((d1.evtchn.status(1, 0) as EvtchnStatusInfo).status, EVTCHNSTAT_closed);
  assert.equal(d1.evtchn.status(1, 1024), EINVAL);
  assert.equal(d1.evtchn.status(0, 1), EPERM);
  assert.equal(d1.evtchn.status(55, 1), ESRCH);
});

Deno.test("bindVcpu() moves interdomain delivery to another vcpu", () => {
  const { w, d0, d1 } = world();
  const gp = d1.evtchn.allocUnbound(DOMID_SELF, 0);
  const bp = d0.evtchn.bindInterdomain(1, gp);
  assert.equal(d1.evtchn.bindVcpu(gp, 1), 0);
  assert.equal(d1.evtchn.bindVcpu(gp, 5), ENOENT);
  assert.equal(d1.evtchn.bindVcpu(999, 0), EINVAL, "free port");
  w.kicks.length = 0;
  d0.evtchn.send(bp);
  assert.deepEqual(w.kicks, ["1:1"]);
  assert.equal(d1.evtchn.shared.upcallPending(0), 0);
});

Deno.test("reset() closes every port of the caller and refuses other domains", () => {
  const { d0, d1 } = world();
  const gp = d1.evtchn.allocUnbound(DOMID_SELF, 0);
  const bp = d0.evtchn.bindInterdomain(1, gp);
  d1.evtchn.bindIpi(0);
  d1.evtchn.bindVirq(VIRQ_TIMER, 0);
  assert.equal(d1.evtchn.reset(0), EPERM);
  assert.equal(d0.evtchn.reset(1), EINVAL, "another domain, not paused");
  assert.equal(d1.evtchn.reset(DOMID_SELF), 0);
  for (let p = 1; p < 10; p++) assert.equal(d1.evtchn.state(p), ECS_FREE);
  assert.equal(d1.evtchn.virqPort(0, VIRQ_TIMER), 0);
  assert.equal(d0.evtchn.state(bp), ECS_UNBOUND);
});

Deno.test("bindPirq() is refused; FIFO commands without a page mapper or before init", () => {
  const { d1 } = world();
  assert.equal(d1.evtchn.bindPirq(3), EPERM);
  assert.equal(d1.evtchn.initControl(5, 0, 0), ENOSYS, "no FIFO page mapper");
  assert.equal(d1.evtchn.expandArray(5), -95, "-EOPNOTSUPP while 2-level");
  assert.equal(d1.evtchn.setPriority(1, 7), ENOSYS, "2-level has no priorities");
  assert.equal(d1.evtchn.setPriority(5000, 7), EINVAL, "bad port");
});

Deno.test("EventChannels traces sends, upcalls and failures when the tracer is on", () => {
  const { d0, d1 } = world();
  const recs: number[][] = [];
  const tracer: Tracer = {
    on: true,
    rec: (e, n, a, b, c, d) => recs.push([e, n, a, b, c, d]),
    switchTo() {},
  };
  d0.evtchn.tracer = tracer;
  d1.evtchn.tracer = tracer;
  const gp = d1.evtchn.allocUnbound(DOMID_SELF, 0);
  const bp = d0.evtchn.bindInterdomain(1, gp);
  recs.length = 0;
  d0.evtchn.send(bp);
  assert.deepEqual(recs, [
    [0x00808001, 4, 0, bp, 1, gp],
    [0x00808002, 3, 1, 0, gp, 0],
  ]);
  recs.length = 0;
  d1.evtchn.send(77);
  assert.deepEqual(recs, [[0x00808003, 4, 1, 4, 77, 22]]);
});

Deno.test("SharedInfoView.setVcpuInfo() redirects delivery to a registered vcpu_info", () => {
  const { w, d1 } = world();
  const frame = w.allocFrame(1);
  const maddr = frame * 4096 + 128;
  d1.evtchn.shared.setVcpuInfo(1, maddr);
  const p = d1.evtchn.bindIpi(1);
  d1.evtchn.send(p);
  assert.equal(w.mem.u8[maddr], 1, "upcall_pending in the new vcpu_info");
  assert.equal(w.mem.dv.getUint32(maddr + 4, true), 1, "pending_sel in the new vcpu_info");
  const legacy = d1.sharedMfn * 4096 + 64;
  assert.equal(w.mem.u8[legacy], 0, "the legacy slot is untouched");
  assert.throws(() => d1.evtchn.shared.setVcpuInfo(1, frame * 4096 + 4090));
});

Deno.test("EventChannels writes a debug line naming each rejected operation", () => {
  const { d1 } = world();
  const lines: string[] = [];
  d1.evtchn.debug = (m) => lines.push(m);
  d1.evtchn.send(9);
  d1.evtchn.bindVirq(VIRQ_TIMER, 0);
  assert.deepEqual(lines, ["d1 EVTCHNOP_send(9): error -22"]);
});
