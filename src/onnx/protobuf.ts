/*
 * The small part of the protobuf wire format an ONNX writer needs: varints (wire type 0),
 * 32-bit floats (wire type 5) and length-delimited fields (wire type 2: bytes, strings, packed
 * repeated scalars, nested messages). A message is built as a list of byte chunks and a nested
 * message is written as its length followed by its chunks, so large initializers are copied once,
 * when the whole model is joined.
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const utf8 = new TextEncoder();

export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private scratch: number[] = [];
  /** Bytes written so far. */
  length = 0;

  private flushScratch(): void {
    if (this.scratch.length === 0) return;
    this.chunks.push(Uint8Array.from(this.scratch));
    this.scratch = [];
  }

  private push(bytes: Uint8Array): void {
    this.flushScratch();
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  /** A varint of an integer; negative int64 values take ten bytes (two's complement), as protobuf's int64. */
  private varint(v: number | bigint): void {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new RangeError(`protobuf: ${v} is not a safe integer`);
      if (v >= 0) {
        while (v > 0x7f) {
          this.scratch.push((v % 128) | 0x80);
          v = Math.floor(v / 128);
          this.length++;
        }
        this.scratch.push(v);
        this.length++;
        return;
      }
      v = BigInt(v);
    }
    let u = BigInt.asUintN(64, v);
    while (u > 0x7fn) {
      this.scratch.push(Number(u & 0x7fn) | 0x80);
      u >>= 7n;
      this.length++;
    }
    this.scratch.push(Number(u));
    this.length++;
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** An int32 / int64 / enum / bool field. */
  int(field: number, v: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.varint(v);
    return this;
  }

  /** A `float` field (IEEE 754 single, little-endian). */
  float(field: number, v: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.varint(b.length);
    this.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, utf8.encode(s));
  }

  /** A packed repeated int64 field. */
  packedInts(field: number, values: readonly number[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    return this.message(field, inner);
  }

  /** A packed repeated float field. */
  packedFloats(field: number, values: readonly number[]): this {
    const b = new Uint8Array(4 * values.length);
    const dv = new DataView(b.buffer);
    values.forEach((v, i) => dv.setFloat32(4 * i, v, true));
    return this.bytes(field, b);
  }

  /** A nested message field. */
  message(field: number, m: ProtoWriter): this {
    m.flushScratch();
    this.tag(field, WIRE_LEN);
    this.varint(m.length);
    this.flushScratch();
    for (const c of m.chunks) this.chunks.push(c);
    this.length += m.length;
    return this;
  }

  /** The message's bytes, joined. */
  finish(): Uint8Array {
    this.flushScratch();
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}
