import { deepStrictEqual, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import {
  canonicalize,
  isChildOf,
  parentOf,
  relativeTo,
} from "../../../lib/hypervisor/xenstore/path.ts";
import { accessFor, parsePerm } from "../../../lib/hypervisor/xenstore/permissions.ts";
import {
  decodeMessages,
  encodeMessage,
  MessageFramer,
  nulStrings,
  splitFields,
  XS_READ,
  XSD_ERRORS,
} from "../../../lib/hypervisor/xenstore/wire.ts";

Deno.test("XSD_ERRORS keeps xs_wire.h's order", () => {
  deepStrictEqual(XSD_ERRORS.slice(0, 3), ["EINVAL", "EACCES", "EEXIST"]);
  strictEqual(XSD_ERRORS[XSD_ERRORS.length - 1], "EPERM");
  strictEqual(XSD_ERRORS.length, 16);
});

Deno.test("encodeMessage() writes a little-endian xsd_sockmsg header", () => {
  const b = encodeMessage(XS_READ, 0x01020304, 7, nulStrings("/a"));
  deepStrictEqual([...b.subarray(0, 16)], [2, 0, 0, 0, 4, 3, 2, 1, 7, 0, 0, 0, 3, 0, 0, 0]);
});

Deno.test("MessageFramer reassembles any split of a message stream", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(30), fc.uint8Array({ maxLength: 300 })), { maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
      (msgs, cuts) => {
        const encoded = msgs.map(([t, p], i) => encodeMessage(t, i, 0, p));
        const stream = new Uint8Array(encoded.reduce((n, e) => n + e.length, 0));
        let o = 0;
        for (const e of encoded) {
          stream.set(e, o);
          o += e.length;
        }
        const f = new MessageFramer();
        const got: number[] = [];
        let pos = 0;
        let k = 0;
        while (pos < stream.length) {
          const end = Math.min(stream.length, pos + cuts[k++ % cuts.length]);
          let chunk = stream.subarray(pos, end);
          pos = end;
          while (chunk.length > 0) {
            chunk = chunk.subarray(f.push(chunk));
            const r = f.next();
            if (r.kind === "message") got.push(r.msg.reqId);
          }
        }
        deepStrictEqual(got, msgs.map((_, i) => i));
        deepStrictEqual(decodeMessages(stream).msgs.map((m) => m.reqId), got);
      },
    ),
  );
});

Deno.test("MessageFramer reports an oversized header without buffering the payload", () => {
  const f = new MessageFramer();
  const hdr = new Uint8Array(16);
  new DataView(hdr.buffer).setUint32(12, 4097, true);
  strictEqual(f.push(hdr), 16);
  deepStrictEqual(f.next(), { kind: "oversized", len: 4097 });
  strictEqual(f.wanted(), 0);
});

Deno.test("splitFields() separates terminated fields from an unterminated rest", () => {
  const { fields, rest } = splitFields(new Uint8Array([97, 0, 0, 98]));
  deepStrictEqual(fields.map((f) => [...f]), [[97], []]);
  deepStrictEqual([...rest], [98]);
});

Deno.test("canonicalize() resolves relative paths and rejects bad ones", () => {
  strictEqual(canonicalize("device/vbd", 5), "/local/domain/5/device/vbd");
  strictEqual(canonicalize("/", 5), "/");
  strictEqual(canonicalize("@releaseDomain", 0, true), "@releaseDomain");
  for (const bad of ["", "a/../b", "/a/", "//", "a b", "/x@y", "@a/b"]) {
    let threw = false;
    try {
      canonicalize(bad, 1, true);
    } catch {
      threw = true;
    }
    strictEqual(threw, true, bad);
  }
});

Deno.test("path helpers: parentOf, isChildOf, relativeTo", () => {
  strictEqual(parentOf("/a/b"), "/a");
  strictEqual(parentOf("/a"), "/");
  strictEqual(isChildOf("/a/b", "/a"), true);
  strictEqual(isChildOf("/ab", "/a"), false);
  strictEqual(isChildOf("/x", "/"), true);
  strictEqual(relativeTo("/local/domain/2/x", 2), "x");
  strictEqual(relativeTo("/local/domain/20/x", 2), "/local/domain/20/x");
});

Deno.test("accessFor() applies owner, per-domain and default entries", () => {
  const perms = [parsePerm("r1"), parsePerm("w2"), parsePerm("n3")];
  const who = (domid: number) => ({ domid, privileged: false, target: -1 });
  strictEqual(accessFor(who(1), perms) & 3, 3, "owner");
  strictEqual(accessFor(who(2), perms), 2, "explicit write");
  strictEqual(accessFor(who(3), perms), 0, "explicit none");
  strictEqual(accessFor(who(9), perms), 1, "default read");
  strictEqual(accessFor({ domid: 9, privileged: false, target: 1 }, perms) & 3, 3, "target");
  strictEqual(accessFor({ domid: 9, privileged: true, target: -1 }, perms) & 3, 3, "dom0");
});
