/**
 * Property differential: random Xen notes (every elfnote.h type, unknown types, odd numeric
 * sizes, notes only in an SHT_NOTE section, other owners, a legacy `__xen_guest` string) in
 * synthetic ELF32/ELF64 images; pvx must report what Debian's readnotes prints.
 * @module
 */
import { ok, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import { inspectImage } from "../../lib/toolstack/image_summary.ts";
import { asciz, buildElf, leBytes, type NoteSpec } from "../hypervisor/builder/_elf_builder.ts";
import { readnotesPath } from "./_fixtures.ts";
import { compare, parseReadnotes, readnotes } from "./_readnotes.ts";

const READNOTES = readnotesPath();
const RUNS = Deno.env.get("PVX_FUZZ") === "full" ? 1500 : 120;

const STRING_TYPES = [0, 5, 6, 7, 8, 9, 10, 11];
const NUMERIC_TYPES = [1, 2, 3, 4, 12, 14, 15, 16, 17, 18];
const printable = fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, "x"));

const note: fc.Arbitrary<NoteSpec> = fc.oneof(
  fc.record({
    name: fc.constant("Xen"),
    type: fc.constantFrom(...STRING_TYPES),
    desc: printable.map(asciz),
  }),
  fc.record({
    name: fc.constant("Xen"),
    type: fc.constantFrom(...NUMERIC_TYPES),
    desc: fc.tuple(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(1, 2, 4, 8))
      .map(([v, n]) => leBytes(v & ((1n << BigInt(8 * n)) - 1n), n)),
  }),
  fc.record({
    name: fc.constant("Xen"),
    type: fc.constant(13),
    desc: fc.constantFrom(8, 16).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
  }),
  fc.record({
    name: fc.constant("Xen"),
    type: fc.integer({ min: 19, max: 0x3000000 }),
    desc: fc.uint8Array({ maxLength: 12 }),
  }),
  fc.record({
    name: fc.constantFrom("GNU", "Linux", "Xe"),
    type: fc.nat(20),
    desc: fc.uint8Array({ maxLength: 8 }),
  }),
);

Deno.test({
  name: `inspectImage() and readnotes agree on ${RUNS} random note sets`,
  ignore: READNOTES === null,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "pvx-rn-" });
  const file = `${dir}/k.elf`;
  let compared = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(32, 64) as fc.Arbitrary<32 | 64>,
        fc.array(note, { maxLength: 12 }),
        fc.boolean(),
        fc.option(printable, { nil: undefined }),
        async (bits, notes, sectionOnly, xenGuest) => {
          const bytes = buildElf({
            bits,
            entry: 0x1000n,
            segments: [{ vaddr: 0x1000n, paddr: 0x1000n, data: new Uint8Array(64) }],
            notes,
            notesInSectionOnly: sectionOnly,
            xenGuest,
          });
          await Deno.writeFile(file, bytes);
          const rn = await readnotes(READNOTES!, file);
          strictEqual(rn.code, 0, rn.text);
          compare(inspectImage(bytes, file), parseReadnotes(rn.text));
          compared++;
        },
      ),
      { numRuns: RUNS, seed: 5 },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  ok(compared >= RUNS);
});
