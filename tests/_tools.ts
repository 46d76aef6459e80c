/**
 * Which host tools and fixture images the tests can use, and the one way a test that
 * needs a missing one is named: "... (ignored: WHY)" with `ignore: true`, so that it is
 * reported as ignored with the reason, never counted as passed.
 */

/** Whether a file exists (sync, for top-level flags). */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** tshark (Debian's tshark package). */
export const HAVE_TSHARK: boolean = exists("/usr/bin/tshark");
/** xenalyze (xen-utils-common). */
export const HAVE_XENALYZE: boolean = exists("/usr/bin/xenalyze");

/**
 * A test or step definition that is ignored, with the reason in its name, when a
 * requirement is missing.
 * @param name the test's name
 * @param missing the reasons it cannot run (e.g. "tshark missing"); none: it runs
 */
export function needs(name: string, ...missing: (string | false | undefined)[]): {
  name: string;
  ignore: boolean;
} {
  const why = missing.filter((m): m is string => typeof m === "string" && m !== "");
  return why.length ? { name: `${name} (ignored: ${why.join(", ")})`, ignore: true } : {
    name,
    ignore: false,
  };
}
