import { Generator, Tensor, matmul, stack, tensor, nn } from '../../src/index.js';
// Direct paths: losses and optim are not re-exported from nn's index yet.
import { bceWithLogits } from '../../src/nn/losses.js';
import { Adam } from '../../src/nn/optim/index.js';
import { StepScopes } from '../../src/train/held-storage.js';
import { randomArray } from './data.js';

/*
 * The MMoE training step of the benchmark, at the exact shape, built from nn.Linear,
 * bceWithLogits and Adam: input [512, 256]; 8 experts Linear(256→64)+ReLU; per task a softmax gate
 * Linear(256→8) mixing the experts; tower Linear(64→16)+ReLU → Linear(16→1); loss = Σ_tasks mean
 * BCE-with-logits; Adam(1e-3). The same network is rebuilt on TF.js in bench/peers from the
 * parameters listed by `mmoeParams`, so both sides start from identical weights.
 */

export const MMOE = { batch: 512, inputs: 256, experts: 8, expertUnits: 64, tasks: 2, towerUnits: 16, lr: 1e-3 } as const;

export interface MmoeData {
  x: Float32Array;
  /** One [batch, 1] label column of 0/1 per task. */
  ys: Float32Array[];
}

export function mmoeData(seed = 3): MmoeData {
  const gen = new Generator(seed);
  const x = randomArray(gen, MMOE.batch * MMOE.inputs);
  const ys = Array.from({ length: MMOE.tasks }, () => {
    const y = new Float32Array(MMOE.batch);
    gen.fillUniform(y);
    for (let i = 0; i < y.length; i++) y[i] = y[i] < 0.3 ? 1 : 0;
    return y;
  });
  return { x, ys };
}

export class BenchMMoE extends nn.Module {
  readonly experts: nn.ModuleList<nn.Linear>;
  readonly gates: nn.ModuleList<nn.Linear>;
  readonly towers: nn.ModuleList<nn.Linear>;
  readonly outs: nn.ModuleList<nn.Linear>;

  constructor(seed = 5) {
    super();
    const generator = new Generator(seed);
    const { inputs, experts, expertUnits, tasks, towerUnits } = MMOE;
    const many = (n: number, i: number, o: number): nn.ModuleList<nn.Linear> =>
      new nn.ModuleList(Array.from({ length: n }, () => new nn.Linear(i, o, { generator })));
    this.experts = this.registerModule('experts', many(experts, inputs, expertUnits));
    this.gates = this.registerModule('gates', many(tasks, inputs, experts));
    this.towers = this.registerModule('towers', many(tasks, expertUnits, towerUnits));
    this.outs = this.registerModule('outs', many(tasks, towerUnits, 1));
  }

  /** One [batch, 1] logit column per task. */
  forward(x: Tensor): Tensor[] {
    const e = stack(this.experts.map((l) => l.forward(x).relu()), 1); // [B, E, H]
    const g = stack(this.gates.map((l) => l.forward(x).softmax(-1)), 1); // [B, T, E]
    const mixed = matmul(g, e); // [B, T, H]
    const { batch, expertUnits } = MMOE;
    return this.towers.map((tower, t) => {
      const z = mixed.narrow(1, t, 1).reshape([batch, expertUnits]);
      return this.outs.get(t).forward(tower.forward(z).relu());
    });
  }
}

export interface OurMmoe {
  model: BenchMMoE;
  /** forward + backward + Adam update; returns the loss tensor. */
  step(): Tensor;
}

export function ourMmoe(data: MmoeData, seed = 5): OurMmoe {
  const model = new BenchMMoE(seed);
  const opt = new Adam(model.parameters(), { lr: MMOE.lr });
  const x = tensor(data.x, { shape: [MMOE.batch, MMOE.inputs] });
  const ys = data.ys.map((y) => tensor(y, { shape: [MMOE.batch, 1] }));
  // fit's step scope: the step's arena blocks return at its end (src/train/held-storage.ts), so
  // the loss comes back as a fresh JavaScript-heap scalar.
  const scopes = new StepScopes([model, opt]);
  return {
    model,
    step: () => new Tensor(Float32Array.of(scopes.run(() => {
      opt.zeroGrad();
      const logits = model.forward(x);
      let loss = bceWithLogits(logits[0], ys[0]);
      for (let t = 1; t < logits.length; t++) loss = loss.add(bceWithLogits(logits[t], ys[t]));
      loss.backward();
      opt.step();
      return loss.item();
    })), []),
  };
}
