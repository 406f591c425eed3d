import type { SyntheticSettings } from './experiment.js';
import type { PilotChoice } from './pilot.js';

/*
 * The recorded learning-rate pilot: the pilot phase of `mmoe-ts synthetic --paper` (PAPER_SYNTHETIC: 65536 training / 1024 validation rows, batch 128, 6 epochs = 3072 steps, validation loss every 128 steps; 2 runs per model, ρ and lr = 54 runs), run on this 2-core machine with 2 workers while a test run shared it: 299 s of run time, so about 150 s of wall time (`seconds`).
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
  "seconds": 150,
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
    "epochs": 6,
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
    "pilotEpochs": 6,
    "scores": {
      "mmoe": {
        "0.0001": 1.116897497246146,
        "0.001": 0.15117661150296435,
        "0.01": 0.09405811480831294
      },
      "omoe": {
        "0.0001": 1.1205252398256202,
        "0.001": 0.18241682708132592,
        "0.01": 0.06383278115394976
      },
      "shared-bottom": {
        "0.0001": 1.043936604247946,
        "0.001": 0.15146796284248934,
        "0.01": 0.11547429293720957
      }
    },
    "lr": {
      "mmoe": 0.01,
      "omoe": 0.01,
      "shared-bottom": 0.01
    },
    "epochs": 6,
    "flat": false,
    "gaps": [
      {
        "model": "mmoe",
        "correlation": 0.5,
        "atChosen": 0,
        "lastQuarter": 0.2123222709398387,
        "minimum": 0.09702401908445611
      },
      {
        "model": "mmoe",
        "correlation": 0.9,
        "atChosen": 0,
        "lastQuarter": 0.3841486952267623,
        "minimum": 0.0689594123037047
      },
      {
        "model": "mmoe",
        "correlation": 1,
        "atChosen": 0,
        "lastQuarter": 0.20581202664030807,
        "minimum": 0.11619091303677805
      },
      {
        "model": "omoe",
        "correlation": 0.5,
        "atChosen": 0,
        "lastQuarter": 1.0624580492867008,
        "minimum": 0.07358295424989128
      },
      {
        "model": "omoe",
        "correlation": 0.9,
        "atChosen": 0,
        "lastQuarter": 0.593578564044088,
        "minimum": 0.05062215610334646
      },
      {
        "model": "omoe",
        "correlation": 1,
        "atChosen": 0,
        "lastQuarter": 0.6377921009458885,
        "minimum": 0.06729323310861153
      },
      {
        "model": "shared-bottom",
        "correlation": 0.5,
        "atChosen": 0,
        "lastQuarter": 0.26467151256555477,
        "minimum": 0.07849513393814068
      },
      {
        "model": "shared-bottom",
        "correlation": 0.9,
        "atChosen": 0,
        "lastQuarter": 0.6315273247202098,
        "minimum": 0.11475637487501605
      },
      {
        "model": "shared-bottom",
        "correlation": 1,
        "atChosen": 0,
        "lastQuarter": 0.4302911749343412,
        "minimum": 0.153171369998472
      }
    ]
  }
};
