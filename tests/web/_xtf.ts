/**
 * Where the prebuilt XTF tests are: `PVX_XTF_DIR`, else `../shared/xtf` beside the
 * repository (CI's layout), else /work/shared/xtf (a worktree's).
 * @module
 */

/** The XTF folder (with pv32pae/), or null when absent. */
export function xtfDir(): string | null {
  const env = Deno.env.get("PVX_XTF_DIR");
  const candidates = [
    ...(env ? [env] : []),
    new URL("../../../shared/xtf", import.meta.url).pathname,
    "/work/shared/xtf",
  ];
  for (const c of candidates) {
    try {
      if (Deno.statSync(`${c}/pv32pae/test-pv32pae-example`).isFile) return c;
    } catch {
      // not here
    }
  }
  return null;
}
