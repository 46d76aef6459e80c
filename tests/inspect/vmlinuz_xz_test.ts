import { ok, strictEqual } from "node:assert/strict";
import { readBzImageHeader, unwrapImage } from "../../lib/hypervisor/builder/unwrap.ts";
import { fixture } from "./_fixtures.ts";
import { toolAvailable } from "../hypervisor/builder/_compress.ts";

const path = fixture("vmlinuz");

Deno.test({
  name: "unwrapImage() extracts from Debian's vmlinuz the same bytes as the host's xz -d",
  ignore: path === null || !toolAvailable("xz"),
}, async () => {
  const bytes = await Deno.readFile(path!);
  const hdr = readBzImageHeader(bytes)!;
  const start = hdr.protectedModeOffset + hdr.payloadOffset;
  // the payload without Linux's 4-byte size trailer
  const payload = bytes.subarray(start, start + hdr.payloadLength - 4);
  const child = new Deno.Command("xz", { args: ["-dc"], stdin: "piped", stdout: "piped" }).spawn();
  const w = child.stdin.getWriter();
  const result = child.output();
  await w.write(payload);
  await w.close();
  const ref = (await result).stdout;
  const ours = unwrapImage(bytes).elf;
  strictEqual(ours.length, ref.length);
  let same = true;
  for (let i = 0; i < ref.length; i++) {
    if (ours[i] !== ref[i]) {
      same = false;
      break;
    }
  }
  ok(same, "decompressed bytes differ from xz -d");
});
