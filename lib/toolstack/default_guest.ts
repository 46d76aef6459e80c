/**
 * The default guest of `pvx boot` (no image given): pvx's own kernel, and the command line
 * it gets: `selftest` when the console is not a terminal (one PASS/FAIL line per area,
 * then poweroff or crash, so the exit code carries the result), the shell otherwise.
 * @module
 */

/** Where the committed image lives (also inside a `deno compile --include guest/` binary). */
export const DEFAULT_GUEST_IMAGE: URL = new URL("../../guest/pvx-guest.elf", import.meta.url);

/**
 * The default guest's command line.
 * @param interactive whether the console is a terminal (`Deno.stdin.isTerminal()`)
 * @param extra a user `--cmdline`, appended
 * @returns "selftest" for non-interactive runs, "" (the shell) otherwise, plus `extra`
 */
export function defaultGuestCmdline(interactive: boolean, extra = ""): string {
  return [interactive ? "" : "selftest", extra].filter((s) => s !== "").join(" ");
}

/**
 * Reads the default guest image.
 * @returns the ELF bytes
 * @throws Deno.errors.NotFound when the image is missing (a tree without guest/)
 */
export async function readDefaultGuest(): Promise<Uint8Array> {
  return await Deno.readFile(DEFAULT_GUEST_IMAGE);
}
