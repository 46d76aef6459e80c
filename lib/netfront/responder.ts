/**
 * The host endpoint on the virtual switch: a tiny network stack that answers ARP for its
 * address, ICMP echo and UDP echo (port 7), so a lone guest can ping someone. Frames with
 * bad checksums are dropped and counted.
 * @module
 */
import type { SwitchPort, VirtualSwitch } from "./switch.ts";
import {
  be16,
  buildArp,
  buildIcmpEcho,
  buildIpv4,
  buildUdp,
  checksumsValid,
  IPPROTO_ICMP,
  IPPROTO_UDP,
  parseArp,
  parseIp,
  parseIpv4,
} from "./packets.ts";
import { parseMac } from "./protocol.ts";

/** Default address of the host endpoint. */
export const HOST_IP = "10.0.0.1";
/** Default MAC of the host endpoint (locally administered). */
export const HOST_MAC = "02:00:00:00:00:01";
/** The UDP echo port. */
export const UDP_ECHO_PORT = 7;

/** Counters of the responder. */
export interface ResponderStats {
  arpReplies: number;
  echoReplies: number;
  udpEchoes: number;
  badChecksums: number;
  ignored: number;
}

/** The host endpoint. */
export class HostResponder implements SwitchPort {
  readonly name = "host";
  readonly ip: number;
  readonly mac: Uint8Array;
  readonly #sw: VirtualSwitch;
  readonly #port: number;
  readonly stats: ResponderStats = {
    arpReplies: 0,
    echoReplies: 0,
    udpEchoes: 0,
    badChecksums: 0,
    ignored: 0,
  };

  constructor(sw: VirtualSwitch, ip = HOST_IP, mac = HOST_MAC) {
    const ipn = parseIp(ip);
    const macb = parseMac(mac);
    if (ipn === undefined || !macb) {
      throw new Error(`Invalid host endpoint address "${ip}" / "${mac}"`);
    }
    this.ip = ipn;
    this.mac = macb;
    this.#sw = sw;
    this.#port = sw.attach(this);
  }

  deliver(f: Uint8Array): void {
    const arp = parseArp(f);
    if (arp) {
      if (arp.op === 1 && arp.targetIp === this.ip) {
        this.stats.arpReplies++;
        this.#sw.send(this.#port, buildArp(2, this.mac, this.ip, arp.senderMac, arp.senderIp));
      } else this.stats.ignored++;
      return;
    }
    const ip = parseIpv4(f);
    if (!ip || ip.dst !== this.ip) {
      this.stats.ignored++;
      return;
    }
    if (!checksumsValid(f)) {
      this.stats.badChecksums++;
      return;
    }
    const srcMac = f.subarray(6, 12);
    if (ip.proto === IPPROTO_ICMP && f[ip.l4] === 8 && ip.l4len >= 8) {
      const echo = buildIcmpEcho(
        0,
        be16(f, ip.l4 + 4),
        be16(f, ip.l4 + 6),
        f.subarray(ip.l4 + 8, ip.l4 + ip.l4len),
      );
      this.stats.echoReplies++;
      this.#sw.send(this.#port, buildIpv4(this.mac, srcMac, this.ip, ip.src, IPPROTO_ICMP, echo));
    } else if (ip.proto === IPPROTO_UDP && ip.l4len >= 8 && be16(f, ip.l4 + 2) === UDP_ECHO_PORT) {
      const sport = be16(f, ip.l4);
      const udp = buildUdp(
        this.ip,
        ip.src,
        UDP_ECHO_PORT,
        sport,
        f.subarray(ip.l4 + 8, ip.l4 + ip.l4len),
      );
      this.stats.udpEchoes++;
      this.#sw.send(this.#port, buildIpv4(this.mac, srcMac, this.ip, ip.src, IPPROTO_UDP, udp));
    } else this.stats.ignored++;
  }
}
