/**
 * pvx's exit code for how a guest run ended: the one table (0 ok, 1 guest failed).
 * Usage and bad input (2) and internal errors (3) come from lib/errors.ts.
 * @module
 */
import { EXIT_FAILED, EXIT_OK } from "../errors.ts";

/**
 * Run outcomes that exit 0: the guest powered off, rebooted (with `--no-reboot`, or into
 * an xl "destroy" action), the user detached the console, or gdb killed the domain (`k`, as
 * the user asked). Anything else (crash,
 * instruction limit, hang, other shutdown reasons) exits 1.
 */
const SUCCESS: ReadonlySet<string> = new Set(["poweroff", "reboot", "detached", "killed"]);

/**
 * The exit code for a run's outcome.
 * @param reason the shutdown reason (RunResult.reason), "detached" or "killed"
 */
export function exitCodeForOutcome(reason: string): number {
  return SUCCESS.has(reason) ? EXIT_OK : EXIT_FAILED;
}

/** Whether an outcome counts as success (exit 0). */
export function succeeded(reason: string): boolean {
  return SUCCESS.has(reason);
}
