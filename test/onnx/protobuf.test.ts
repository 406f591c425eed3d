import { describe, expect, it } from 'vitest';
import { ProtoWriter } from '../../src/onnx/protobuf.js';
import { encodeModel } from '../../src/onnx/proto.js';
import { exportOnnx, MMoE } from '../../src/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Reads the top-level fields of a message: field number → values (numbers for varints, bytes otherwise). */
function decode(b: Uint8Array): Map<number, Array<number | Uint8Array>> {
  const out = new Map<number, Array<number | Uint8Array>>();
  let i = 0;
  const varint = (): number => {
    let v = 0, mul = 1;
    for (;;) {
      const c = b[i++];
      v += (c & 0x7f) * mul;
      mul *= 128;
      if (c < 0x80) return v;
    }
  };
  while (i < b.length) {
    const tag = varint();
    const field = Math.floor(tag / 8), wire = tag % 8;
    let v: number | Uint8Array;
    if (wire === 0) v = varint();
    else if (wire === 2) { const n = varint(); v = b.subarray(i, i + n); i += n; }
    else if (wire === 5) { v = b.subarray(i, i + 4); i += 4; }
    else throw new Error(`wire type ${wire}`);
    out.set(field, [...(out.get(field) ?? []), v]);
  }
  return out;
}

describe('protobuf writer', () => {
  it('writes varints, negative int64, floats, strings, packed ints and nested messages as protobuf does', () => {
    expect(hex(new ProtoWriter().int(1, 150).finish())).toBe('089601'); // the protobuf docs' example
    expect(hex(new ProtoWriter().int(1, 0).int(2, 1).finish())).toBe('08001001');
    expect(hex(new ProtoWriter().int(3, -1).finish())).toBe('18ffffffffffffffffff01');
    expect(hex(new ProtoWriter().int(1, 2 ** 40).finish())).toBe('08808080808020');
    expect(hex(new ProtoWriter().float(2, 1).finish())).toBe('150000803f');
    expect(hex(new ProtoWriter().string(2, 'testing').finish())).toBe('120774657374696e67');
    expect(hex(new ProtoWriter().packedInts(4, [3, 270, 86942]).finish())).toBe('2206038e029ea705');
    const inner = new ProtoWriter().int(1, 150);
    expect(hex(new ProtoWriter().message(3, inner).finish())).toBe('1a03089601');
    expect(() => new ProtoWriter().int(1, 2 ** 60)).toThrow(/^protobuf: .* is not a safe integer/);
  });

  it('an empty model is the fields given, in order', () => {
    const b = encodeModel({
      irVersion: 7, opsetVersion: 13, producerName: 'p',
      graph: { name: 'g', nodes: [], initializers: [], inputs: [], outputs: [] },
    });
    const f = decode(b);
    expect(f.get(1)).toEqual([7]);
    expect(Buffer.from(f.get(2)![0] as Uint8Array).toString()).toBe('p');
    const opset = decode(f.get(8)![0] as Uint8Array);
    expect(opset.get(2)).toEqual([13]);
  });

  it('an exported model declares IR version 7, the default-domain opset 13, its producer and task metadata', () => {
    const m = new MMoE({ inputDim: 3, taskTypes: ['binary', 'regression'], taskNames: ['ctr', 'time'], numExperts: 2, expertHiddenUnits: [2] });
    const f = decode(exportOnnx(m));
    expect(f.get(1)).toEqual([7]);
    const opset = decode(f.get(8)![0] as Uint8Array);
    expect((opset.get(1)![0] as Uint8Array).length).toBe(0); // domain '': the standard operator set
    expect(opset.get(2)).toEqual([13]);
    const meta = Object.fromEntries(f.get(14)!.map((e) => {
      const kv = decode(e as Uint8Array);
      return [Buffer.from(kv.get(1)![0] as Uint8Array).toString(), Buffer.from(kv.get(2)![0] as Uint8Array).toString()];
    }));
    expect(meta).toEqual({ model: 'MMoE', inputs: 'encoded', task_names: '["ctr","time"]', task_types: '["binary","regression"]', output: 'predictions' });
    const graph = decode(f.get(7)![0] as Uint8Array);
    const initNames = graph.get(5)!.map((t) => Buffer.from(decode(t as Uint8Array).get(8)![0] as Uint8Array).toString());
    expect(initNames).toEqual(expect.arrayContaining(Object.keys(m.stateDict())));
  });
});

describe('multiclass metadata', () => {
  it('a model with a multiclass task records num_classes; others do not', () => {
    const m = new MMoE({ inputDim: 3, taskTypes: ['multiclass', 'binary'], taskNames: ['genre', 'ctr'], numClasses: { genre: 4 }, numExperts: 2, expertHiddenUnits: [2] });
    const f = decode(exportOnnx(m));
    const meta = Object.fromEntries(f.get(14)!.map((e) => {
      const kv = decode(e as Uint8Array);
      return [Buffer.from(kv.get(1)![0] as Uint8Array).toString(), Buffer.from(kv.get(2)![0] as Uint8Array).toString()];
    }));
    expect(meta).toEqual({ model: 'MMoE', inputs: 'encoded', task_names: '["genre","ctr"]', task_types: '["multiclass","binary"]', num_classes: '[4,1]', output: 'predictions' });
  });
});
