import { DCN, type DCNOptions } from './dcn.js';
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
  PLE: PLEOptions;
  ESMM: ESMMOptions;
}

export type ModelName = keyof ModelOptionsByName;

const builders: { [K in ModelName]: (o: ModelOptionsByName[K]) => MultiTaskModel } = {
  MMoE: (o) => new MMoE(o),
  OMoE: (o) => new OMoE(o),
  SharedBottom: (o) => new SharedBottom(o),
  SingleTask: (o) => new SingleTask(o),
  DCN: (o) => new DCN(o),
  PLE: (o) => new PLE(o),
  ESMM: (o) => new ESMM(o),
};

export const modelNames: readonly ModelName[] = Object.keys(builders) as ModelName[];

/** The class createModel builds for each name (a subclass of one is not rebuilt by name). */
export const modelClasses: { readonly [K in ModelName]: abstract new (...args: never[]) => MultiTaskModel } = {
  MMoE, OMoE, SharedBottom, SingleTask, DCN, PLE, ESMM,
};

/** Builds a model from its name and options (as a JSON config names them). */
export function createModel<K extends ModelName>(name: K, options: ModelOptionsByName[K]): MultiTaskModel {
  if (!Object.prototype.hasOwnProperty.call(builders, name)) {
    throw new Error(`createModel: unknown model '${String(name)}', expected one of ${modelNames.join(', ')}`);
  }
  return builders[name](options);
}
