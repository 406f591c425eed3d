import type { SyntheticSettings } from './synthetic.js';
import type { PilotChoice } from './synthetic-pilot.js';

/*
 * The recorded learning-rate pilot: PRELIMINARY — an 8-epoch pilot (2048 steps) at 8192 training rows, 2 runs per cell, run on a loaded 2-core machine in 819 s; it will be replaced by the 16-epoch pilot of PAPER_SYNTHETIC.
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
  "seconds": 819,
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
    "epochs": 8,
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
    "pilotEpochs": 8,
    "scores": {
      "mmoe": {
        "0.0001": 1.082228513855583,
        "0.001": 0.37268446999299965,
        "0.01": 0.34691712214681875
      },
      "omoe": {
        "0.0001": 1.09669345311099,
        "0.001": 0.42670061049838254,
        "0.01": 0.35286836927580506
      },
      "shared-bottom": {
        "0.0001": 1.0163066947682413,
        "0.001": 0.3352326028291166,
        "0.01": 0.2342586264356914
      }
    },
    "lr": {
      "mmoe": 0.01,
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
        "lastQuarter": 0.041159462104839006,
        "minimum": 0.37010212919083746
      },
      {
        "model": "mmoe",
        "correlation": 0.9,
        "atChosen": 0,
        "lastQuarter": 0.06780273126162206,
        "minimum": 0.31423528213536606
      },
      {
        "model": "mmoe",
        "correlation": 1,
        "atChosen": 0,
        "lastQuarter": 0,
        "minimum": 0.3564139551142526
      },
      {
        "model": "omoe",
        "correlation": 0.5,
        "atChosen": 0,
        "lastQuarter": 0.08406433621090992,
        "minimum": 0.37311863404760914
      },
      {
        "model": "omoe",
        "correlation": 0.9,
        "atChosen": 0,
        "lastQuarter": 0.09738883096485207,
        "minimum": 0.34879192236137946
      },
      {
        "model": "omoe",
        "correlation": 1,
        "atChosen": 0,
        "lastQuarter": 0,
        "minimum": 0.3366945514184267
      },
      {
        "model": "shared-bottom",
        "correlation": 0.5,
        "atChosen": 0,
        "lastQuarter": 0.07692304829015018,
        "minimum": 0.26685041342558086
      },
      {
        "model": "shared-bottom",
        "correlation": 0.9,
        "atChosen": 0,
        "lastQuarter": 0.11620082226739803,
        "minimum": 0.2330501880702018
      },
      {
        "model": "shared-bottom",
        "correlation": 1,
        "atChosen": 0,
        "lastQuarter": 0.07635261026810425,
        "minimum": 0.20287527781129155
      }
    ]
  }
};
