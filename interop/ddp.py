#!/usr/bin/python3
"""An mmoe-ts MMoE checkpoint continues training in DeepCTR-Torch's MMOE under PyTorch
DistributedDataParallel (two processes, gloo, this machine), and the result comes back.

Run by hand (not in CI), like interop/check.py:

    DEEPCTR_TORCH=/tmp/deepctr-torch /usr/bin/python3 interop/ddp.py [OUT_DIR]

  1. `npx tsx interop/ddp-export.ts OUT` trains our MMoE (sparse, var-len and dense columns, two
     binary tasks) for 3 epochs with mmoe-ts's own fit and writes it with toDeepCTRTorch, with the
     training rows and our predictions on evaluation rows.
  2. Here: two processes (torch.multiprocessing, gloo) each build DeepCTR-Torch's MMOE,
     load_state_dict(strict=True) of our file (rank 0 first checks PyTorch's predictions against
     ours), wrap it in DistributedDataParallel and train 3 epochs of SGD, each rank on its half of
     every global batch of 64. DDP averages the gradients, so the result must equal one process
     training on the whole batches: checked against such a run, and the two ranks' weights must be
     identical. Rank 0 saves the weights and its predictions.
  3. `npx tsx interop/ddp-import.ts OUT` loads them with fromDeepCTRTorch (strict), compares our
     predictions with PyTorch's, and continues training with mmoe-ts's fit.
Exit status 0 when every check passes. sklearn and tqdm (imported by DeepCTR-Torch, unused here)
are stubbed when missing, as check.py stubs Keras and requests.
"""
import os
import socket
import subprocess
import sys
import tempfile
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check  # noqa: E402  (safetensors by hand, DeepCTR-Torch import and model building)
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.parallel import DistributedDataParallel as DDP  # noqa: E402

WORLD = 2
GLOBAL_BATCH = 64
EPOCHS = 3
LR = 0.1
TOL = 1e-5


def stub_optional():
    try:
        import sklearn.metrics  # noqa: F401
    except ImportError:
        sk = types.ModuleType('sklearn')
        sk.metrics = types.ModuleType('sklearn.metrics')
        sys.modules['sklearn'], sys.modules['sklearn.metrics'] = sk, sk.metrics
    try:
        import tqdm  # noqa: F401
    except ImportError:
        tq = types.ModuleType('tqdm')
        tq.tqdm = lambda it=None, *a, **k: it
        sys.modules['tqdm'] = tq


def load(out, name):
    return check.load_safetensors(os.path.join(out, name))


def batches(n, epoch):
    """The global batches of one epoch: a permutation every process draws alike."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(100 + epoch))
    return [perm[i:i + GLOBAL_BATCH] for i in range(0, n - GLOBAL_BATCH + 1, GLOBAL_BATCH)]


def loss_fn(pred, y):
    # Both tasks binary; DeepCTR-Torch's MMOE outputs probabilities (its fit uses BCE on them).
    return sum(F.binary_cross_entropy(pred[:, t], y[:, t]) for t in range(y.shape[1]))


def fresh_model(case, out):
    model = check.build(case)
    model.load_state_dict(load(out, 'ours.safetensors'), strict=True)
    return model


def worker(rank, out, case, port, queue):
    os.environ['MASTER_ADDR'], os.environ['MASTER_PORT'] = '127.0.0.1', str(port)
    torch.set_num_threads(1)
    stub_optional()
    check.import_deepctr()
    dist.init_process_group('gloo', rank=rank, world_size=WORLD)
    data = load(out, 'data.safetensors')
    X, Y = data['X'], data['Y']
    model = fresh_model(case, out)
    if rank == 0:
        ours = load(out, 'ours-pred.safetensors')['pred']
        queue.put(('load', (check.predict(model, data['X_eval']) - ours).abs().max().item()))
    model.train()
    ddp = DDP(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=LR)
    half = GLOBAL_BATCH // WORLD
    for epoch in range(EPOCHS):
        total, steps = 0.0, 0
        for idx in batches(X.shape[0], epoch):
            mine = idx[rank * half:(rank + 1) * half]
            opt.zero_grad()
            loss = loss_fn(ddp(X[mine]), Y[mine])
            loss.backward()  # DDP all-reduces (averages) the gradients over the two processes here
            opt.step()
            total, steps = total + loss.item(), steps + 1
        mean = torch.tensor([total / steps])
        dist.all_reduce(mean)
        if rank == 0:
            queue.put(('epoch', (epoch + 1, mean.item() / WORLD)))
    # The two ranks' weights must be identical: compare with rank 0's by broadcast.
    worst = 0.0
    for p in model.parameters():
        q = p.detach().clone()
        dist.broadcast(q, 0)
        worst = max(worst, (q - p.detach()).abs().max().item())
    worst_t = torch.tensor([worst])
    dist.all_reduce(worst_t, op=dist.ReduceOp.MAX)
    if rank == 0:
        queue.put(('ranks', worst_t.item()))
        check.save_safetensors(os.path.join(out, 'torch-ddp.safetensors'), model.state_dict())
        check.save_safetensors(os.path.join(out, 'torch-ddp-pred.safetensors'), {'pred': check.predict(model, data['X_eval'])})
    dist.destroy_process_group()


def single_process(case, out):
    """The same training in one process on whole batches: what DDP must reproduce."""
    data = load(out, 'data.safetensors')
    X, Y = data['X'], data['Y']
    model = fresh_model(case, out)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    for epoch in range(EPOCHS):
        for idx in batches(X.shape[0], epoch):
            opt.zero_grad()
            loss_fn(model(X[idx]), Y[idx]).backward()
            opt.step()
    return model.state_dict()


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def main():
    stub_optional()
    root = check.import_deepctr()
    out = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix='mmoe-ts-ddp-')
    print('torch %s, DeepCTR-Torch %s (%s), gloo available: %s, output in %s' % (
        torch.__version__, sys.modules['deepctr_torch'].__version__, root, dist.is_gloo_available(), out))
    if subprocess.run(['npx', 'tsx', 'interop/ddp-export.ts', out], cwd=check.REPO).returncode != 0:
        sys.exit('ddp.py: interop/ddp-export.ts failed')
    import json
    with open(os.path.join(out, 'manifest.json')) as f:
        case = json.load(f)

    ctx = mp.get_context('spawn')
    queue = ctx.SimpleQueue()
    mp.start_processes(worker, args=(out, case, free_port(), queue), nprocs=WORLD, join=True, start_method='spawn')
    failures = 0
    ranks = None
    while not queue.empty():
        kind, value = queue.get()
        if kind == 'load':
            ok = value <= TOL
            failures += not ok
            print('%s PyTorch loads the mmoe-ts checkpoint (strict): predictions within %.2e of ours' % ('ok  ' if ok else 'FAIL', value))
        elif kind == 'epoch':
            print('     DDP epoch %d (2 processes, gloo, SGD lr %g, global batch %d): mean loss %.4f' % (value[0], LR, GLOBAL_BATCH, value[1]))
        elif kind == 'ranks':
            ranks = value
    ok = ranks is not None and ranks == 0.0
    failures += not ok
    print('%s the two ranks hold identical weights after training (max |diff| %s)' % ('ok  ' if ok else 'FAIL', ranks))

    ddp_state = check.load_safetensors(os.path.join(out, 'torch-ddp.safetensors'))
    ref = single_process(case, out)
    diff = max((ddp_state[k].float() - ref[k].float()).abs().max().item() for k in ref)
    ok = diff <= TOL
    failures += not ok
    print('%s DDP equals one process training on the whole batches: max |diff| %.2e over %d tensors' % ('ok  ' if ok else 'FAIL', diff, len(ref)))
    moved = max((ddp_state[k].float() - v.float()).abs().max().item() for k, v in check.load_safetensors(os.path.join(out, 'ours.safetensors')).items())
    print('     (training moved the weights by up to %.3f, so the comparison is not of untouched weights)' % moved)

    result = subprocess.run(['npx', 'tsx', 'interop/ddp-import.ts', out], cwd=check.REPO)
    failures += result.returncode != 0
    print('\n%d failed' % failures)
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
