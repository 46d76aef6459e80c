/**
 * Test helper: the real images `.ci/setup.d/inspect.sh` fetches into
 * tests/fixtures/cache/inspect, and Debian's `readnotes` (xen-utils-4.17).
 * @module
 */

/** The fixture directory (git-ignored). */
export const FIXTURE_DIR = new URL("../fixtures/cache/inspect/", import.meta.url).pathname;

/** The real images, by file name. */
export const REAL_IMAGES = [
  "grub-i386-xen.bin",
  "grub-x86_64-xen.bin",
  "grub-i386-xen_pvh.bin",
  "gnumach-xen-486.gz",
  "vmlinuz",
] as const;

/**
 * Path of a fixture, or null (with a warning naming the set-up script) when absent.
 * @param name a file name of {@link REAL_IMAGES}
 * @returns the path or null
 */
export function fixture(name: string): string | null {
  const path = FIXTURE_DIR + name;
  try {
    Deno.statSync(path);
    return path;
  } catch {
    console.warn(`skipped: fixture ${name} absent; run bash .ci/setup.d/inspect.sh`);
    return null;
  }
}

/**
 * Path of Debian's readnotes, or null when xen-utils-4.17 is not installed.
 * @returns the path or null
 */
export function readnotesPath(): string | null {
  for (const v of ["4.17", "4.19", "4.16", "4.14"]) {
    const p = `/usr/lib/xen-${v}/bin/readnotes`;
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch {
      // try the next version
    }
  }
  console.warn("skipped: readnotes absent; apt-get install xen-utils-4.17 (.ci/apt.d/inspect.txt)");
  return null;
}
