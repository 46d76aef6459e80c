/**
 * Where XTF (Xen's test suite, prebuilt with its xl configs) is: `<repo>/../shared/xtf`
 * (CI copies shared/ beside the clone), else `$PVX_XTF_DIR`, else `/work/shared/xtf`.
 * @module
 */

/** The XTF directory, or why there is none. */
export interface XtfDir {
  /** The directory holding pv32pae/ (and pv64/), or null. */
  path: string | null;
  /** Why no directory was taken (for the ignored tests' names). */
  reason: string;
}

function isDir(p: string): boolean {
  try {
    return Deno.statSync(p).isDirectory;
  } catch {
    return false;
  }
}

/** Finds the XTF directory (each candidate must hold pv32pae/). */
export function xtfDir(): XtfDir {
  const repo = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
  const tried: string[] = [];
  const candidates: [string | undefined, string][] = [
    [`${repo}/../shared/xtf`, "../shared/xtf"],
    [Deno.env.get("PVX_XTF_DIR"), "$PVX_XTF_DIR"],
    ["/work/shared/xtf", "/work/shared/xtf"],
  ];
  for (const [p, label] of candidates) {
    if (p === undefined) {
      tried.push(`${label} unset`);
      continue;
    }
    if (isDir(`${p}/pv32pae`)) return { path: p, reason: "" };
    tried.push(`${label} has no pv32pae/`);
  }
  return { path: null, reason: `XTF not found: ${tried.join(", ")}` };
}
