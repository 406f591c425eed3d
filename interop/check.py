#!/usr/bin/python3
"""Checks mmoe-ts against real PyTorch and DeepCTR-Torch, in both directions.

Run by hand (not in CI), from anywhere:

    apt-get install python3-torch     # Debian's CPU build of PyTorch (sklearn, tqdm stubbed if absent)
    git clone https://github.com/shenweichen/DeepCTR-Torch /tmp/deepctr-torch
    DEEPCTR_TORCH=/tmp/deepctr-torch /usr/bin/python3 interop/check.py

What it does:
  1. `npx tsx interop/export.ts OUT` writes, for every case in interop/cases.ts, our model in
     DeepCTR-Torch's layout (toDeepCTRTorch), an input X and our predictions on it.
  2. Here: builds the same model with DeepCTR-Torch, `load_state_dict(strict=True)` of our file,
     checks every tensor arrived with the dtype PyTorch keeps it in (int64 num_batches_tracked),
     and compares its predictions on X with ours. Then it builds a fresh DeepCTR-Torch model with
     other weights and BatchNorm statistics and saves it as PyTorch gives it (F32 + I64), and with
     its floats in F16 and in BF16, with PyTorch's predictions for each.
  3. `npx tsx interop/import.ts OUT` loads those files into our models (fromDeepCTRTorch, strict)
     and compares our predictions with PyTorch's.
Exit status 0 when every check passes (predictions within 1e-5).

DeepCTR-Torch imports TensorFlow's Keras callbacks and `requests` (a version check against PyPI)
at import time; neither is used here, so both are stubbed. Its fit() is never called.
The safetensors files are read and written by the small functions below (the format: u64
little-endian header length, JSON header, raw little-endian data), so the `safetensors` package
(not in Debian) is not needed.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import types

TOL = 1e-5
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def stub_imports():
    class _Callback:  # stands in for keras' Callback / History / EarlyStopping / ModelCheckpoint
        def __init__(self, *args, **kwargs):
            pass

    names = ['tensorflow', 'tensorflow.python', 'tensorflow.python.keras', 'tensorflow.python.keras.callbacks']
    for name in names:
        sys.modules.setdefault(name, types.ModuleType(name))
    cb = sys.modules['tensorflow.python.keras.callbacks']
    for attr in ['Callback', 'CallbackList', 'EarlyStopping', 'ModelCheckpoint', 'History']:
        setattr(cb, attr, type(attr, (_Callback,), {}))
    requests = types.ModuleType('requests')

    def offline(*args, **kwargs):
        raise RuntimeError('offline: interop/check.py does not contact PyPI')

    requests.get = offline
    sys.modules['requests'] = requests
    # sklearn.metrics and tqdm serve only fit/evaluate, never called here: stub them when absent
    # (python3-sklearn / python3-tqdm not installed), so torch alone is enough.
    for name in ['sklearn.metrics', 'tqdm']:
        try:
            __import__(name)
        except ImportError:
            parent = name.split('.')[0]
            sys.modules.setdefault(parent, types.ModuleType(parent))
            mod = sys.modules.setdefault(name, types.ModuleType(name))
            mod.__all__ = []
            if name == 'tqdm':
                mod.tqdm = lambda *a, **k: None


def import_deepctr():
    root = os.environ.get('DEEPCTR_TORCH')
    if not root or not os.path.isdir(os.path.join(root, 'deepctr_torch')):
        sys.exit('check.py: set DEEPCTR_TORCH to a checkout of github.com/shenweichen/DeepCTR-Torch '
                 '(the folder that contains deepctr_torch/), got %r' % root)
    stub_imports()
    sys.path.insert(0, root)
    import deepctr_torch  # noqa: F401
    return root


# --- safetensors, by hand -------------------------------------------------------------------
import torch  # noqa: E402

DTYPES = {'F32': torch.float32, 'F64': torch.float64, 'F16': torch.float16, 'BF16': torch.bfloat16,
          'I64': torch.int64, 'I32': torch.int32}
NAMES = {v: k for k, v in DTYPES.items()}
WIDTH = {'F32': 4, 'F64': 8, 'F16': 2, 'BF16': 2, 'I64': 8, 'I32': 4}


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: the same bits as int16
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def save_safetensors(path, tensors):
    names = list(tensors)
    # Widest dtype first, as the reference writer, so every tensor is aligned to its element size.
    order = sorted(names, key=lambda n: -WIDTH[NAMES[tensors[n].dtype]])
    header, blobs, offset = {}, [], 0
    for n in order:
        b = tensor_bytes(tensors[n])
        header[n] = {'dtype': NAMES[tensors[n].dtype], 'shape': list(tensors[n].shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n].decode('utf-8'))
    body = data[8 + n:]
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        begin, end = info['data_offsets']
        dtype = DTYPES[info['dtype']]
        raw = bytearray(body[begin:end])  # a copy: frombuffer needs writable memory
        storage_dtype = torch.int16 if dtype == torch.bfloat16 else dtype
        t = torch.frombuffer(raw, dtype=storage_dtype) if raw else torch.empty(0, dtype=storage_dtype)
        if dtype == torch.bfloat16:
            t = t.view(torch.bfloat16)
        out[name] = t.reshape(info['shape']).clone()
    return out


# --- building DeepCTR-Torch models ----------------------------------------------------------
def build(case):
    from deepctr_torch.inputs import DenseFeat, SparseFeat, VarLenSparseFeat
    from deepctr_torch.models import DCN, DCNMix
    from deepctr_torch.models.multitask import ESMM, MMOE, PLE, SharedBottom

    cols = []
    for f in case['features']:
        if f['kind'] == 'dense':
            cols.append(DenseFeat(f['name'], f['dimension']))
        elif f['kind'] == 'sparse':
            cols.append(SparseFeat(f['name'], f['vocabulary_size'], embedding_dim=f['embedding_dim']))
        else:
            sparse = SparseFeat(f['name'], f['vocabulary_size'], embedding_dim=f['embedding_dim'])
            cols.append(VarLenSparseFeat(sparse, maxlen=f['maxlen'], combiner=f['combiner']))
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in case['kwargs'].items()}
    if case['model'] in ('DCN', 'DCNMix'):
        return {'DCN': DCN, 'DCNMix': DCNMix}[case['model']](cols, cols, **kw)
    return {'MMOE': MMOE, 'PLE': PLE, 'SharedBottom': SharedBottom, 'ESMM': ESMM}[case['model']](cols, **kw)


def predict(model, X):
    model.eval()
    with torch.no_grad():
        return model(X).reshape(X.shape[0], -1)


def spread(pred):
    """The smallest max - min over rows of any task's predictions: ~0 means a degenerate case
    (dead units, saturated outputs) whose agreement would prove little."""
    return (pred.max(0).values - pred.min(0).values).min().item()


def node(script, out):
    return subprocess.run(['npx', 'tsx', os.path.join('interop', script), out], cwd=REPO)


def main():
    root = import_deepctr()
    out = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix='mmoe-ts-interop-')
    print('torch %s, DeepCTR-Torch %s (%s), output in %s' % (torch.__version__, sys.modules['deepctr_torch'].__version__, root, out))
    if node('export.ts', out).returncode != 0:
        sys.exit('check.py: interop/export.ts failed')
    with open(os.path.join(out, 'manifest.json')) as f:
        manifest = json.load(f)

    failures = 0
    print('\nours -> PyTorch: load_state_dict(strict=True) of toDeepCTRTorch output, predictions on the same X')
    for i, case in enumerate(manifest):
        d = os.path.join(out, case['name'])
        X = load_safetensors(os.path.join(d, 'x.safetensors'))['X']
        ours = load_safetensors(os.path.join(d, 'ours.safetensors'))
        model = build(case)
        line = '  %-28s' % case['name']
        try:
            model.load_state_dict(ours, strict=True)
            theirs = model.state_dict()
            bad_dtypes = [k for k in theirs if ours[k].dtype != theirs[k].dtype]
            mine = load_safetensors(os.path.join(d, 'ours-pred.safetensors'))['pred']
            diff = (predict(model, X) - mine).abs().max().item()
            counters = sorted({NAMES[ours[k].dtype] for k in ours if k.endswith('num_batches_tracked')})
            ok = diff <= TOL and not bad_dtypes and spread(mine) > 1e-3
            line += ' strict load ok, %3d tensors, max |diff| %.2e, spread %.3f%s%s' % (
                len(ours), diff, spread(mine), ', num_batches_tracked %s' % '/'.join(counters) if counters else '',
                '' if not bad_dtypes else ', dtype differs: %s' % bad_dtypes)
        except Exception as e:  # noqa: BLE001 - the report names what failed
            ok = False
            line += ' FAILED: %s' % str(e).replace('\n', ' ')[:400]
        failures += not ok
        print(('ok  ' if ok else 'FAIL') + line)

        # PyTorch -> ours: a fresh DeepCTR-Torch model with other weights and BatchNorm statistics.
        torch.manual_seed(1000 + i)
        src = build(case)
        with torch.no_grad():
            for p in src.parameters():
                p.add_(0.05 * torch.randn_like(p))
        src.train()
        gen = torch.Generator().manual_seed(2000 + i)
        with torch.no_grad():
            for _ in range(20):  # BatchNorm running statistics, num_batches_tracked = 20
                src(X[torch.randint(0, X.shape[0], (32,), generator=gen)])
        sd = src.state_dict()
        preds = {}
        for variant, dtype in [('f32', None), ('f16', torch.float16), ('bf16', torch.bfloat16)]:
            cast = {k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v) for k, v in sd.items()}
            save_safetensors(os.path.join(d, 'torch-%s.safetensors' % variant), cast)
            rounded = build(case)
            rounded.load_state_dict({k: (v.float() if v.is_floating_point() else v) for k, v in cast.items()}, strict=True)
            preds[variant] = predict(rounded, X)
            if spread(preds[variant]) <= 1e-3:
                failures += 1
                print('FAIL  %-28s PyTorch predictions barely vary (spread %.2e): a degenerate case' % (case['name'], spread(preds[variant])))
        save_safetensors(os.path.join(d, 'torch-pred.safetensors'), preds)

    print('\nPyTorch -> ours: fromDeepCTRTorch (strict) of PyTorch-saved files (F32, F16, BF16; I64 num_batches_tracked)')
    result = node('import.ts', out)
    with open(os.path.join(out, 'import-report.json')) as f:
        report = json.load(f)
    for r in report['results']:
        desc = '  %-28s %-4s files %-14s' % (r['case'], r['variant'], '/'.join(r.get('fileDtypes', [])))
        if 'error' in r:
            desc += ' FAILED: %s' % r['error'][:400]
        else:
            desc += ' max |diff| %.2e' % r['maxAbsDiff']
            if 'numBatchesTracked' in r:
                desc += ', num_batches_tracked %s, rewritten as %s' % (r['numBatchesTracked'], '/'.join(map(str, r['rewrittenCounterDtype'])))
        print(('ok  ' if r['ok'] else 'FAIL') + desc)
    failures += report['failed']
    if result.returncode not in (0, 1):
        failures += 1
    total = len(manifest) + report['checks']
    print('\n%d checks, %d failed (tolerance %g)' % (total, failures, TOL))
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
