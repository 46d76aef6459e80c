/**
 * xl's vif specification syntax (`mac=00:16:3e:01:02:03, bridge=xenbr0, ...`), as
 * accepted by `pvx boot --net` and the `vif = [...]` list of xl config files.
 * @module
 */
import { InputError } from "../errors.ts";
import { parseMac } from "../netfront/mod.ts";
import { parseIp } from "../netfront/mod.ts";

/** A parsed vif spec. */
export interface VifSpec {
  mac?: Uint8Array;
  bridge: string;
  ip?: string;
  vifname?: string;
}

/** Keys xl documents for vifs that pvx accepts but has no use for (kept for compatibility). */
const IGNORED = new Set(["type", "model", "script", "backend", "rate", "gatewaydev", "devid"]);

/**
 * Parses a vif spec. An empty spec gives defaults (random-free: the MAC is derived by the
 * caller from the domain id, so runs are deterministic).
 * @throws InputError naming the bad key or value
 */
export function parseVifSpec(spec: string): VifSpec {
  const out: VifSpec = { bridge: "xenbr0" };
  for (const part of spec.split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq < 0) throw new InputError(`Invalid vif spec "${spec}": "${part}" is not key=value`);
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === "mac") {
      const mac = parseMac(v);
      if (!mac) throw new InputError(`Invalid vif spec "${spec}": bad MAC address "${v}"`);
      if (mac[0] & 1) throw new InputError(`Invalid vif spec "${spec}": "${v}" is a multicast MAC`);
      out.mac = mac;
    } else if (k === "bridge") {
      if (!/^[\w.-]{1,15}$/.test(v)) {
        throw new InputError(`Invalid vif spec "${spec}": bad bridge "${v}"`);
      }
      out.bridge = v;
    } else if (k === "ip") {
      for (const a of v.split(/\s+/)) {
        if (parseIp(a) === undefined) {
          throw new InputError(`Invalid vif spec "${spec}": bad ip "${a}"`);
        }
      }
      out.ip = v;
    } else if (k === "vifname") out.vifname = v;
    else if (!IGNORED.has(k)) {
      throw new InputError(`Invalid vif spec "${spec}": unknown key "${k}"`);
    }
  }
  return out;
}

/** The MAC pvx gives vif `devid` of domain `domid` when the spec names none (Xen's OUI). */
export function defaultMac(domid: number, devid: number): Uint8Array {
  return Uint8Array.from([0x00, 0x16, 0x3e, (domid >> 8) & 0x7f, domid & 0xff, devid & 0xff]);
}
