/**
 * guest/default_guest.ts: what `pvx boot` with no image boots, and with which command line.
 * @module
 */
import { deepStrictEqual } from "node:assert/strict";
import { defaultGuestCmdline, readDefaultGuest } from "../../lib/toolstack/default_guest.ts";

Deno.test("defaultGuestCmdline() selects selftest without a terminal and the shell with one", () => {
  deepStrictEqual(defaultGuestCmdline(false), "selftest");
  deepStrictEqual(defaultGuestCmdline(true), "");
  deepStrictEqual(defaultGuestCmdline(false, "init=spin"), "selftest init=spin");
  deepStrictEqual(defaultGuestCmdline(true, "init=spin"), "init=spin");
});

Deno.test("readDefaultGuest() returns the committed ELF32 image", async () => {
  const img = await readDefaultGuest();
  deepStrictEqual([...img.subarray(0, 5)], [0x7f, 0x45, 0x4c, 0x46, 1]);
  deepStrictEqual(img, await Deno.readFile(new URL("../../guest/pvx-guest.elf", import.meta.url)));
});
