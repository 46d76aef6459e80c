/**
 * The FIFO event-channel ABI as a guest sees it in memory: event words (PENDING, MASKED,
 * LINKED, LINK), control blocks (READY, HEAD per priority), and Xen's rules for
 * init_control, expand_array and set_priority.
 */
import assert from "node:assert/strict";
import { PhysMemory } from "../../../lib/cpu/phys_memory.ts";
import { EventChannels, SharedInfoView } from "../../../lib/hypervisor/evtchn/mod.ts";
import {
  EVTCHN_FIFO_LINKED,
  EVTCHN_FIFO_MASKED,
  EVTCHN_FIFO_PENDING,
} from "../../../lib/abi/mod.ts";

const EINVAL = -22, ENOENT = -2, EOPNOTSUPP = -95;
const SHARED = 2, CB = 3, ARRAY = 4, ARRAY2 = 5;
const P = 1 << EVTCHN_FIFO_PENDING, M = 1 << EVTCHN_FIFO_MASKED, L = 1 << EVTCHN_FIFO_LINKED;

function setup(vcpus = 1) {
  const mem = new PhysMemory(16);
  const kicks: number[] = [];
  const mapped: number[] = [];
  const ev = new EventChannels({
    domid: 1,
    shared: new SharedInfoView(mem, SHARED, vcpus),
    hooks: { kick: (v) => kicks.push(v) },
    directory: { evtchn: () => undefined },
    fifoPages: {
      map: (gfn) => (gfn >= 3 && gfn < 16 ? (mapped.push(gfn), gfn * 4096) : -1),
      unmap: (maddr) => mapped.splice(mapped.indexOf(maddr / 4096), 1),
    },
  });
  const word = (port: number) => mem.dv.getUint32(ARRAY * 4096 + port * 4, true);
  const setWord = (port: number, v: number) => mem.dv.setUint32(ARRAY * 4096 + port * 4, v, true);
  const ready = () => mem.dv.getUint32(CB * 4096, true);
  const head = (prio: number) => mem.dv.getUint32(CB * 4096 + 8 + prio * 4, true);
  const upcall = () => mem.u8[SHARED * 4096];
  return { mem, ev, kicks, mapped, word, setWord, ready, head, upcall };
}

Deno.test("init_control checks vcpu, offset and frame; a failure leaves the 2-level ABI", () => {
  const { ev } = setup();
  assert.equal(ev.initControl(CB, 0, 1), ENOENT);
  assert.equal(ev.initControl(CB, 4096 - 64, 0), EINVAL, "crosses the page");
  assert.equal(ev.initControl(CB, 4, 0), EINVAL, "not 8-byte aligned");
  assert.equal(ev.initControl(2 ** 40, 0, 0), EINVAL, "no such frame");
  assert.equal(ev.fifo, false);
  assert.equal(ev.expandArray(ARRAY), EOPNOTSUPP);
  assert.equal(ev.initControl(CB, 0, 0), 0);
  assert.equal(ev.fifo, true);
  assert.equal(ev.initControl(CB, 0, 0), EINVAL, "mapped twice");
});

Deno.test("events pending before their array page are raised when it is added", () => {
  const { ev, kicks, word, ready, head, upcall } = setup();
  assert.equal(ev.initControl(CB, 0, 0), 0);
  const p = ev.bindIpi(0);
  assert.equal(ev.send(p), 0);
  assert.equal(ev.isPending(p), true);
  assert.deepEqual(kicks, []);
  assert.equal(ev.expandArray(ARRAY), 0);
  assert.equal(word(p), (P | L) >>> 0);
  assert.equal(head(7), p, "default priority 7");
  assert.equal(ready(), 1 << 7);
  assert.equal(upcall(), 1);
  assert.deepEqual(kicks, [0]);
});

Deno.test("a second event links behind the tail; a consumed tail starts a new queue", () => {
  const { ev, kicks, word, setWord, ready, head, mem } = setup();
  ev.initControl(CB, 0, 0);
  ev.expandArray(ARRAY);
  const a = ev.bindIpi(0), b = ev.bindIpi(0), c = ev.bindIpi(0);
  ev.send(a);
  ev.send(b);
  assert.equal(head(7), a);
  assert.equal(word(a), (P | L | b) >>> 0, "a links to b");
  assert.equal(word(b), (P | L) >>> 0);
  assert.deepEqual(kicks, [0], "one upcall for the queue becoming ready");
  // The guest consumes both: clears PENDING and LINKED, empties HEAD and READY.
  setWord(a, 0);
  setWord(b, 0);
  mem.dv.setUint32(CB * 4096, 0, true);
  mem.dv.setUint32(CB * 4096 + 8 + 7 * 4, 0, true);
  mem.u8[SHARED * 4096] = 0; // evtchn_upcall_pending
  ev.send(c);
  assert.equal(head(7), c, "the old tail is unlinked: c heads the queue");
  assert.equal(ready(), 1 << 7);
  assert.deepEqual(kicks, [0, 0]);
  assert.equal(ev.send(c), 0);
  assert.equal(word(c), (P | L) >>> 0, "sending a linked event does not relink it");
});

Deno.test("a masked event is only marked pending; unmask links it", () => {
  const { ev, kicks, word, setWord, head } = setup();
  ev.initControl(CB, 0, 0);
  ev.expandArray(ARRAY);
  const p = ev.bindIpi(0);
  setWord(p, M);
  ev.send(p);
  assert.equal(word(p), (P | M) >>> 0);
  assert.equal(head(7), 0);
  assert.equal(ev.unmask(p), 0);
  assert.equal(word(p), (P | L) >>> 0);
  assert.equal(head(7), p);
  assert.deepEqual(kicks, [0]);
});

Deno.test("set_priority picks the queue; close clears PENDING but not LINKED", () => {
  const { ev, word, head, ready } = setup();
  ev.initControl(CB, 0, 0);
  ev.expandArray(ARRAY);
  const p = ev.bindIpi(0);
  assert.equal(ev.setPriority(p, 16), EINVAL);
  assert.equal(ev.setPriority(p, 3), 0);
  ev.send(p);
  assert.equal(head(3), p);
  assert.equal(ready(), 1 << 3);
  assert.equal(ev.close(p), 0);
  assert.equal(word(p), L >>> 0);
  assert.equal(ev.isPending(p), false);
});

Deno.test("2-level pending bits carry over; a bad array frame is refused; reset leaves FIFO", () => {
  const { ev, mem, word, head, mapped } = setup();
  const p = ev.bindIpi(0);
  mem.u8[SHARED * 4096 + 2048] |= 1 << p; // evtchn_pending bit set under the 2-level ABI
  ev.initControl(CB, 0, 0);
  ev.expandArray(ARRAY);
  assert.equal(word(p), (P | L) >>> 0);
  assert.equal(head(7), p);
  assert.equal(ev.expandArray(99), EINVAL);
  assert.equal(ev.expandArray(ARRAY2), 0);
  assert.deepEqual(mapped.sort(), [CB, ARRAY, ARRAY2]);
  assert.equal(ev.reset(1), 0);
  assert.equal(ev.fifo, false);
  assert.deepEqual(mapped, [], "every page given back");
});
