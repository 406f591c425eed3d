/*
 * The demo page: three training workers (MMoE, OMoE, Shared-Bottom), their progress drawn live with
 * the library's own SVG charts. Redraws are coalesced into one per animation frame.
 */
import { heatmap, lineChart } from '../../src/index.js';
import type { LineSeries } from '../../src/plot/svg.js';
import { DEMO_MODELS, type DemoModel, type TrainRequest, type WorkerMessage } from './protocol.js';

const INFO: Record<DemoModel, { label: string; color: string; desc: string }> = {
  mmoe: { label: 'MMoE', color: '#1f77b4', desc: '8 experts, one softmax gate per task mixing them, a tower per task.' },
  omoe: { label: 'OMoE', color: '#ff7f0e', desc: 'The same 8 experts, but one gate shared by both tasks.' },
  'shared-bottom': { label: 'Shared-Bottom', color: '#2ca02c', desc: 'One hidden layer shared by both tasks, as wide as gives MMoE\u2019s parameter count.' },
};

interface ModelState {
  parameters: number;
  stepsPerEpoch: number;
  /** Per-batch training loss, in step order. */
  losses: number[];
  /** Test loss before training (index 0) and after each epoch. */
  testLosses: number[];
  epoch: number;
  samplesPerSecond: number;
  gates: number[][] | null;
  weights: Uint8Array | null;
  seconds: number;
  error: string | null;
  done: boolean;
}

interface DemoState {
  running: boolean;
  request: Omit<TrainRequest, 'model'> | null;
  models: Record<DemoModel, ModelState>;
  labelCorrelation: number | null;
  consoleErrors: string[];
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const fresh = (): ModelState => ({ parameters: 0, stepsPerEpoch: 0, losses: [], testLosses: [], epoch: 0, samplesPerSecond: 0, gates: null, weights: null, seconds: 0, error: null, done: false });
const state: DemoState = {
  running: false, request: null, labelCorrelation: null, consoleErrors: [],
  models: { mmoe: fresh(), omoe: fresh(), 'shared-bottom': fresh() },
};
// For the browser test (and the curious): the live state.
(globalThis as { mmoeDemo?: unknown }).mmoeDemo = { state };

let workers: Worker[] = [];

function params(): URLSearchParams {
  return new URLSearchParams(location.search);
}

/** Settings from the controls; ?rho=&epochs=&rows=&batch= in the URL preset them. */
function readRequest(): Omit<TrainRequest, 'model'> {
  const trainSize = Number(($('rows') as HTMLSelectElement).value);
  return {
    type: 'train', correlation: Number(($('rho') as HTMLInputElement).value),
    trainSize, testSize: Math.max(500, Math.round(trainSize / 10)),
    epochs: Number(($('epochs') as HTMLSelectElement).value),
    batchSize: Number(params().get('batch') ?? 128), lr: 5e-3, seed: 0,
  };
}

function stopWorkers(): void {
  for (const w of workers) w.terminate();
  workers = [];
  state.running = false;
}

function start(): void {
  stopWorkers();
  const req = readRequest();
  state.request = req;
  state.running = true;
  state.labelCorrelation = null;
  for (const m of DEMO_MODELS) state.models[m] = fresh();
  for (const m of DEMO_MODELS) {
    const w = new Worker('dist/worker.js');
    w.onmessage = (e: MessageEvent<WorkerMessage>) => onMessage(e.data);
    w.onerror = (e) => onMessage({ type: 'error', model: m, message: e.message || 'the worker failed to start' });
    w.postMessage({ ...req, model: m } satisfies TrainRequest);
    workers.push(w);
  }
  setStatus(`Training on ${req.trainSize.toLocaleString()} rows (ρ = ${req.correlation.toFixed(2)}), ${req.epochs} epochs, batches of ${req.batchSize}, Adam lr ${req.lr}\u2026`);
  syncButtons();
  schedule();
}

function onMessage(msg: WorkerMessage): void {
  const s = state.models[msg.model];
  switch (msg.type) {
    case 'start':
      s.parameters = msg.parameters;
      s.stepsPerEpoch = msg.stepsPerEpoch;
      state.labelCorrelation = msg.labelCorrelation;
      break;
    case 'batches':
      for (let i = 0; i < msg.losses.length; i++) s.losses[msg.firstStep - 1 + i] = msg.losses[i];
      s.samplesPerSecond = msg.samplesPerSecond;
      break;
    case 'epoch':
      s.epoch = msg.epoch;
      s.testLosses.push(msg.testLoss);
      if (msg.gates) s.gates = msg.gates;
      break;
    case 'done':
      s.weights = msg.weights;
      s.seconds = msg.seconds;
      s.done = true;
      break;
    case 'error':
      s.error = msg.message;
      s.done = true;
      console.error(`${INFO[msg.model].label}: ${msg.message}`);
      break;
  }
  if (DEMO_MODELS.every((m) => state.models[m].done) && state.running) {
    state.running = false;
    const best = DEMO_MODELS.filter((m) => !state.models[m].error)
      .map((m) => ({ m, loss: state.models[m].testLosses.at(-1) ?? Infinity })).sort((a, b) => a.loss - b.loss)[0];
    const corr = state.labelCorrelation === null ? '' : ` (the labels came out with correlation ${state.labelCorrelation.toFixed(2)}: the sine terms and the noise weaken it)`;
    setStatus(best ? `Done${corr}. Lowest test loss: ${INFO[best.m].label}, ${best.loss.toFixed(4)}. Download the weights below, or move ρ and train again.` : 'Training failed.');
    syncButtons();
  }
  schedule();
}

function setStatus(text: string): void {
  $('status').textContent = text;
}

function syncButtons(): void {
  ($('stop') as HTMLButtonElement).disabled = !state.running;
  ($('train') as HTMLButtonElement).textContent = state.running ? 'Restart' : 'Train';
}

/** Exponential moving average: per-batch losses are noisy. */
function smooth(xs: readonly number[], alpha = 0.08): number[] {
  const out: number[] = [];
  let m = NaN;
  for (const x of xs) {
    if (x === undefined) { out.push(NaN); continue; }
    m = Number.isNaN(m) ? x : m + alpha * (x - m);
    out.push(m);
  }
  return out;
}

function renderCards(): void {
  const host = $('models');
  if (host.childElementCount === 0) {
    for (const m of DEMO_MODELS) {
      const el = document.createElement('article');
      el.className = 'card model';
      el.id = `card-${m}`;
      el.style.setProperty('--c', INFO[m].color);
      el.innerHTML = `<h2>${INFO[m].label} <small class="params"></small></h2><p class="desc">${INFO[m].desc}</p>
        <div class="bar"><div></div></div>
        <div class="stats"><div>epoch<b class="epoch">–</b></div><div>train loss<b class="train">–</b></div><div>test loss<b class="test">–</b></div></div>
        <button type="button" class="download" disabled>Download weights (.safetensors)</button>`;
      el.querySelector('button')!.addEventListener('click', () => download(m));
      host.append(el);
    }
  }
  const epochs = state.request?.epochs ?? 0;
  for (const m of DEMO_MODELS) {
    const s = state.models[m];
    const el = $(`card-${m}`);
    const total = s.stepsPerEpoch * epochs;
    const done = s.losses.length;
    (el.querySelector('.bar > div') as HTMLElement).style.width = total ? `${(100 * done) / total}%` : '0';
    el.querySelector('.params')!.textContent = s.parameters ? `${s.parameters.toLocaleString()} parameters` : '';
    el.querySelector('.epoch')!.textContent = s.error ? 'error' : total ? `${Math.min(epochs, Math.floor(done / s.stepsPerEpoch))}/${epochs}` : '–';
    const recent = smooth(s.losses).at(-1);
    el.querySelector('.train')!.textContent = recent !== undefined && Number.isFinite(recent) ? recent.toFixed(3) : '–';
    el.querySelector('.test')!.textContent = s.testLosses.length > 1 ? s.testLosses[s.testLosses.length - 1].toFixed(3) : '–';
    const btn = el.querySelector('button')!;
    btn.disabled = !s.weights;
    btn.title = s.error ?? (s.done ? `trained in ${s.seconds.toFixed(1)} s` : s.samplesPerSecond ? `${Math.round(s.samplesPerSecond).toLocaleString()} samples/s` : '');
  }
}

function renderCharts(): void {
  const trainSeries: LineSeries[] = DEMO_MODELS.map((m) => {
    const s = state.models[m];
    const ys = smooth(s.losses);
    return { name: INFO[m].label, color: INFO[m].color, points: ys.map((y, i) => [(i + 1) / Math.max(1, s.stepsPerEpoch), y] as const) };
  });
  $('train-chart').innerHTML = lineChart({ title: 'Training loss', xLabel: 'epoch', yLabel: 'MSE (smoothed)', series: trainSeries, logY: true, width: 560, height: 320 });
  const testSeries: LineSeries[] = DEMO_MODELS.map((m) => ({
    name: INFO[m].label, color: INFO[m].color, points: state.models[m].testLosses.map((y, i) => [i, y] as const),
  }));
  // A line needs two points: until the first epoch ends the placeholder stays.
  const hasLine = testSeries.some((t) => t.points.length > 1);
  $('test-chart').innerHTML = !hasLine ? '' : lineChart({ title: 'Test loss per epoch', xLabel: 'epoch', yLabel: 'MSE', series: testSeries, logY: true, width: 560, height: 320 });
  const gates = state.models.mmoe.gates;
  if (gates) {
    $('gate-chart').innerHTML = heatmap({
      title: `MMoE gate weights ${state.models.mmoe.epoch ? `after epoch ${state.models.mmoe.epoch}` : 'before training'} (ρ = ${state.request?.correlation.toFixed(2)})`,
      xLabel: 'expert', yLabel: 'task', rowLabels: ['task 1', 'task 2'], colLabels: gates[0].map((_, j) => String(j)), // 0-based, as expert_dnn.<j> and the CLI's gates.svg
      values: gates, min: 0, width: 760, height: 220,
    });
  } else if (!state.running) {
    $('gate-chart').innerHTML = '';
  }
}

let frame = 0;
function schedule(): void {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    renderCards();
    renderCharts();
  });
}

function download(m: DemoModel): void {
  const bytes = state.models[m].weights;
  if (!bytes) return;
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `${m}-synthetic-rho${state.request?.correlation.toFixed(2)}.safetensors`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function init(): void {
  const q = params();
  const rho = $('rho') as HTMLInputElement;
  for (const [key, id] of [['rho', 'rho'], ['epochs', 'epochs'], ['rows', 'rows']] as const) {
    const v = q.get(key);
    if (v === null) continue;
    const el = $(id) as HTMLInputElement | HTMLSelectElement;
    if (el instanceof HTMLSelectElement && ![...el.options].some((o) => o.value === v)) el.append(new Option(v, v));
    el.value = v;
  }
  const showRho = (): void => { $('rho-out').textContent = Number(rho.value).toFixed(2); };
  showRho();
  rho.addEventListener('input', showRho);
  rho.addEventListener('change', () => { if (state.running) start(); });
  $('train').addEventListener('click', start);
  $('stop').addEventListener('click', () => {
    stopWorkers();
    setStatus('Stopped.');
    syncButtons();
    schedule();
  });
  schedule();
}

init();
