import type { SyntheticSettings } from './synthetic.js';
import type { PilotChoice } from './synthetic-pilot.js';

/*
 * The recorded learning-rate pilot: the pilot phase of `mmoe-ts synthetic --paper` (PAPER_SYNTHETIC: 65536 training / 1024 validation rows, batch 128, 8 epochs = 4096 steps, validation loss every 128 steps; 2 runs per model, ρ and lr = 54 runs), run on this idle 2-core machine with 2 workers: 428 s of run time, so about 214 s of wall time (`seconds`).
 * The demo and --full take their Adam rates from here; --paper reruns the same pilot (same
 * seeds, so the same choice) before its main runs. Regenerate with `mmoe-ts synthetic --pilot`
 * and copy its pilot.json here when the protocol changes.
 */
export interface RecordedPilot {
  command: string;
  /** Wall time of the pilot, seconds. */
  seconds: number;
  /** The pilot's settings (its runs are the pilot runs per cell; lr is unused, each job has its own). */
  settings: SyntheticSettings;
  choice: PilotChoice;
}

export const SYNTHETIC_PILOT: RecordedPilot = {
  "command": "mmoe-ts synthetic --paper (its pilot phase; `mmoe-ts synthetic --pilot` runs the same jobs)",
  "seconds": 214,
  "settings": {
    "correlations": [
      0.5,
      0.9,
      1
    ],
    "runs": 2,
    "trainSize": 65536,
    "validationSize": 1024,
    "testSize": 2048,
    "dim": 100,
    "epochs": 8,
    "batchSize": 128,
    "logEvery": 128,
    "lr": {
      "mmoe": 0.001,
      "omoe": 0.001,
      "shared-bottom": 0.001
    },
    "models": [
      "mmoe",
      "omoe",
      "shared-bottom"
    ],
    "numExperts": 8,
    "expertUnits": 16,
    "towerUnits": 8,
    "bottomUnits": 113,
    "bottomRule": "paper",
    "initStd": 0.1,
    "seed": 0,
    "sineSeed": 0
  },
  "choice": {
    "grid": [
      0.0001,
      0.001,
      0.01
    ],
    "runsPerCell": 2,
    "pilotEpochs": 8,
    "scores": {
      "mmoe": {
        "0.0001": 0.970950271864746,
        "0.001": 0.0745358053998685,
        "0.01": 0.08090791617327318
      },
      "omoe": {
        "0.0001": 0.9757429224261399,
        "0.001": 0.0975025626739374,
        "0.01": 0.050876175499317146
      },
      "shared-bottom": {
        "0.0001": 0.77492003854511,
        "0.001": 0.08237240824452952,
        "0.01": 0.0812850217157111
      }
    },
    "lr": {
      "mmoe": 0.001,
      "omoe": 0.01,
      "shared-bottom": 0.01
    },
    "epochs": 8,
    "flat": false,
    "gaps": [
      {
        "model": "mmoe",
        "correlation": 0.5,
        "atChosen": 0,
        "lastQuarter": 0.5866354538684326,
        "minimum": 0.07723465254127786
      },
      {
        "model": "mmoe",
        "correlation": 0.9,
        "atChosen": 0,
        "lastQuarter": 0.9149609439906858,
        "minimum": 0.07952602864739011
      },
      {
        "model": "mmoe",
        "correlation": 1,
        "atChosen": 0,
        "lastQuarter": 1.673239876263469,
        "minimum": 0.06684673501093752
      },
      {
        "model": "omoe",
        "correlation": 0.5,
        "atChosen": 0,
        "lastQuarter": 0.3114441946542885,
        "minimum": 0.0561083380824211
      },
      {
        "model": "omoe",
        "correlation": 0.9,
        "atChosen": 0,
        "lastQuarter": 0.14328141732985578,
        "minimum": 0.0442779488374568
      },
      {
        "model": "omoe",
        "correlation": 1,
        "atChosen": 0,
        "lastQuarter": 0.28810008246382646,
        "minimum": 0.05224223957807356
      },
      {
        "model": "shared-bottom",
        "correlation": 0.5,
        "atChosen": 0,
        "lastQuarter": 0.21074752542655428,
        "minimum": 0.06483195900853593
      },
      {
        "model": "shared-bottom",
        "correlation": 0.9,
        "atChosen": 0,
        "lastQuarter": 0.4948281987848915,
        "minimum": 0.07676893904483381
      },
      {
        "model": "shared-bottom",
        "correlation": 1,
        "atChosen": 0,
        "lastQuarter": 0.4979474612317665,
        "minimum": 0.10225416709376359
      }
    ]
  }
};
