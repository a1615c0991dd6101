// The console's configuration pages: event types, reactors, rewards, code pools, audiences, tiers, venues, badges,
// reward categories, points rules (liability criteria) and settings. Each module exports its own routes.

import { routes as eventTypes } from "./config-event-types.js";
import { routes as reactors } from "./config-reactors.js";
import { routes as rewards } from "./config-rewards.js";
import { routes as codePools } from "./config-code-pools.js";
import { routes as audiences } from "./config-audiences.js";
import { routes as tiers } from "./config-tiers.js";
import { routes as venues } from "./config-venues.js";
import { routes as badges } from "./config-badges.js";
import { routes as categories } from "./config-categories.js";
import { routes as pointsRules } from "./config-criteria.js";
import { routes as settings } from "./config-settings.js";

export const routes = [...eventTypes, ...reactors, ...rewards, ...codePools, ...audiences, ...tiers, ...venues, ...badges, ...categories, ...pointsRules, ...settings];
