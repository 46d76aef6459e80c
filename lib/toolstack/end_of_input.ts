/**
 * What the end of console input means for `pvx boot` (`--on-eof`):
 *
 * - `poweroff`: ask the guest to power off, as `xl shutdown` does (control/shutdown =
 *   "poweroff" in xenstore); a guest that has not shut down 3 virtual seconds later is
 *   stopped. The default when stdin is a pipe or another non-terminal stream.
 * - `detach`: stop the guest (as Ctrl-] does), exit 0.
 * - `wait`: keep running until the guest shuts down (as `xl console` users expect while a
 *   terminal or a `--console-input` file is attached). The default for those.
 *
 * The action comes only once the guest has taken all the input, read it from its ring and
 * written nothing since, for a virtual second while idle (blocked), or for 2 virtual
 * seconds whatever it does (a guest that polls its console, as GRUB does, is never
 * idle), so that the last command finishes.
 * @module
 */
import { InputError } from "../errors.ts";
import type { Machine } from "../hypervisor/mod.ts";
import type { ConsoleSink } from "../console/mod.ts";
import type { StoreOps } from "../hypervisor/mod.ts";

/** The `--on-eof` choices. */
export type OnEof = "poweroff" | "detach" | "wait";

/** Virtual ns an idle guest must stay quiet after its last input before the action. */
export const EOF_QUIET_NS = 1_000_000_000;
/** Virtual ns a busy (polling) guest must stay quiet before the action. */
export const EOF_QUIET_BUSY_NS = 2_000_000_000;
/** Virtual ns a guest gets to honour the poweroff request. */
export const EOF_GRACE_NS = 3_000_000_000;

/**
 * Parses `--on-eof`.
 * @throws InputError for another value
 */
export function parseOnEof(v: string | undefined): OnEof | undefined {
  if (v === undefined) return undefined;
  if (v === "poweroff" || v === "detach" || v === "wait") return v;
  throw new InputError(`Cannot boot with --on-eof "${v}": use poweroff, detach or wait`);
}

/** What the watcher sees of the console. */
export interface EofConsole {
  /** The sink. */
  sink: ConsoleSink;
  /** Whether the guest has read everything put in its ring. */
  readonly inputConsumed: boolean;
  /** Bytes of output the guest has written so far. */
  readonly outBytes: number;
}

/** Watches one boot for the end of input; its {@link until} is the machine's stop check. */
export class EndOfInput {
  /** Set when the run ended because of the action (for the exit message). */
  outcome: "detached" | "ignored" | undefined;
  readonly #mode: OnEof;
  readonly #m: Machine;
  readonly #con: () => EofConsole | undefined;
  readonly #store: () => StoreOps | undefined;
  #quietSince = -1;
  #lastOut = -1;
  #requestedAt = -1;

  /**
   * @param mode the action
   * @param m the machine
   * @param con the console's state (undefined until attached)
   * @param store dom0's store (for the poweroff request)
   */
  constructor(
    mode: OnEof,
    m: Machine,
    con: () => EofConsole | undefined,
    store: () => StoreOps | undefined,
  ) {
    this.#mode = mode;
    this.#m = m;
    this.#con = con;
    this.#store = store;
  }

  /** The stop check: true ends the run (reason "until"). */
  readonly until = (): boolean => {
    if (this.#mode === "wait") return false;
    const now = this.#m.host.clock.nowNs();
    if (this.#requestedAt >= 0) {
      if (now - this.#requestedAt < EOF_GRACE_NS) return false;
      this.outcome = "ignored";
      return true;
    }
    const c = this.#con();
    if (!c || !c.sink.inputEnded || !c.inputConsumed || c.outBytes !== this.#lastOut) {
      this.#lastOut = c?.outBytes ?? -1;
      this.#quietSince = -1;
      return false;
    }
    if (this.#quietSince < 0) this.#quietSince = now;
    const quiet = now - this.#quietSince;
    if (quiet < EOF_QUIET_NS || (quiet < EOF_QUIET_BUSY_NS && !this.#m.idle)) return false;
    if (this.#mode === "detach") {
      this.outcome = "detached";
      return true;
    }
    const d = this.#m.domain;
    this.#store()?.write(`/local/domain/${d.domid}/control/shutdown`, "poweroff");
    this.#requestedAt = now;
    return false;
  };
}
