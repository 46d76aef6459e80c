/**
 * CRC32 (IEEE 802.3, reflected 0xEDB88320, slicing-by-8) and CRC64 (ECMA-182, reflected)
 * as the xz format uses them; CRC64 kept as two 32-bit halves (no BigInt per byte).
 * @module
 */

/** Slicing-by-8 tables: T[k * 256 + i] is the CRC of byte i followed by k zero bytes. */
const T = (() => {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 8; k++) {
      t[k * 256 + i] = (t[(k - 1) * 256 + i] >>> 8) ^ t[t[(k - 1) * 256 + i] & 0xff];
    }
  }
  return t;
})();

/**
 * CRC32 of a byte range.
 * @param b the bytes
 * @param crc a previous CRC to continue (default 0)
 * @returns the CRC as an unsigned 32-bit number
 */
export function crc32(b: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  let i = 0;
  const n8 = b.length - 8;
  for (; i <= n8; i += 8) {
    c ^= b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
    const hi = b[i + 4] | (b[i + 5] << 8) | (b[i + 6] << 16) | (b[i + 7] << 24);
    c = T[1792 + (c & 0xff)] ^ T[1536 + ((c >>> 8) & 0xff)] ^ T[1280 + ((c >>> 16) & 0xff)] ^
      T[1024 + (c >>> 24)] ^ T[768 + (hi & 0xff)] ^ T[512 + ((hi >>> 8) & 0xff)] ^
      T[256 + ((hi >>> 16) & 0xff)] ^ T[hi >>> 24];
  }
  for (; i < b.length; i++) c = T[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// Reflected ECMA-182 polynomial 0xC96C5795D7870F42 as high/low halves.
const P_HI = 0xc96c5795, P_LO = 0xd7870f42;
const CRC64_HI = new Uint32Array(256);
const CRC64_LO = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let hi = 0, lo = i;
  for (let k = 0; k < 8; k++) {
    const lsb = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (lsb) {
      hi = (hi ^ P_HI) >>> 0;
      lo = (lo ^ P_LO) >>> 0;
    }
  }
  CRC64_HI[i] = hi;
  CRC64_LO[i] = lo;
}

/**
 * CRC64 of a byte range.
 * @param b the bytes
 * @returns the CRC as a bigint
 */
export function crc64(b: Uint8Array): bigint {
  let hi = 0xffffffff, lo = 0xffffffff;
  for (let i = 0; i < b.length; i++) {
    const idx = (lo ^ b[i]) & 0xff;
    lo = (((lo >>> 8) | ((hi & 0xff) << 24)) ^ CRC64_LO[idx]) >>> 0;
    hi = ((hi >>> 8) ^ CRC64_HI[idx]) >>> 0;
  }
  return (BigInt(~hi >>> 0) << 32n) | BigInt(~lo >>> 0);
}
