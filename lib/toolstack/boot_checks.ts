/**
 * Checks of `pvx boot`'s options that need no file: flags that only make sense together,
 * and vif specs that cannot work on one domain (an empty spec, one MAC twice).
 * @module
 */
import { InputError, UsageError } from "../errors.ts";
import type { BootOptions } from "./options.ts";
import { defaultMac, parseVifSpec } from "./vif_spec.ts";

/** The domid `pvx boot IMAGE` gives its one domain. */
const SINGLE_DOMID = 1;

/**
 * Checks the options before anything is opened.
 * @throws UsageError / InputError with one line
 */
export function checkBootOptions(opts: BootOptions): void {
  if (opts.traceClasses !== undefined && opts.trace === undefined) {
    throw new UsageError("--trace-classes needs --trace FILE (it selects what the trace records)");
  }
  const macs = new Map<string, number>();
  (opts.nets ?? []).forEach((spec, devid) => {
    if (spec.trim() === "") {
      throw new InputError(`Invalid --net "": give a vif spec, e.g. --net bridge=xenbr0`);
    }
    const mac = parseVifSpec(spec).mac ?? defaultMac(SINGLE_DOMID, devid);
    const key = Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join(":");
    const other = macs.get(key);
    if (other !== undefined) {
      throw new InputError(`Invalid --net "${spec}": vif ${other} already has MAC ${key}`);
    }
    macs.set(key, devid);
  });
}
