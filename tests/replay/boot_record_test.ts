/**
 * Acceptance: `pvx boot --record-rings` of pvx's own guest (selftest), 32-bit and 64-bit,
 * with a disk and a vif, then `pvx replay` of the recording: zero divergences on the
 * console, vbd and vif.
 * @module
 */
import assert from "node:assert/strict";
import { boot } from "../../lib/toolstack/boot.ts";
import { replayRecording as replay, type ReplayReport } from "../../lib/toolstack/replay.ts";
import { MemorySink } from "../../lib/console/testing.ts";
import { parseRecording } from "../../lib/replay/recording_format.ts";

const GUESTS = [
  { name: "a selftest boot", elf: "pvx-guest.elf", banner: /booting \(xen-3\.0-x86_32p\)/ },
  { name: "a 64-bit selftest boot", elf: "pvx-guest64.elf", banner: /booting \(xen-3\.0-x86_64\)/ },
];

for (const g of GUESTS) {
  Deno.test(`${g.name} recorded with --record-rings (disk and vif) replays with zero divergences`, () =>
    recordAndReplay(new URL(`../../guest/${g.elf}`, import.meta.url).pathname, g.banner));
}

async function recordAndReplay(IMAGE: string, banner: RegExp): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "pvx-bootrec-" });
  try {
    const img = new Uint8Array(1 << 20);
    for (let i = 0; i < img.length; i++) img[i] = (i * 31 + (i >> 9)) & 0xff;
    await Deno.writeFile(`${dir}/disk.img`, img);
    const sink = new MemorySink(1 << 20, 1 << 18);
    await boot({
      image: IMAGE,
      cmdline: "selftest",
      console: sink,
      noReboot: true,
      maxInstructions: 300_000_000, // the selftest needs ~100M; bounded in case it hangs
      log: () => {},
      disks: [`${dir}/disk.img`],
      nets: ["bridge=xenbr0"],
      recordRings: `${dir}/boot.rec`,
    });
    await sink.close();
    const text = sink.text();
    assert.match(text, banner, "the guest names its ABI");
    assert.match(text, /^PASS block I\/O$/m, text);
    assert.match(text, /^PASS network I\/O$/m, text);
    const rec = parseRecording(await Deno.readFile(`${dir}/boot.rec`));
    assert.deepEqual([...rec.streams.values()].map((s) => s.name), [
      "xenstore",
      "console",
      "vbd-51712",
      "vif-0",
    ]);
    assert.deepEqual(rec.disks.get(3), img); // the disk as it was before the boot
    const lines: string[] = [];
    const rc = await replay({ file: `${dir}/boot.rec`, json: true, print: (l) => lines.push(l) });
    const rep: ReplayReport = JSON.parse(lines.join("\n"));
    for (const r of rep.rings) {
      if (r.kind === "xenstore") {
        assert.ok(r.skipped);
        continue;
      }
      assert.deepEqual(r.divergences, [], r.ring);
      assert.ok(
        r.inputs > 5 && r.compared > 10,
        `${r.ring}: ${r.inputs} inputs, ${r.compared} compared`,
      );
    }
    assert.equal(rc, 0);
    // the same recording fuzzes all four rings (xenstore on an empty store) without a failure
    const fz: string[] = [];
    const fc = await replay({
      file: `${dir}/boot.rec`,
      fuzz: 800,
      seed: 2,
      print: (l) => fz.push(l),
    });
    assert.equal(fc, 0, fz.join("\n"));
    assert.match(fz.at(-1) ?? "", /800 mutations, no invariant broken$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
