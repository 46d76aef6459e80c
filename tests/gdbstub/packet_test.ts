import assert from "node:assert/strict";

const assertEquals = (a: unknown, b: unknown) => assert.deepStrictEqual(a, b);
import {
  encodePacket,
  escapeBinary,
  MAX_PACKET,
  PacketDecoder,
  unescapeBinary,
  type WireEvent,
} from "../../lib/gdbstub/packet.ts";
import { fromHex, leBytes, leValue, parseHexNumber, toHex } from "../../lib/gdbstub/hex.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function text(ev: WireEvent): string {
  return ev.kind === "packet" ? `${ev.ok ? "" : "BAD:"}${dec.decode(ev.payload)}` : ev.kind;
}

Deno.test("packet: frames with the checksum gdb computes ($g#67, $OK#9a)", () => {
  assertEquals(dec.decode(encodePacket("g")), "$g#67");
  assertEquals(dec.decode(encodePacket("OK")), "$OK#9a");
  assertEquals(dec.decode(encodePacket("")), "$#00");
});

Deno.test("packet: decodes acks, interrupts, packets split at every byte", () => {
  const pk = (s: string) => dec.decode(encodePacket(s));
  const wire = enc.encode(`+${pk("qSupported:swbreak+")}-\x03junk${pk("m0,4")}+`);
  for (let cut = 0; cut <= wire.length; cut++) {
    const d = new PacketDecoder();
    const evs = [...d.push(wire.subarray(0, cut)), ...d.push(wire.subarray(cut))];
    assertEquals(evs.map(text), [
      "ack",
      "qSupported:swbreak+",
      "nack",
      "interrupt",
      "m0,4",
      "ack",
    ]);
    assert(!d.midPacket);
  }
});

Deno.test("packet: a bad checksum is reported, not trusted", () => {
  const d = new PacketDecoder();
  assertEquals(d.push(enc.encode("$g#00$g#zz$g#67")).map(text), ["BAD:g", "BAD:g", "g"]);
});

Deno.test("packet: an oversized packet is dropped and reported once, the next one decodes", () => {
  const d = new PacketDecoder(16);
  const big = "$" + "a".repeat(1000) + "#00";
  assertEquals(d.push(enc.encode(big + "$g#67")).map(text), ["overflow", "g"]);
});

Deno.test("packet: a '$' inside a packet restarts it (a cut-short packet is dropped)", () => {
  const d = new PacketDecoder();
  assertEquals(d.push(enc.encode("$m0,4$g#67")).map(text), ["g"]);
  d.push(enc.encode("$m0,"));
  assert(d.midPacket);
});

Deno.test("packet: binary escapes round-trip and frame safely", () => {
  const all = new Uint8Array(256).map((_, i) => i);
  const esc = escapeBinary(all);
  assertEquals(esc.length, 256 + 4);
  assertEquals(unescapeBinary(esc), all);
  assertEquals(unescapeBinary(new Uint8Array([1, 0x7d])), null);
  const d = new PacketDecoder();
  const evs = d.push(encodePacket(all));
  assertEquals(evs.length, 1);
  const ev = evs[0];
  assert(ev.kind === "packet" && ev.ok);
  assertEquals(unescapeBinary(ev.payload), all);
});

Deno.test("hex: helpers reject malformed input", () => {
  assertEquals(fromHex("0aFf"), new Uint8Array([10, 255]));
  assertEquals(fromHex("0"), null);
  assertEquals(fromHex("zz"), null);
  assertEquals(parseHexNumber("ffffffff80000000"), 0xffffffff80000000n);
  assertEquals(parseHexNumber("1".repeat(17)), null);
  assertEquals(parseHexNumber(""), null);
  assertEquals(parseHexNumber("-1"), null);
  assertEquals(toHex(leBytes(0x1122334455667788n, 8)), "8877665544332211");
  assertEquals(leValue(leBytes(0xfedcba9876543210n, 8)), 0xfedcba9876543210n);
});

Deno.test("packet: random bytes never throw and never grow past the limit", () => {
  const rounds = Deno.env.get("PVX_FUZZ") === "full" ? 200_000 : 5_000;
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const d = new PacketDecoder(64);
  const alphabet = enc.encode("$#+-}\x03ab01*");
  for (let i = 0; i < rounds; i++) {
    const n = Math.floor(rnd() * 40);
    const b = new Uint8Array(n);
    for (let j = 0; j < n; j++) {
      b[j] = rnd() < 0.7 ? alphabet[Math.floor(rnd() * alphabet.length)] : rnd() * 256;
    }
    for (const ev of d.push(b)) {
      if (ev.kind === "packet") assert(ev.payload.length <= 64);
    }
  }
  assert(MAX_PACKET >= 4096);
});
