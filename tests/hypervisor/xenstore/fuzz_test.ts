import { ok, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { baseName, parentOf } from "../../../lib/hypervisor/xenstore/path.ts";
import type { XenStore } from "../../../lib/hypervisor/xenstore/store.ts";
import { makeXenstoreRig, memoryConnection } from "../../../lib/hypervisor/xenstore/testing.ts";
import {
  encodeMessage,
  nulStrings,
  utf8,
  XS_TYPE_COUNT,
} from "../../../lib/hypervisor/xenstore/wire.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";

/** Every node's parent exists and lists it; every listed child exists. */
function checkTree(store: XenStore): void {
  for (const [path, node] of store.live.nodes) {
    if (path !== "/") {
      const parent = store.live.get(parentOf(path));
      ok(parent, `parent of ${path} missing`);
      ok(parent.children.includes(baseName(path)), `${path} not listed by its parent`);
    }
    for (const c of node.children) {
      ok(store.live.get(path === "/" ? `/${c}` : `${path}/${c}`), `${path}/${c} listed, absent`);
    }
  }
}

const pathArb = fc.oneof(
  fc.constantFrom("/", "/a", "/a/b", "name", "data/x", "/local/domain/1/data", "@releaseDomain"),
  fc.stringMatching(/^[a-z/@.]{0,12}$/),
);

/** A message that is mostly well-formed: a real type and plausible arguments. */
const wellFormed = fc.record({
  type: fc.integer({ min: 0, max: XS_TYPE_COUNT + 1 }),
  tx: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4 })),
  args: fc.array(fc.oneof(pathArb, fc.constantFrom("T", "F", "n1", "b0", "r2", "1", "0")), {
    maxLength: 4,
  }),
}).map(({ type, tx, args }) => encodeMessage(type, 1, tx, nulStrings(...args)));

/** A valid message with random bytes flipped, cut short or extended. */
const mutated = fc.tuple(wellFormed, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 6 }))
  .map(([m, flips]) => {
    const b = m.slice();
    for (const [i, v] of flips) b[i % b.length] = v;
    return b;
  });

const raw = fc.uint8Array({ maxLength: 200 });

Deno.test("XsConnection answers random and mutated messages without throwing", () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(wellFormed, mutated), { maxLength: 30 }), fc.boolean(), (
      msgs,
      privileged,
    ) => {
      const rig = makeXenstoreRig(1);
      const c = memoryConnection(rig.store, privileged ? 0 : 1, privileged);
      for (const m of msgs) {
        const dv = new DataView(m.buffer, m.byteOffset);
        const len = Math.min(dv.getUint32(12, true), m.length - 16);
        const replies = c.call(dv.getUint32(0, true), m.slice(16, 16 + len), dv.getUint32(8, true));
        // exactly one reply (plus possible watch events) per request
        strictEqual(replies.filter((r) => r.reqId !== 0 || r.type !== 15).length, 1);
      }
      strictEqual(c.conn.stats.internalErrors, 0);
      checkTree(rig.store);
    }),
    { numRuns: FULL ? 20000 : 300 },
  );
});

Deno.test("XenstoreRingBackend survives random bytes and indices on the ring", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(wellFormed, mutated, raw), { maxLength: 20 }),
      fc.option(fc.tuple(fc.integer({ min: 2048, max: 2075 }), fc.nat()), { nil: undefined }),
      (chunks, poke) => {
        const rig = makeXenstoreRig(1);
        for (const ch of chunks) {
          rig.ring.writeRaw(ch);
          rig.run();
          rig.ring.receive();
        }
        if (poke) {
          rig.ring.setU32(poke[0] & ~3, poke[1]);
          rig.guest.notify(1);
          rig.run();
        }
        strictEqual(rig.backend.connection.stats.internalErrors, 0);
        ok(rig.host.canariesIntact());
        checkTree(rig.store);
        // the store still works for dom0
        rig.store.write("/after/fuzz", "ok");
        strictEqual(rig.store.read("/after/fuzz"), "ok");
      },
    ),
    { numRuns: FULL ? 5000 : 150 },
  );
});

Deno.test("a guest cannot read or change dom0's nodes whatever it sends", () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(wellFormed, mutated), { maxLength: 40 }), (msgs) => {
      const rig = makeXenstoreRig(1);
      rig.store.write("/local/domain/0/secret", "s");
      rig.store.write("/vm/x", "v");
      const before = [...rig.store.live.nodes.keys()].filter((p) =>
        !p.startsWith("/local/domain/1")
      );
      const c = memoryConnection(rig.store, 1, false);
      for (const m of msgs) {
        const dv = new DataView(m.buffer, m.byteOffset);
        const len = Math.min(dv.getUint32(12, true), m.length - 16);
        for (const r of c.call(dv.getUint32(0, true), m.slice(16, 16 + len))) {
          // the only node holding "s" is dom0's secret: a READ reply must never carry it
          ok(!(r.type === 2 && new TextDecoder().decode(r.payload) === "s"), "secret leaked");
        }
      }
      strictEqual(rig.store.read("/local/domain/0/secret"), "s");
      for (const p of before) ok(rig.store.live.get(p), `${p} removed by a guest`);
      c.call(11, utf8("/local/domain/0/secret\0x"));
      strictEqual(rig.store.read("/local/domain/0/secret"), "s");
    }),
    { numRuns: FULL ? 5000 : 150 },
  );
});

Deno.test("serveXenstoreSocket survives random byte streams from clients", async () => {
  const { serveXenstoreSocket } = await import("../../../lib/toolstack/xenstore_socket.ts");
  const { connectXsSocket } = await import("./_socket.ts");
  const rig = makeXenstoreRig(1);
  const sock = Deno.makeTempDirSync({ prefix: "pvx-xs-" }) + "/fuzz.sock";
  const srv = await serveXenstoreSocket(rig.store, sock);
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(wellFormed, mutated, raw), { maxLength: 10 }), async (
        chunks,
      ) => {
        const c = await connectXsSocket(sock);
        for (const ch of chunks) await c.writeRaw(ch).catch(() => {});
        c.close();
        const good = await connectXsSocket(sock);
        const r = await good.call(2, nulStrings("/tool"));
        good.close();
        ok(r !== null && r.type === 2);
      }),
      { numRuns: FULL ? 1000 : 40 },
    );
    checkTree(rig.store);
  } finally {
    await srv.close();
  }
});
