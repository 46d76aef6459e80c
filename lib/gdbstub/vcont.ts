/**
 * vCont action lists (`c`, `C sig`, `s`, `S sig`, each optionally `:thread`), reduced to
 * what pvx's all-stop target does: step one vcpu (the others stay paused), or continue.
 * @module
 */
import { parseHexInt } from "./hex.ts";

/** A parsed vCont. */
export interface VContPlan {
  /** The vcpu to step (-1: none named). */
  step: number;
  /** A step action without a thread (step the current vcpu). */
  stepAny: boolean;
}

/**
 * Parses the part after `vCont;`.
 * @param thread maps a thread id to a vcpu (-1 all/any, -2 unknown)
 * @returns the plan, or null when malformed or naming an unknown thread
 */
export function parseVCont(text: string, thread: (t: string) => number): VContPlan | null {
  const plan: VContPlan = { step: -1, stepAny: false };
  if (text === "") return null;
  for (const part of text.split(";")) {
    const colon = part.indexOf(":");
    const act = colon < 0 ? part : part.slice(0, colon);
    const th = colon < 0 ? null : part.slice(colon + 1);
    let kind = act[0];
    if (kind === "C" || kind === "S") {
      if (parseHexInt(act.slice(1), 0xff) < 0) return null;
      kind = kind.toLowerCase();
    } else if (act.length !== 1) return null;
    if (kind !== "c" && kind !== "s") return null;
    const v = th === null ? -1 : thread(th);
    if (v === -2) return null;
    if (kind === "s" && plan.step === -1 && !plan.stepAny) {
      if (v >= 0) plan.step = v;
      else plan.stepAny = true;
    }
  }
  return plan;
}
