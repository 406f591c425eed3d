import { describe, expect, it } from 'vitest';
import { crossLayer, randn, tensor, type Tensor } from '../../src/autograd/index.js';
import { Generator } from '../../src/tensor/index.js';
import { CrossNet } from '../../src/nn/crossnet.js';
import { CrossNetMix } from '../../src/nn/crossnet-mix.js';
import { expectGradcheck, relErr, std } from './helpers.js';

/*
 * An independent reference: the cross network written as plain float64 loops over nested arrays,
 * with gradients taken from the elementwise Jacobian
 * ∂out_j/∂xl_k = x0_j·w_k + [j = k], ∂out_j/∂x0_k = [j = k]·s, ∂out_j/∂w_k = x0_j·xl_k, ∂out_j/∂b_k = [j = k]
 * (O(D²) per row, deliberately unlike the fused backward).
 */
interface RefGrads { out: number[][]; gx: number[][]; gw: number[][]; gb: number[][] }

function refCrossNet(x: number[][], ws: number[][], bs: number[][], upstream: number[][]): RefGrads {
  const B = x.length, D = x[0].length, L = ws.length;
  const xs: number[][][] = [x];
  for (let l = 0; l < L; l++) {
    xs.push(x.map((x0, r) => {
      const xl = xs[l][r];
      let s = 0;
      for (let k = 0; k < D; k++) s += xl[k] * ws[l][k];
      return x0.map((v, j) => v * s + bs[l][j] + xl[j]);
    }));
  }
  const gw = ws.map(() => new Array<number>(D).fill(0));
  const gb = ws.map(() => new Array<number>(D).fill(0));
  const gx0 = x.map(() => new Array<number>(D).fill(0));
  let g = upstream.map((r) => r.slice());
  for (let l = L - 1; l >= 0; l--) {
    const gPrev = x.map(() => new Array<number>(D).fill(0));
    for (let r = 0; r < B; r++) {
      const x0 = x[r], xl = xs[l][r];
      let s = 0;
      for (let k = 0; k < D; k++) s += xl[k] * ws[l][k];
      for (let j = 0; j < D; j++) {
        for (let k = 0; k < D; k++) {
          gPrev[r][k] += g[r][j] * (x0[j] * ws[l][k] + (j === k ? 1 : 0));
          gw[l][k] += g[r][j] * x0[j] * xl[k];
        }
        gx0[r][j] += g[r][j] * s;
        gb[l][j] += g[r][j];
      }
    }
    g = gPrev;
  }
  return { out: xs[L], gx: g.map((row, r) => row.map((v, j) => v + gx0[r][j])), gw, gb };
}

const rows = (t: Tensor): number[][] => t.toArray() as number[][];
const flat = (a: number[][]): number[] => a.flat();

describe('crossLayer and CrossNet against an independent implementation (float32, 1e-5 relative)', () => {
  const B = 6, D = 24;
  const g = new Generator(11);
  const x = randn([B, D], { generator: g });
  const up = randn([B, D], { generator: g });

  it('crossLayer: forward and the gradients of x0, xl, w and b', () => {
    const x0 = x.detach().requiresGrad_();
    const xl = randn([B, D], { generator: g, requiresGrad: true });
    const w = randn([D], { generator: g, requiresGrad: true });
    const b = randn([D, 1], { generator: g, requiresGrad: true });
    const out = crossLayer(x0, xl, w, b);
    out.backward(up);
    // One layer with x0 ≠ xl: reuse the reference on a two-input form by direct loops.
    const X0 = rows(x0), XL = rows(xl), W = Array.from(w.data), Bv = Array.from(b.data), U = rows(up);
    const refOut: number[][] = [], gx0: number[][] = [], gxl: number[][] = [];
    const gw = new Array<number>(D).fill(0), gb = new Array<number>(D).fill(0);
    for (let r = 0; r < B; r++) {
      let s = 0;
      for (let k = 0; k < D; k++) s += XL[r][k] * W[k];
      refOut.push(X0[r].map((v, j) => v * s + Bv[j] + XL[r][j]));
      gx0.push(U[r].map((u) => u * s));
      const rowL = new Array<number>(D).fill(0);
      for (let j = 0; j < D; j++) {
        for (let k = 0; k < D; k++) {
          rowL[k] += U[r][j] * (X0[r][j] * W[k] + (j === k ? 1 : 0));
          gw[k] += U[r][j] * X0[r][j] * XL[r][k];
        }
        gb[j] += U[r][j];
      }
      gxl.push(rowL);
    }
    expect(relErr(out.data, flat(refOut))).toBeLessThan(1e-5);
    expect(relErr(x0.grad!.data, flat(gx0))).toBeLessThan(1e-5);
    expect(relErr(xl.grad!.data, flat(gxl))).toBeLessThan(1e-5);
    expect(relErr(w.grad!.data, gw)).toBeLessThan(1e-5);
    expect(relErr(b.grad!.data, gb)).toBeLessThan(1e-5);
    expect(b.grad!.shape).toEqual([D, 1]);
  });

  it('CrossNet (vector, 3 layers): forward and the gradients of input, kernels and bias', () => {
    const net = new CrossNet(D, { layerNum: 3, generator: new Generator(12) });
    net.bias.data.set(randn([3 * D], { generator: g }).data);
    const xin = x.detach().requiresGrad_();
    const out = net.forward(xin);
    out.backward(up);
    const ws = [0, 1, 2].map((l) => Array.from(net.kernels.data.slice(l * D, (l + 1) * D)));
    const bs = [0, 1, 2].map((l) => Array.from(net.bias.data.slice(l * D, (l + 1) * D)));
    const ref = refCrossNet(rows(x), ws, bs, rows(up));
    expect(relErr(out.data, flat(ref.out))).toBeLessThan(1e-5);
    expect(relErr(xin.grad!.data, flat(ref.gx))).toBeLessThan(1e-5);
    expect(relErr(net.kernels.grad!.data, flat(ref.gw))).toBeLessThan(1e-5);
    expect(relErr(net.bias.grad!.data, flat(ref.gb))).toBeLessThan(1e-5);
  });

  it('the reference itself agrees with a float64 gradcheck-verified CrossNet (guards the guard)', () => {
    const net = new CrossNet(4, { layerNum: 2, generator: new Generator(13) }).to('float64');
    const xin = randn([2, 4], { dtype: 'float64', requiresGrad: true, generator: g });
    const u = randn([2, 4], { dtype: 'float64', generator: g });
    net.forward(xin).backward(u);
    const ws = [0, 1].map((l) => Array.from(net.kernels.data.slice(l * 4, (l + 1) * 4)));
    const ref = refCrossNet(rows(xin), ws, [[0, 0, 0, 0], [0, 0, 0, 0]], rows(u));
    expect(relErr(xin.grad!.data, flat(ref.gx))).toBeLessThan(1e-12);
    expect(relErr(net.kernels.grad!.data, flat(ref.gw))).toBeLessThan(1e-12);
  });
});

describe('CrossNet', () => {
  it('has DeepCTR-Torch parameters: kernels [L, D, 1] or [L, D, D], bias [L, D, 1]', () => {
    const v = new CrossNet(5, { layerNum: 3 });
    expect(Object.keys(v.stateDict())).toEqual(['kernels', 'bias']);
    expect(v.kernels.shape).toEqual([3, 5, 1]);
    expect(v.bias.shape).toEqual([3, 5, 1]);
    expect(v.bias.data.every((b) => b === 0)).toBe(true);
    expect(new CrossNet(5, { parameterization: 'matrix' }).kernels.shape).toEqual([2, 5, 5]);
    expect(() => new CrossNet(5, { parameterization: 'tensor' as 'vector' })).toThrow("CrossNet: parameterization must be 'vector' or 'matrix', got 'tensor'");
    expect(() => new CrossNet(5).forward(randn([2, 4]))).toThrow('CrossNet: expected input [B, 5], got [2,4]');
  });

  it('Xavier-normal kernels with per-layer fans, as DeepCTR-Torch', () => {
    // A vector slice [D, 1] has fans (1, D): std √(2/(D+1)); a matrix slice [D, D]: √(1/D).
    const v = new CrossNet(2000, { layerNum: 2, generator: new Generator(14) });
    expect(std(v.kernels.data.subarray(0, 2000)) / Math.sqrt(2 / 2001)).toBeCloseTo(1, 1);
    const m = new CrossNet(100, { layerNum: 2, parameterization: 'matrix', generator: new Generator(15) });
    // (Fans of the whole [2, 100, 100] tensor would give √(2/10200) ≈ 0.014 instead of 0.1.)
    expect(std(m.kernels.data.subarray(10000)) / Math.sqrt(1 / 100)).toBeCloseTo(1, 1);
  });

  it('matrix form computes x0 ⊙ (W·xl + b) + xl', () => {
    const net = new CrossNet(2, { layerNum: 1, parameterization: 'matrix' });
    net.kernels.data.set([1, 2, 3, 4]);
    net.bias.data.set([0.5, -1]);
    // xl = x0 = [1, -1]: W·x = [-1, -1], + b = [-0.5, -2], ⊙ x0 = [-0.5, 2], + x = [0.5, 1].
    expect(Array.from(net.forward(tensor([[1, -1]])).data)).toEqual([0.5, 1]);
  });

  it('gradcheck (float64): vector and matrix, through input, kernels and bias', () => {
    const g = new Generator(16);
    for (const parameterization of ['vector', 'matrix'] as const) {
      const net = new CrossNet(4, { layerNum: 3, parameterization, generator: g }).to('float64');
      net.bias.data.set(randn([12], { dtype: 'float64', generator: g }).data);
      const x = randn([3, 4], { dtype: 'float64', requiresGrad: true, generator: g });
      expectGradcheck((xx) => net.forward(xx), [x, net.kernels, net.bias], parameterization);
    }
  });

  it('works with batch size 1 ([1, D] in, [1, D] out)', () => {
    for (const parameterization of ['vector', 'matrix'] as const) {
      const net = new CrossNet(6, { parameterization });
      const y = net.forward(randn([1, 6]));
      expect(y.shape).toEqual([1, 6]);
      y.sum().backward();
      expect(net.kernels.grad!.shape).toEqual(net.kernels.shape);
    }
  });
});

describe('CrossNetMix', () => {
  it('has DeepCTR-Torch parameters', () => {
    const net = new CrossNetMix(6, { lowRank: 3, numExperts: 2, layerNum: 2 });
    const sd = net.stateDict();
    expect(Object.keys(sd)).toEqual(['U_list', 'V_list', 'C_list', 'bias', 'gating.0.weight', 'gating.1.weight']);
    expect(sd.U_list.shape).toEqual([2, 2, 6, 3]);
    expect(sd.V_list.shape).toEqual([2, 2, 6, 3]);
    expect(sd.C_list.shape).toEqual([2, 2, 3, 3]);
    expect(sd.bias.shape).toEqual([2, 6, 1]);
    expect(sd['gating.0.weight'].shape).toEqual([1, 6]);
    const defaults = new CrossNetMix(4);
    expect([defaults.lowRank, defaults.numExperts, defaults.layerNum]).toEqual([32, 4, 2]);
  });

  it('one expert computes x0 ⊙ (U·tanh(C·tanh(Vᵀx)) + b) + x', () => {
    // With one expert the softmax gate is 1, so out = x0 ⊙ (U·tanh(C·tanh(Vᵀx)) + b) + x.
    const net = new CrossNetMix(3, { lowRank: 2, numExperts: 1, layerNum: 1 }).to('float64');
    const U = [0.5, -1, 2, 0.3, -0.7, 1.1], V = [1, 0.2, -0.4, 0.8, 0.6, -1.5], C = [0.9, -0.3, 0.4, 1.2];
    net.U_list.data.set(U); net.V_list.data.set(V); net.C_list.data.set(C);
    net.bias.data.set([0.1, -0.2, 0.3]);
    const x = [0.4, -1.3, 0.7];
    const vx = [0, 1].map((k) => Math.tanh(x.reduce((s, xi, i) => s + V[i * 2 + k] * xi, 0)));
    const cv = [0, 1].map((k) => Math.tanh(C[k * 2] * vx[0] + C[k * 2 + 1] * vx[1]));
    const want = x.map((xi, i) => xi * (U[i * 2] * cv[0] + U[i * 2 + 1] * cv[1] + [0.1, -0.2, 0.3][i]) + xi);
    const y = net.forward(tensor([x], { dtype: 'float64' }));
    y.data.forEach((v, i) => expect(v).toBeCloseTo(want[i], 12));
  });

  it('gradcheck (float64) through input, U, V, C, bias and gates', () => {
    const g = new Generator(17);
    const net = new CrossNetMix(4, { lowRank: 2, numExperts: 3, layerNum: 2, generator: g }).to('float64');
    net.bias.data.set(randn([8], { dtype: 'float64', generator: g }).data);
    const x = randn([3, 4], { dtype: 'float64', requiresGrad: true, generator: g });
    expectGradcheck((xx) => net.forward(xx), [x, ...net.parameters()]);
  });

  it('works with batch size 1', () => {
    const net = new CrossNetMix(5, { lowRank: 2 });
    const y = net.forward(randn([1, 5]));
    expect(y.shape).toEqual([1, 5]);
    y.sum().backward();
    expect(net.gating.get(0).weight.grad!.shape).toEqual([1, 5]);
  });
});
