import type { SyntheticSettings } from './synthetic.js';
import type { PilotChoice } from './synthetic-pilot.js';

/*
 * The recorded learning-rate pilot: the output of `mmoe-ts synthetic --pilot` (PAPER_SYNTHETIC: 8192 training / 1024 validation rows, batch 32, 16 epochs = 4096 steps, validation loss every 128 steps; 2 runs per model, ρ and lr = 54 runs), run on this 2-core machine while other jobs loaded it (29m26s wall).
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
  "command": "mmoe-ts synthetic --pilot",
  "seconds": 1766,
  "settings": {
    "correlations": [
      0.5,
      0.9,
      1
    ],
    "runs": 2,
    "trainSize": 8192,
    "validationSize": 1024,
    "testSize": 2048,
    "dim": 100,
    "epochs": 16,
    "batchSize": 32,
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
    "pilotEpochs": 16,
    "scores": {
      "mmoe": {
        "0.0001": 1.016415727361523,
        "0.001": 0.35787465037900407,
        "0.01": 0.30104956126722
      },
      "omoe": {
        "0.0001": 1.0214056081620304,
        "0.001": 0.411470045486096,
        "0.01": 0.2994906255449558
      },
      "shared-bottom": {
        "0.0001": 0.9867412276318109,
        "0.001": 0.22196929114724617,
        "0.01": 0.21750629226687854
      }
    },
    "lr": {
      "mmoe": 0.01,
      "omoe": 0.01,
      "shared-bottom": 0.01
    },
    "epochs": 16,
    "flat": false,
    "gaps": [
      {
        "model": "mmoe",
        "correlation": 0.5,
        "atChosen": 0,
        "lastQuarter": 0,
        "minimum": 0.31819844055451146
      },
      {
        "model": "mmoe",
        "correlation": 0.9,
        "atChosen": 0,
        "lastQuarter": 0.19138079489366944,
        "minimum": 0.2510064379347478
      },
      {
        "model": "mmoe",
        "correlation": 1,
        "atChosen": 0,
        "lastQuarter": 0.17674738178540306,
        "minimum": 0.33394380531240064
      },
      {
        "model": "omoe",
        "correlation": 0.5,
        "atChosen": 0,
        "lastQuarter": 0.1130842830780141,
        "minimum": 0.3045038504286676
      },
      {
        "model": "omoe",
        "correlation": 0.9,
        "atChosen": 0,
        "lastQuarter": 0.20007241933173603,
        "minimum": 0.25727347478777296
      },
      {
        "model": "omoe",
        "correlation": 1,
        "atChosen": 0,
        "lastQuarter": 0.0127834850186066,
        "minimum": 0.3366945514184267
      },
      {
        "model": "shared-bottom",
        "correlation": 0.5,
        "atChosen": 0,
        "lastQuarter": 0.02916434613861041,
        "minimum": 0.2650689971854754
      },
      {
        "model": "shared-bottom",
        "correlation": 0.9,
        "atChosen": 0,
        "lastQuarter": 0.18638868138057618,
        "minimum": 0.19882537713137988
      },
      {
        "model": "shared-bottom",
        "correlation": 1,
        "atChosen": 0,
        "lastQuarter": 0.008642238081701059,
        "minimum": 0.18862450248378032
      }
    ]
  }
};
