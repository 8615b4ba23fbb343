export { createStateService, type StateService, type StateServiceDeps } from './service.js';
export { apply, tick } from './reducer.js';
export { createLiveState, StateOptionsSchema, type StateChange, type StateOptions, type StateOptionsInput } from './types.js';
