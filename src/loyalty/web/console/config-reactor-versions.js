// A reactor's version history. Each edit ends the version and starts a successor pointing back to it
// (previousVersionId). The history comes from GET /v1/event_reactors/{id}/versions where the engine has it, and
// otherwise from every version of the event type (includeEnded=true), following the chain both ways.

import { el, formatDate, link, table } from "./ui.js";
import { describeReactions } from "./config-reactor-reactions.js";

const ROUTE_MISSING = new Set(["NOT_FOUND", "METHOD_NOT_ALLOWED"]);

function byCreation(a, b) {
  return String(a.createdAt).localeCompare(String(b.createdAt));
}

// The chain through `reactor` among `versions`, oldest first.
export function chainOf(reactor, versions) {
  const byId = new Map(versions.map((v) => [v.id, v]));
  byId.set(reactor.id, reactor);
  const chain = [reactor];
  const seen = new Set([reactor.id]);
  for (let v = reactor; v.previousVersionId && byId.has(v.previousVersionId) && !seen.has(v.previousVersionId); ) {
    v = byId.get(v.previousVersionId);
    seen.add(v.id);
    chain.unshift(v);
  }
  for (let v = reactor; ; ) {
    const next = versions.find((c) => c.previousVersionId === v.id && !seen.has(c.id));
    if (!next) break;
    seen.add(next.id);
    chain.push(next);
    v = next;
  }
  return chain;
}

async function everyVersion(engine, reactor) {
  const found = [];
  for (let skip = 0; ; skip += 1000) {
    const { data, meta } = await engine.list("/v1/event_reactors", { includeEnded: true, eventType: reactor.eventType, limit: 1000, skip });
    found.push(...data);
    if (!data.length || !meta || skip + data.length >= meta.total) break;
  }
  return found;
}

export async function versionsOf(engine, reactor) {
  try {
    const answer = await engine.get(`/v1/event_reactors/${encodeURIComponent(reactor.id)}/versions`);
    const list = Array.isArray(answer) ? answer : answer.versions || answer.data || [];
    return [...list].sort(byCreation);
  } catch (error) {
    if (!ROUTE_MISSING.has(error.code)) throw error;
  }
  return chainOf(reactor, await everyVersion(engine, reactor));
}

export function isEnded(reactor) {
  return Boolean(reactor.effectivity.end) && new Date(reactor.effectivity.end) <= new Date();
}

export function versionsTable(versions, current) {
  const rows = versions.map((v, i) => ({ ...v, number: i + 1 }));
  return table(
    [
      { label: "Version", value: (v) => (v.id === current.id ? `${v.number} (shown)` : link(`Version ${v.number}`, "reactors", v.id)), numeric: false },
      { label: "Name", value: (v) => v.name },
      { label: "Effective from", value: (v) => formatDate(v.effectivity.start) },
      { label: "Ended", value: (v) => (v.effectivity.end ? formatDate(v.effectivity.end) : el("span", { class: "badge ok" }, "Live")) },
      { label: "Reactions", value: (v) => describeReactions(v.reactions) },
    ],
    rows.reverse(),
    { caption: "Newest first", empty: "No versions." },
  );
}
