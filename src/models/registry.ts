import { DCN, type DCNOptions } from './dcn.js';
import { DCNMix, type DCNMixOptions } from './dcn-mix.js';
import { AITM, type AITMOptions } from './aitm.js';
import { ESMM, type ESMMOptions } from './esmm.js';
import { MMoE, type MMoEOptions } from './mmoe.js';
import { OMoE, type OMoEOptions } from './omoe.js';
import { PLE, type PLEOptions } from './ple.js';
import { SharedBottom, type SharedBottomOptions } from './sharedbottom.js';
import { SingleTask, type SingleTaskOptions } from './singletask.js';
import type { MultiTaskModel } from './types.js';

/** Each model's options, by the name a config file uses. */
export interface ModelOptionsByName {
  MMoE: MMoEOptions;
  OMoE: OMoEOptions;
  SharedBottom: SharedBottomOptions;
  SingleTask: SingleTaskOptions;
  DCN: DCNOptions;
  DCNMix: DCNMixOptions;
  PLE: PLEOptions;
  ESMM: ESMMOptions;
  AITM: AITMOptions;
}

export type ModelName = keyof ModelOptionsByName;

const builders: { [K in ModelName]: (o: ModelOptionsByName[K]) => MultiTaskModel } = {
  MMoE: (o) => new MMoE(o),
  OMoE: (o) => new OMoE(o),
  SharedBottom: (o) => new SharedBottom(o),
  SingleTask: (o) => new SingleTask(o),
  DCN: (o) => new DCN(o),
  DCNMix: (o) => new DCNMix(o),
  PLE: (o) => new PLE(o),
  ESMM: (o) => new ESMM(o),
  AITM: (o) => new AITM(o),
};

export const modelNames: readonly ModelName[] = Object.keys(builders) as ModelName[];

/** The class createModel builds for each name (a subclass of one is not rebuilt by name). */
export const modelClasses: { readonly [K in ModelName]: abstract new (...args: never[]) => MultiTaskModel } = {
  MMoE, OMoE, SharedBottom, SingleTask, DCN, DCNMix, PLE, ESMM, AITM,
};

/** Builds a model from its name and options (as a JSON config names them). */
export function createModel<K extends ModelName>(name: K, options: ModelOptionsByName[K]): MultiTaskModel {
  if (!Object.prototype.hasOwnProperty.call(builders, name)) {
    throw new Error(`createModel: unknown model '${String(name)}', expected one of ${modelNames.join(', ')}`);
  }
  return builders[name](options);
}
