// The console's program and activity pages: dashboard, members, event stream, webhook deliveries, audit trail.
// The pages live in their own modules; this list fixes their order in the navigation.
import { activityRoutes } from "./activity.js";
import { dashboardRoutes } from "./dashboard.js";
import { memberRoutes } from "./members.js";

export const routes = [...dashboardRoutes, ...memberRoutes, ...activityRoutes];
