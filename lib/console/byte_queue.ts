/**
 * The pending-input buffer of a console input source: bytes appended at the back as they
 * are read, taken from the front by the guest, and put back in front when a reboot leaves
 * them unread.
 * @module
 */

/** A FIFO of bytes held in one array. */
export class ByteQueue {
  #buf = new Uint8Array(0);

  /** Bytes held. */
  get length(): number {
    return this.#buf.length;
  }

  /** Removes and returns up to `max` bytes from the front (a copy). */
  take(max: number): Uint8Array {
    const n = Math.min(max, this.#buf.length);
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  /** Adds `bytes` at the back. */
  append(bytes: Uint8Array): void {
    const next = new Uint8Array(this.#buf.length + bytes.length);
    next.set(this.#buf);
    next.set(bytes, this.#buf.length);
    this.#buf = next;
  }

  /** Puts `bytes` back in front. */
  prepend(bytes: Uint8Array): void {
    const next = new Uint8Array(bytes.length + this.#buf.length);
    next.set(bytes);
    next.set(this.#buf, bytes.length);
    this.#buf = next;
  }
}
