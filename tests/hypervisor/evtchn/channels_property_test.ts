import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DOMID_SELF,
  ECS_FREE,
  ECS_INTERDOMAIN,
  ECS_RESERVED,
  ECS_UNBOUND,
  ECS_VIRQ,
  type EventChannels,
  NR_VIRQS,
} from "../../../lib/hypervisor/evtchn/mod.ts";
import { TestWorld } from "../../../lib/hypervisor/gnttab/testing.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
const RUNS = FULL ? 3000 : 150;
const PORTS = 6; // ops aim at low ports so that they collide often
const ERRNOS = new Set([-1, -2, -3, -16, -17, -22, -28, -38]);

type Op =
  | { k: "alloc"; by: number; dom: number; remote: number }
  | { k: "bind"; by: number; rdom: number; rport: number }
  | { k: "connect"; by: number; rdom: number; idx: number } // bind to an offered port
  | { k: "virq"; by: number; virq: number; vcpu: number }
  | { k: "ipi"; by: number; vcpu: number }
  | { k: "close"; by: number; port: number }
  | { k: "send"; by: number; port: number }
  | { k: "unmask"; by: number; port: number }
  | { k: "mask"; by: number; port: number }
  | { k: "handle"; by: number } // the guest's upcall handler clears everything pending
  | { k: "bindvcpu"; by: number; port: number; vcpu: number }
  | { k: "reset"; by: number; dom: number };

const dom = fc.constantFrom(0, 1, 2);
const anyDom = fc.constantFrom(0, 1, 2, 7, DOMID_SELF);
const port = fc.integer({ min: -1, max: PORTS });
const vcpu = fc.integer({ min: -1, max: 2 });
const often = <T>(arbitrary: fc.Arbitrary<T>) => ({ arbitrary, weight: 8 });
const op: fc.Arbitrary<Op> = fc.oneof(
  often(fc.record({ k: fc.constant("alloc" as const), by: dom, dom: anyDom, remote: anyDom })),
  often(fc.record({ k: fc.constant("bind" as const), by: dom, rdom: anyDom, rport: port })),
  often(fc.record({ k: fc.constant("connect" as const), by: dom, rdom: dom, idx: fc.nat(3) })),
  often(fc.record({
    k: fc.constant("virq" as const),
    by: dom,
    virq: fc.integer({ min: -1, max: NR_VIRQS }),
    vcpu,
  })),
  often(fc.record({ k: fc.constant("ipi" as const), by: dom, vcpu })),
  often(fc.record({ k: fc.constant("close" as const), by: dom, port })),
  often(fc.record({ k: fc.constant("send" as const), by: dom, port })),
  often(fc.record({ k: fc.constant("send" as const), by: dom, port })),
  often(fc.record({ k: fc.constant("unmask" as const), by: dom, port })),
  often(fc.record({ k: fc.constant("mask" as const), by: dom, port: fc.nat(PORTS) })),
  often(fc.record({ k: fc.constant("handle" as const), by: dom })),
  often(fc.record({ k: fc.constant("bindvcpu" as const), by: dom, port, vcpu })),
  { arbitrary: fc.record({ k: fc.constant("reset" as const), by: dom, dom: anyDom }), weight: 1 },
);

function snapshot(t: EventChannels): string {
  const parts: number[] = [];
  for (let p = 0; p < PORTS + 2; p++) {
    parts.push(t.state(p), t.notifyVcpu(p), t.remoteDom(p), t.remotePort(p), t.virqOf(p));
  }
  return parts.join(",");
}

function apply(w: TestWorld, t: EventChannels, o: Op): number {
  switch (o.k) {
    case "connect": {
      const r = w.domains.get(o.rdom)!.evtchn;
      const offered: number[] = [];
      for (let p = 1; p < 100; p++) {
        if (r.state(p) === ECS_UNBOUND && r.remoteDom(p) === t.domid) offered.push(p);
      }
      return t.bindInterdomain(o.rdom, offered.length ? offered[o.idx % offered.length] : o.idx);
    }
    case "alloc":
      return t.allocUnbound(o.dom, o.remote);
    case "bind":
      return t.bindInterdomain(o.rdom, o.rport);
    case "virq":
      return t.bindVirq(o.virq, o.vcpu);
    case "ipi":
      return t.bindIpi(o.vcpu);
    case "close":
      return t.close(o.port);
    case "send":
      return t.send(o.port);
    case "unmask":
      return t.unmask(o.port);
    case "mask":
      t.shared.testAndSetMask(o.port);
      return 0;
    case "handle":
      for (let v = 0; v < t.vcpus; v++) {
        t.shared.setUpcallPending(v, 0);
        t.shared.takePendingSel(v);
      }
      for (let p = 0; p <= PORTS; p++) t.shared.testAndClearPending(p);
      return 0;
    case "bindvcpu":
      return t.bindVcpu(o.port, o.vcpu);
    case "reset":
      return t.reset(o.dom);
  }
}

function checkInvariants(w: TestWorld): void {
  for (const [id, d] of w.domains) {
    const t = d.evtchn;
    assert.equal(t.state(0), ECS_RESERVED, `d${id} port 0 stays reserved`);
    for (let p = 1; p < 100; p++) { // ops never reach higher ports
      const st = t.state(p);
      if (st === ECS_INTERDOMAIN) {
        // Both ends agree: no port is half-connected or connected twice.
        const r = w.domains.get(t.remoteDom(p))!.evtchn;
        const rp = t.remotePort(p);
        assert.equal(r.state(rp), ECS_INTERDOMAIN, `d${id}:${p} peer state`);
        assert.equal(r.remoteDom(rp), id);
        assert.equal(r.remotePort(rp), p);
      } else if (st === ECS_VIRQ) {
        let owners = 0;
        for (let v = 0; v < t.vcpus; v++) if (t.virqPort(v, t.virqOf(p)) === p) owners++;
        assert.equal(owners, 1, `d${id}:${p} is bound to exactly one (vcpu, virq)`);
      } else if (st === ECS_FREE) {
        assert.equal(t.notifyVcpu(p), 0, "free ports notify vcpu 0 when reused");
      } else {
        assert.ok(st === ECS_UNBOUND || st === 6, `d${id}:${p} unexpected state ${st}`);
      }
      assert.ok(t.notifyVcpu(p) < t.vcpus);
    }
    for (let v = 0; v < t.vcpus; v++) {
      for (let q = 0; q < NR_VIRQS; q++) {
        const p = t.virqPort(v, q);
        if (p !== 0) {
          assert.equal(t.state(p), ECS_VIRQ);
          assert.equal(t.virqOf(p), q);
        }
      }
      // An unmasked pending port on a word whose selector bit is clear can only come
      // from the guest's own handler; the hypervisor never leaves upcall_pending set
      // without a selector bit, except after the guest cleared the selector itself.
      assert.ok(t.shared.upcallPending(v) <= 1);
    }
  }
}

Deno.test("EventChannels keep both ends consistent and reject without mutating under random ops", () => {
  const succeeded = new Map<string, number>();
  fc.assert(
    fc.property(fc.array(op, { minLength: 30, maxLength: 80 }), (ops) => {
      const w = new TestWorld(64);
      w.addDomain(0, { privileged: true });
      w.addDomain(1, { vcpus: 2 });
      w.addDomain(2);
      for (const o of ops) {
        const t = w.domains.get(o.by)!.evtchn;
        const before = [...w.domains.values()].map((d) => snapshot(d.evtchn)).join("|");
        const kicks = w.kicks.length;
        const r = apply(w, t, o);
        assert.ok(Number.isInteger(r));
        if (r >= 0) succeeded.set(o.k, (succeeded.get(o.k) ?? 0) + 1);
        if (r < 0) {
          assert.ok(ERRNOS.has(r), `unexpected errno ${r} for ${JSON.stringify(o)}`);
          const after = [...w.domains.values()].map((d) => snapshot(d.evtchn)).join("|");
          assert.equal(after, before, `a rejected ${o.k} changed a table`);
          assert.equal(w.kicks.length, kicks, "a rejected op raised an upcall");
        }
        // Every kick corresponds to an upcall_pending that is now set.
        for (const k of w.kicks.slice(kicks)) {
          const [d, v] = k.split(":").map(Number);
          assert.equal(w.domains.get(d)!.evtchn.shared.upcallPending(v), 1);
        }
        checkInvariants(w);
      }
    }),
    { numRuns: RUNS },
  );
  // The sequences reached the interesting paths, not just rejections.
  if (Deno.env.get("PVX_DEBUG")) console.log(succeeded);
  for (const k of ["alloc", "connect", "virq", "ipi", "close", "bindvcpu", "reset"]) {
    assert.ok((succeeded.get(k) ?? 0) > 0, `too few successful ${k}: ${succeeded.get(k)}`);
  }
});
