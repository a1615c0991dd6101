// Uploading a CSV file of codes into a pool. The file is read in the browser and sent in batches, in order, to
// POST /v1/code_pools/{id}/codes/create_bulk, which takes at most 100,000 codes a call inside the engine's 1 MiB body
// limit and answers {created, duplicates}. A progress bar follows the batches; the report lists the duplicates the
// engine skipped, saying whether each was repeated in the file or was already a code of the program.

import { newKey } from "./api.js";
import { el, formatPoints, table } from "./ui.js";
import { editorForm, fieldRow, problem } from "./config-kit.js";

const MAX_PER_CALL = 100_000;
const MAX_BATCH_BYTES = 700 * 1024; // well inside the 1 MiB body limit, JSON quoting included
const HEADERS = new Set(["code", "codes", "value", "voucher code", "voucher_code"]);

// The first cell of a CSV line (quotes and doubled quotes understood), trimmed.
function firstCell(line) {
  if (!line.startsWith('"')) return line.split(",")[0].trim();
  let cell = "";
  for (let i = 1; i < line.length; i += 1) {
    if (line[i] === '"' && line[i + 1] === '"') {
      cell += '"';
      i += 1;
    } else if (line[i] === '"') break;
    else cell += line[i];
  }
  return cell.trim();
}

// The codes of a file, in order, with the lines that cannot be codes set aside (1–256 printable characters).
export function parseCodes(text) {
  const codes = [];
  const invalid = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const cell = firstCell(line.replace(/^\uFEFF/, ""));
    if (!cell) return;
    if (!codes.length && !invalid.length && HEADERS.has(cell.toLowerCase())) return;
    if (cell.length > 256 || /[\u0000-\u001f\u007f-\u009f]/.test(cell)) invalid.push({ line: index + 1, code: cell });
    else codes.push(cell);
  });
  return { codes, invalid };
}

// Batches of about a twentieth of the file (so the bar moves), 100 to 5,000 codes, never over the byte budget.
export function batchesOf(codes) {
  const size = Math.min(MAX_PER_CALL, Math.max(100, Math.min(5000, Math.ceil(codes.length / 20))));
  const batches = [];
  let current = [];
  let bytes = 0;
  for (const code of codes) {
    const cost = new TextEncoder().encode(JSON.stringify(code)).length + 1;
    if (current.length && (current.length >= size || bytes + cost > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(code);
    bytes += cost;
  }
  if (current.length) batches.push(current);
  return batches;
}

function reportOf(codes, created, duplicates, invalid) {
  const counts = new Map();
  for (const code of codes) counts.set(code, (counts.get(code) || 0) + 1);
  const unique = [...new Set(duplicates)];
  const rows = unique.map((code) => ({ code, why: counts.get(code) > 1 ? "Repeated in the file" : "Already a code of the program" }));
  return el(
    "div",
    { id: "upload-report", class: "upload-report" },
    el("h3", {}, "Upload report"),
    el("p", {}, `${formatPoints(created)} codes added; ${formatPoints(duplicates.length)} duplicates skipped${invalid.length ? `; ${invalid.length} lines were not codes` : ""}.`),
    table([{ label: "Duplicate code", value: (r) => r.code }, { label: "Why it was skipped", value: (r) => r.why }], rows, { empty: "No duplicates.", caption: "Duplicates" }),
    invalid.length ? table([{ label: "Line", value: (r) => String(r.line), numeric: true }, { label: "Not a code", value: (r) => r.code }], invalid, { caption: "Lines skipped" }) : null,
  );
}

// options: {engine, pool, onDone()} → the upload form with its progress bar and report.
export function uploadForm({ engine, pool, onDone }) {
  const file = el("input", { type: "file", accept: ".csv,.txt,text/csv,text/plain" });
  const progressId = `upload-progress-${pool.id}`;
  const bar = el("progress", { id: progressId, max: 1, value: 0 });
  const status = el("p", { class: "muted", role: "status" }, "No upload yet.");
  const report = el("div");
  const path = `/v1/code_pools/${encodeURIComponent(pool.id)}/codes/create_bulk`;
  let job = null; // {codes, batches, keys, next, created, duplicates, invalid}: kept so a failed upload can resume

  async function send() {
    for (; job.next < job.batches.length; job.next += 1) {
      const batch = job.batches[job.next];
      status.textContent = `Sending batch ${job.next + 1} of ${job.batches.length}…`;
      // The same key for a retried batch: if its first attempt was applied, the engine replays the answer.
      const answer = await engine.post(path, { codes: batch }, { idempotencyKey: job.keys[job.next] });
      job.created += answer.created;
      job.duplicates.push(...answer.duplicates);
      bar.value = job.batches.slice(0, job.next + 1).reduce((n, b) => n + b.length, 0);
    }
    status.textContent = `Done: ${job.codes.length} codes sent in ${job.batches.length} batches.`;
    report.replaceChildren(reportOf(job.codes, job.created, job.duplicates, job.invalid));
    job = null;
    onDone();
  }

  const node = editorForm({
    children: [
      fieldRow({ label: "CSV file of codes", control: file, apiNames: ["file", "codes"], help: "One code per line (the first column is used; a header named code is skipped). Codes are case-sensitive." }),
      el("div", { class: "progress-row" }, el("label", { for: progressId }, "Upload progress"), bar, status),
    ],
    submitLabel: "Upload codes",
    busyLabel: "Uploading…",
    onSubmit: async () => {
      if (!job) {
        const chosen = file.files && file.files[0];
        if (!chosen) throw problem("file", "Choose a CSV file first.");
        const { codes, invalid } = parseCodes(await chosen.text());
        if (!codes.length) throw problem("file", "The file holds no codes.");
        const batches = batchesOf(codes);
        job = { codes, batches, keys: batches.map(() => newKey()), next: 0, created: 0, duplicates: [], invalid };
        bar.max = codes.length;
        bar.value = 0;
        report.replaceChildren();
      }
      try {
        await send();
      } catch (error) {
        status.textContent = `Stopped at batch ${job.next + 1} of ${job.batches.length}; upload again to send the rest.`;
        throw error;
      }
    },
  });
  file.addEventListener("change", () => {
    job = null; // a new file starts a new upload
  });
  return el("div", {}, node, report);
}
