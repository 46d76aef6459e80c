/**
 * Error classes shared by every layer, and the exit codes the CLI maps them to.
 *
 * Guest mistakes never become JS exceptions (they get Xen's answer); bad host input
 * (image, config, trace, recording, flags) throws an {@link InputError} subclass; our own
 * bugs throw {@link InternalError} via {@link assert}.
 * @module
 */

/** Exit codes of `pvx`, as the issues fix them. */
export const EXIT_OK = 0;
/** The guest or the checked thing failed (SHUTDOWN_crash, a selftest FAIL, a divergence). */
export const EXIT_FAILED = 1;
/** Usage error or bad input (image, config, trace, recording). */
export const EXIT_BAD_INPUT = 2;
/** An internal error: a pvx bug. */
export const EXIT_INTERNAL = 3;

/** Bad input from the host side: a malformed file, config or flag. Exit code 2. */
export class InputError extends Error {
  override name = "InputError";
}

/** A command-line usage error. Exit code 2. */
export class UsageError extends InputError {
  override name = "UsageError";
}

/** A pvx bug: an invariant did not hold. Exit code 3. */
export class InternalError extends Error {
  override name = "InternalError";
}

/**
 * Checks an internal invariant; throws {@link InternalError} when it does not hold.
 * @param cond the invariant
 * @param msg what went wrong
 */
export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new InternalError(msg);
}

/**
 * Maps any thrown value to the exit code the CLI reports for it.
 * @param err the thrown value
 * @returns 2 for input errors, 3 otherwise
 */
export function exitCodeFor(err: unknown): number {
  return err instanceof InputError ? EXIT_BAD_INPUT : EXIT_INTERNAL;
}

/**
 * The error for an input file that cannot be read (the one "Cannot read WHAT "PATH": WHY"
 * message; exit 2).
 * @param what what the file is ("image", "xl config" ...)
 * @param path the file
 * @param err what the read threw
 * @param from the config file that named it, if any
 */
export function cannotRead(what: string, path: string, err: unknown, from?: string): InputError {
  // by name, not by class: the host's error classes (Deno.errors.*) are not the library's
  const name = err instanceof Error ? err.name : "";
  const why = name === "NotFound"
    ? "no such file"
    : name === "IsADirectory"
    ? "is a directory"
    : err instanceof Error
    ? err.message
    : String(err);
  const origin = from !== undefined ? ` (from "${from}")` : "";
  return new InputError(`Cannot read ${what} "${path}"${origin}: ${why}`);
}
