"""The PyTorch side of `npm run bench:peers` (bench/peers/torch.ts starts it with /usr/bin/python3).

One JSON command per line on stdin, one JSON reply per line on stdout. Arrays travel as raw
little-endian float32 / int32 files in a directory both sides see, named in the command, so both
sides start from bit-identical weights and data. The workloads are written the way a PyTorch user
would write them, with the experts (and the linear gates) fused into one wide Linear as our
engine runs them, and the R stacked models as parameters with a leading run axis (torch.bmm /
torch.baddbmm).

Threads: torch.set_num_threads sets ATen's OpenMP pool, but Debian's torch calls OpenBLAS for
its GEMMs, and OpenBLAS keeps its own thread count; it is told with openblas_set_num_threads.
OPENBLAS_CORETYPE is left as the environment sets it and reported.
"""

import ctypes
import json
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

MIN_SAMPLE_SECONDS = 0.05  # benchmark.js's shortest sample, as the Node side uses


def find_openblas():
    """The OpenBLAS this process loaded (through libblas.so.3), or None."""
    with open('/proc/self/maps') as f:
        paths = {line.split()[-1] for line in f if 'openblas' in line.lower() and '/' in line}
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_set_num_threads  # raises AttributeError when the symbol is missing
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            return path, lib
        except (OSError, AttributeError):
            continue
    return None, None


OPENBLAS_PATH, OPENBLAS = find_openblas()


def set_threads(n):
    torch.set_num_threads(n)
    if OPENBLAS is not None:
        OPENBLAS.openblas_set_num_threads(n)
    got = {'torch': torch.get_num_threads()}
    if OPENBLAS is not None:
        got['openblas'] = OPENBLAS.openblas_get_num_threads()
    if got['torch'] != n or got.get('openblas', n) != n:
        raise RuntimeError(f'set_threads: asked for {n} threads, got {got}')
    return got


def cpu_capability():
    """ATen's vector kernels in use ('AVX2', 'AVX512', …), from torch's build report."""
    for line in torch.__config__.show().splitlines():
        if 'CPU capability usage:' in line:
            return line.split(':', 1)[1].strip()
    return None


def info():
    ob = None
    if OPENBLAS is not None:
        ob = {
            'path': OPENBLAS_PATH,
            'corename': OPENBLAS.openblas_get_corename().decode(),
            'config': OPENBLAS.openblas_get_config().decode(),
            'threads': OPENBLAS.openblas_get_num_threads(),
        }
    return {
        'python': platform.python_version(), 'executable': sys.executable,
        'torch': torch.__version__, 'numpy': np.__version__,
        'cpuCapability': cpu_capability(),
        'openblas': ob, 'OPENBLAS_CORETYPE': os.environ.get('OPENBLAS_CORETYPE'),
        'torchThreads': torch.get_num_threads(),
    }


def load(dir_, spec):
    """{name: {file, shape, dtype}} → {name: torch tensor}."""
    out = {}
    for name, a in spec.items():
        dt = np.dtype('<f4') if a['dtype'] == 'float32' else np.dtype('<i4')
        arr = np.fromfile(os.path.join(dir_, a['file']), dtype=dt).reshape(a['shape'])
        t = torch.from_numpy(arr.copy())
        out[name] = t.long() if a['dtype'] == 'int32' else t
    return out


def save(dir_, prefix, arrays):
    """{name: tensor} → files; returns {name: {file, shape}}."""
    os.makedirs(dir_, exist_ok=True)
    out = {}
    for i, (name, t) in enumerate(arrays.items()):
        file = f'{prefix}-{i}.f32'
        t.detach().contiguous().numpy().astype('<f4').tofile(os.path.join(dir_, file))
        out[name] = {'file': file, 'shape': list(t.shape)}
    return out


def param(t):
    return torch.nn.Parameter(t.clone())


def cat_rows(a, names):
    return param(torch.cat([a[n] for n in names], 0))


class PaperMmoe:
    """MMoE at the paper's size, fit's inner loop: gather the batch rows, zero, forward, MSE per task summed, backward, Adam, per-task loss sums."""

    def __init__(self, a, cfg):
        self.E, self.H, self.T, self.B = cfg['experts'], cfg['expertUnits'], cfg['tasks'], cfg['batch']
        E, T = self.E, self.T
        self.experts_w = cat_rows(a, [f'expert_dnn.{i}.linears.0.weight' for i in range(E)])  # [E·H, d]
        self.experts_b = cat_rows(a, [f'expert_dnn.{i}.linears.0.bias' for i in range(E)])
        self.gates_w = cat_rows(a, [f'gate_dnn_final_layer.{t}.weight' for t in range(T)])  # [T·E, d]
        self.tower_w = [param(a[f'tower_dnn.{t}.linears.0.weight']) for t in range(T)]
        self.tower_b = [param(a[f'tower_dnn.{t}.linears.0.bias']) for t in range(T)]
        self.final_w = [param(a[f'tower_dnn_final_layer.{t}.weight']) for t in range(T)]
        self.out_b = [param(a[f'out.{t}.bias']) for t in range(T)]
        self.params = [self.experts_w, self.experts_b, self.gates_w, *self.tower_w, *self.tower_b, *self.final_w, *self.out_b]
        self.opt = torch.optim.Adam(self.params, lr=cfg['lr'])
        self.x, self.y, self.rows = a['x'], a['y'], a['batchRows']
        self.k = 0
        self.task_sums = torch.zeros(T, dtype=torch.float64)

    def logits(self, x):
        B = x.shape[0]
        e = F.relu(F.linear(x, self.experts_w, self.experts_b)).view(B, self.E, self.H)
        g = F.linear(x, self.gates_w).view(B, self.T, self.E).softmax(-1)
        mixed = torch.bmm(g, e)  # [B, T, H]
        return torch.cat([
            F.linear(F.relu(F.linear(mixed[:, t], self.tower_w[t], self.tower_b[t])), self.final_w[t]) + self.out_b[t]
            for t in range(self.T)], 1)

    def step(self):
        rows = self.rows[self.k % self.rows.shape[0]]
        self.k += 1
        xb, yb = self.x.index_select(0, rows), self.y.index_select(0, rows)
        self.opt.zero_grad()
        logits = self.logits(xb)
        loss = sum(F.mse_loss(logits[:, t], yb[:, t]) for t in range(self.T))
        value = loss.item()
        loss.backward()
        self.opt.step()
        with torch.no_grad():
            self.task_sums += ((logits - yb) ** 2).sum(0).double()
        return value

    def named_grads_and_weights(self):
        """Gradients / weights split back into our engine's parameter names and order."""
        E, T = self.E, self.T

        def named(get):
            out = {}
            ew, eb = get(self.experts_w).view(E, -1, self.experts_w.shape[1]), get(self.experts_b).view(E, -1)
            for i in range(E):
                out[f'expert_dnn.{i}.linears.0.weight'] = ew[i]
                out[f'expert_dnn.{i}.linears.0.bias'] = eb[i]
            gw = get(self.gates_w).view(T, E, -1)
            for t in range(T):
                out[f'gate_dnn_final_layer.{t}.weight'] = gw[t]
            for t in range(T):
                out[f'tower_dnn.{t}.linears.0.weight'] = get(self.tower_w[t])
                out[f'tower_dnn.{t}.linears.0.bias'] = get(self.tower_b[t])
            for t in range(T):
                out[f'tower_dnn_final_layer.{t}.weight'] = get(self.final_w[t])
            for t in range(T):
                out[f'out.{t}.bias'] = get(self.out_b[t])
            return out
        return named


class BenchMmoe:
    """bench/lib/mmoe.ts's network: experts Linear+ReLU fused into one, softmax gates (with bias) fused into one, towers, Σ_tasks mean BCE-with-logits, Adam."""

    def __init__(self, a, cfg):
        self.E, self.H, self.T = cfg['experts'], cfg['expertUnits'], cfg['tasks']
        E, T = self.E, self.T
        self.experts_w = cat_rows(a, [f'experts.{i}.weight' for i in range(E)])
        self.experts_b = cat_rows(a, [f'experts.{i}.bias' for i in range(E)])
        self.gates_w = cat_rows(a, [f'gates.{t}.weight' for t in range(T)])
        self.gates_b = cat_rows(a, [f'gates.{t}.bias' for t in range(T)])
        self.tower_w = [param(a[f'towers.{t}.weight']) for t in range(T)]
        self.tower_b = [param(a[f'towers.{t}.bias']) for t in range(T)]
        self.out_w = [param(a[f'outs.{t}.weight']) for t in range(T)]
        self.out_b = [param(a[f'outs.{t}.bias']) for t in range(T)]
        self.params = [self.experts_w, self.experts_b, self.gates_w, self.gates_b, *self.tower_w, *self.tower_b, *self.out_w, *self.out_b]
        self.opt = torch.optim.Adam(self.params, lr=cfg['lr'], betas=(0.9, 0.999), eps=1e-8)
        self.x = a['x']
        self.ys = [a[f'y{t}'] for t in range(T)]

    def step(self):
        x = self.x
        B = x.shape[0]
        self.opt.zero_grad()
        e = F.relu(F.linear(x, self.experts_w, self.experts_b)).view(B, self.E, self.H)
        g = F.linear(x, self.gates_w, self.gates_b).view(B, self.T, self.E).softmax(-1)
        mixed = torch.bmm(g, e)
        loss = 0
        for t in range(self.T):
            logit = F.linear(F.relu(F.linear(mixed[:, t], self.tower_w[t], self.tower_b[t])), self.out_w[t], self.out_b[t])
            loss = loss + F.binary_cross_entropy_with_logits(logit, self.ys[t])
        value = loss.item()
        loss.backward()
        self.opt.step()
        return value

    def named_grads_and_weights(self):
        E, T = self.E, self.T

        def named(get):
            out = {}
            ew, eb = get(self.experts_w).view(E, -1, self.experts_w.shape[1]), get(self.experts_b).view(E, -1)
            gw, gb = get(self.gates_w).view(T, E, -1), get(self.gates_b).view(T, E)
            for i in range(E):
                out[f'experts.{i}.weight'] = ew[i]
                out[f'experts.{i}.bias'] = eb[i]
            for t in range(T):
                out[f'gates.{t}.weight'] = gw[t]
                out[f'gates.{t}.bias'] = gb[t]
            for t in range(T):
                out[f'towers.{t}.weight'] = get(self.tower_w[t])
                out[f'towers.{t}.bias'] = get(self.tower_b[t])
            for t in range(T):
                out[f'outs.{t}.weight'] = get(self.out_w[t])
                out[f'outs.{t}.bias'] = get(self.out_b[t])
            return out
        return named


class StackedPaperMmoe:
    """R paper-size MMoEs as one computation: every parameter [R, …], data [R, N, d], each run its own batches; loss = Σ_runs (each run's Σ_tasks MSE), so each run's gradient is its own."""

    def __init__(self, a, cfg):
        self.E, self.H, self.T, self.R = cfg['experts'], cfg['expertUnits'], cfg['tasks'], cfg['runs']
        E, T = self.E, self.T
        self.experts_w = param(a['experts_w'])  # [R, E·H, d]
        self.experts_b = param(a['experts_b'])  # [R, E·H]
        self.gates_w = param(a['gates_w'])  # [R, T·E, d]
        self.tower_w = [param(a[f'tower_w.{t}']) for t in range(T)]  # [R, Tw, H]
        self.tower_b = [param(a[f'tower_b.{t}']) for t in range(T)]  # [R, Tw]
        self.final_w = [param(a[f'final_w.{t}']) for t in range(T)]  # [R, 1, Tw]
        self.out_b = [param(a[f'out_b.{t}']) for t in range(T)]  # [R, 1]
        self.params = [self.experts_w, self.experts_b, self.gates_w, *self.tower_w, *self.tower_b, *self.final_w, *self.out_b]
        self.opt = torch.optim.Adam(self.params, lr=cfg['lr'])
        self.x, self.y, self.rows = a['x'], a['y'], a['batchRows']  # [R, N, d], [R, N, T], [R, batches, B]
        self.run_index = torch.arange(self.R).unsqueeze(1)
        self.k = 0
        self.task_sums = torch.zeros(self.R, T, dtype=torch.float64)

    def step(self):
        R, E, H, T = self.R, self.E, self.H, self.T
        rows = self.rows[:, self.k % self.rows.shape[1]]  # [R, B]
        self.k += 1
        xb, yb = self.x[self.run_index, rows], self.y[self.run_index, rows]  # [R, B, d], [R, B, T]
        B = xb.shape[1]
        self.opt.zero_grad()
        e = F.relu(torch.baddbmm(self.experts_b.unsqueeze(1), xb, self.experts_w.transpose(1, 2)))
        g = torch.bmm(xb, self.gates_w.transpose(1, 2)).view(R * B, T, E).softmax(-1)
        mixed = torch.bmm(g, e.view(R * B, E, H)).view(R, B, T, H)
        logits = torch.cat([
            torch.bmm(F.relu(torch.baddbmm(self.tower_b[t].unsqueeze(1), mixed[:, :, t], self.tower_w[t].transpose(1, 2))),
                      self.final_w[t].transpose(1, 2)) + self.out_b[t].unsqueeze(1)
            for t in range(T)], 2)  # [R, B, T]
        per_run = ((logits - yb) ** 2).mean(1).sum(1)  # [R]: Σ_tasks mean MSE
        per_run.sum().backward()
        self.opt.step()
        with torch.no_grad():
            self.task_sums += ((logits - yb) ** 2).sum(1).double()
        return per_run.detach()


class Gemm:
    """x·Wᵀ as Linear computes it (the experts' product), no autograd."""

    def __init__(self, a, cfg):
        self.a, self.b = a['a'], a['b']
        self.out = None

    def step(self):
        self.out = torch.mm(self.a, self.b.t())


KINDS = {'paper': PaperMmoe, 'bench': BenchMmoe, 'stacked': StackedPaperMmoe, 'gemm': Gemm}


def check(work, out_dir, prefix):
    """One step from the loaded weights; loss (before the update), gradients, weights after."""
    if isinstance(work, Gemm):
        work.step()
        return {'arrays': {'out': save(out_dir, prefix, {'out': work.out})['out']}}
    loss = work.step()
    if isinstance(work, StackedPaperMmoe):
        arrays = {'loss': loss}
        for p_name, p in zip(['experts_w', 'experts_b', 'gates_w'], [work.experts_w, work.experts_b, work.gates_w]):
            arrays[f'grad.{p_name}'], arrays[f'weight.{p_name}'] = p.grad, p.data
        for t in range(work.T):
            for p_name, ps in [('tower_w', work.tower_w), ('tower_b', work.tower_b), ('final_w', work.final_w), ('out_b', work.out_b)]:
                arrays[f'grad.{p_name}.{t}'], arrays[f'weight.{p_name}.{t}'] = ps[t].grad, ps[t].data
        return {'arrays': save(out_dir, prefix, arrays)}
    named = work.named_grads_and_weights()
    arrays = {'loss': torch.tensor([loss])}
    arrays.update({f'grad.{k}': v for k, v in named(lambda p: p.grad).items()})
    arrays.update({f'weight.{k}': v for k, v in named(lambda p: p.data).items()})
    return {'arrays': save(out_dir, prefix, arrays)}


def sample(fn, min_samples, max_time):
    """benchmark.js's scheme: repeat the call until a sample lasts MIN_SAMPLE_SECONDS, then take samples until min_samples and max_time."""
    def run(n):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return time.perf_counter() - t0
    run(1)
    n = 1
    s = run(n)
    while s < MIN_SAMPLE_SECONDS:
        n = max(n * 2, int(n * MIN_SAMPLE_SECONDS * 1.1 / max(s, 1e-9)) + 1)
        s = run(n)
    out, start = [], time.perf_counter()
    while len(out) < min_samples or time.perf_counter() - start < max_time:
        out.append(run(n) / n * 1000)
    return out


def main():
    torch.manual_seed(0)
    set_threads(1)
    works = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        try:
            c = cmd['cmd']
            if c == 'hello':
                reply = info()
            elif c == 'load':
                works[cmd['id']] = KINDS[cmd['kind']](load(cmd['dir'], cmd['arrays']), cmd['config'])
                reply = {}
            elif c == 'check':
                set_threads(cmd.get('threads', 1))
                reply = check(works[cmd['id']], cmd['dir'], cmd['id'])
            elif c == 'time':
                threads = set_threads(cmd['threads'])
                reply = {'samplesMs': sample(works[cmd['id']].step, cmd['minSamples'], cmd['maxTime']), 'threads': threads}
            elif c == 'drop':
                works.pop(cmd['id'], None)
                reply = {}
            elif c == 'quit':
                break
            else:
                raise ValueError(f'unknown command {c!r}')
            reply['ok'] = True
        except Exception as e:  # reported to the Node side, which fails the row
            reply = {'ok': False, 'error': f'{type(e).__name__}: {e}'}
        sys.stdout.write(json.dumps(reply) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
