/** Work orders (工单, issue 19): docs/work-orders.md. */
export { createWorkOrders, actorString, followHash, type WorkOrdersDeps, type WorkOrdersService } from './service.js';
export { orderRoutes, type OrderRoutesDeps } from './routes.js';
export { OrdersConfigSchema } from './config.js';
export { defaultDeadlineFor, DEFAULT_TIER_HOURS, transition, allowedActions, type DeadlineFor } from './transitions.js';
export { orderView, maskPhone } from './view.js';
export type { WorkOrders, NewOrder, CreatedOrder, OrderChange, OrderActor, OrderQuery, StoredPhotoInput } from './types.js';
export { createAutoClose, type AutoCloseDeps } from './autoclose.js';
