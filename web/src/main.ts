import embed from "vega-embed";
import { api, ApiError, stream, upload, watchJob, type JobEvent } from "./api";
import "./style.css";

// --- small DOM helpers ---

type Child = Node | string | null | undefined | false;
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, any> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}
const main = document.getElementById("main")!;
const nav = document.getElementById("nav")!;
const toast = document.getElementById("toast")!;

function show(...children: Child[]) {
  main.replaceChildren(...(children.filter(Boolean) as Node[]));
  main.focus({ preventScroll: true });
}
function errorBox(err: unknown): HTMLElement {
  const msg = err instanceof Error ? err.message : String(err);
  return h("div", { class: "error", role: "alert" }, h("strong", {}, "Something went wrong. "), msg);
}
function notify(msg: string) {
  toast.textContent = msg;
  setTimeout(() => (toast.textContent === msg ? (toast.textContent = "") : 0), 4000);
}
const fmt = (x: number, d = 3) => (Number.isFinite(x) ? Number(x.toPrecision(d)).toLocaleString() : "–");

// --- session ---

let me: any = null;
async function whoAmI(): Promise<any> {
  try {
    me = (await api("GET", "/v1/auth/me")).user;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) me = null;
    else throw e;
  }
  renderNav();
  return me;
}
function renderNav() {
  if (!me) {
    nav.replaceChildren(h("a", { href: "#/api" }, "API"), h("a", { href: "#/signin" }, "Sign in"));
    return;
  }
  nav.replaceChildren(
    h("a", { href: "#/" }, "Projects"),
    h("a", { href: "#/api" }, "API"),
    h("span", { class: "who" }, me.email),
    h("button", { type: "button", class: "link", onclick: signOut }, "Sign out"),
  );
}
async function signOut() {
  await api("DELETE", "/v1/session").catch(() => {});
  me = null;
  location.hash = "#/signin";
}

function signInView(registering = false) {
  const err = h("div");
  const email = h("input", { id: "email", type: "email", name: "email", autocomplete: "email", required: true });
  const pw = h("input", { id: "password", type: "password", name: "password", autocomplete: registering ? "new-password" : "current-password", required: true, minlength: registering ? 8 : undefined });
  const name = h("input", { id: "display-name", name: "name", autocomplete: "name" });
  const form = h("form", { class: "card narrow", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, registering ? "Create an account" : "Sign in"),
    h("label", { for: "email" }, "Email"), email,
    h("label", { for: "password" }, "Password"), pw,
    registering && h("label", { for: "display-name" }, "Name (optional)"), registering && name,
    err,
    h("button", { type: "submit" }, registering ? "Register" : "Sign in"),
    h("p", {}, registering ? "Already registered? " : "New here? ",
      h("a", { href: registering ? "#/signin" : "#/register" }, registering ? "Sign in" : "Create an account")),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.replaceChildren();
    try {
      if (registering) await api("POST", "/v1/auth:register", { email: email.value, password: pw.value, displayName: name.value });
      await api("POST", "/v1/session", { email: email.value, password: pw.value });
      await whoAmI();
      location.hash = "#/";
    } catch (e) {
      err.replaceChildren(errorBox(e));
    }
  });
  show(form);
  email.focus();
}

// --- projects ---

async function projectsView() {
  const { projects = [] } = await api("GET", "/v1/projects");
  if (projects.length === 1) {
    location.replace(`#/p/${projects[0].id}`);
    return;
  }
  const input = h("input", { id: "project-name", required: true });
  const form = h("form", { class: "row" }, h("label", { for: "project-name" }, "New project"), input, h("button", { type: "submit" }, "Create"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const { project } = await api("POST", "/v1/projects", { name: input.value });
    location.hash = `#/p/${project.id}`;
  });
  show(
    h("h1", {}, "Projects"),
    projects.length
      ? h("ul", { class: "list" }, ...projects.map((p: any) => h("li", {}, h("a", { href: `#/p/${p.id}` }, p.name || p.id))))
      : h("p", { class: "empty" }, "No projects yet: create one below."),
    form,
  );
}

// --- datasets of a project, upload ---

async function projectView(projectId: string) {
  const [{ project }, { datasets = [] }] = await Promise.all([
    api("GET", `/v1/projects/${projectId}`),
    api("GET", `/v1/projects/${projectId}/datasets`),
  ]);
  const file = h("input", { id: "file", type: "file", accept: ".csv,.tsv,.parquet,.json,.jsonl,.xlsx,.txt" });
  const bar = h("progress", { id: "upload-progress", max: 100, value: 0, hidden: true, "aria-label": "Upload progress" });
  const status = h("p", { id: "upload-status", role: "status", "aria-live": "polite" });
  const form = h("form", { class: "card", "aria-labelledby": "upload-title" },
    h("h2", { id: "upload-title" }, "Upload a dataset"),
    h("label", { for: "file" }, "File (CSV, Parquet, JSON, Excel)"), file,
    h("button", { type: "submit" }, "Upload"), bar, status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = file.files?.[0];
    if (!f) {
      status.replaceChildren(errorBox("choose a file first"));
      return;
    }
    bar.hidden = false;
    try {
      const up = await upload(projectId, f, (loaded, total) => {
        bar.value = total ? (100 * loaded) / total : 0;
        status.textContent = `Uploading ${f.name}: ${Math.round(bar.value)}%`;
      });
      bar.value = 100;
      if (!up.duplicate && up.jobId) {
        status.textContent = "Uploaded; reading the file…";
        await watchJob(up.jobId, (e) => (status.textContent = `Reading the file: ${e.stage || e.state} ${Math.round(100 * (e.progress || 0))}%`));
      }
      location.hash = `#/d/${up.datasetId}`;
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  });
  show(
    h("h1", {}, project?.name || "Project"),
    form,
    h("h2", {}, "Datasets"),
    datasets.length
      ? h("table", { class: "grid" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Rows"), h("th", { scope: "col" }, "Columns"), h("th", { scope: "col" }, "State"))),
          h("tbody", {}, ...datasets.map((d: any) => h("tr", {},
            h("td", {}, h("a", { href: `#/d/${d.id}` }, d.name || d.id)),
            h("td", { class: "num" }, fmt(Number(d.current?.rowCount ?? 0), 12)),
            h("td", { class: "num" }, String(d.current?.columns?.length ?? 0)),
            h("td", {}, String(d.current?.state ?? "").replace("VERSION_STATE_", "").toLowerCase())))))
      : h("p", { class: "empty" }, "No datasets yet: upload a file above."),
  );
}

// --- charts ---

interface Selection { chartId: string; field: string; values: string[]; label: string }
const selections: Selection[] = [];
let onSelectionChange: () => void = () => {};

// The columns of the dataset on screen: a selection must name one of them.
let knownColumns = new Set<string>();
let pickSeq = 0;

// categoricalField finds the categorical axis of a chart: the data field to read from a clicked
// mark and the dataset column it stands for (charts of vds name their fields "category" or
// "group" and title the axis with the column).
function categoricalField(spec: any): { field: string; column: string } | undefined {
  const enc = spec?.encoding ?? spec?.layer?.[0]?.encoding ?? {};
  for (const ch of ["x", "y", "color"]) {
    const e = enc[ch];
    if (!e?.field || (e.type !== "nominal" && e.type !== "ordinal")) continue;
    if (knownColumns.has(e.field)) return { field: e.field, column: e.field };
    if (typeof e.title === "string" && knownColumns.has(e.title)) return { field: e.field, column: e.title };
  }
  return undefined;
}

// chart renders a vds Chart with vega-embed; clicking a mark of a categorical chart selects it as
// context for the next question.
function chart(c: any): HTMLElement {
  const box = h("figure", { class: "chart", "data-chart-id": c.id },
    h("figcaption", {}, c.title || c.kind || "chart"));
  const target = h("div", { class: "vega" });
  box.append(target);
  const spec = { ...(c.vegaLite ?? {}) };
  if (!spec.width) spec.width = "container";
  embed(target, spec, { actions: false, renderer: "svg", tooltip: true })
    .then((res) => {
      box.classList.add("rendered");
      const cat = categoricalField(spec);
      if (!cat) return;
      box.classList.add("selectable");
      box.title = "Click a bar to ask about it";
      const pick = (v: unknown) => {
        if (v === undefined || v === null || v === "") return;
        const sel = { chartId: c.id, field: cat.column, values: [String(v)], label: `${cat.column} = ${v}` };
        const i = selections.findIndex((s) => s.chartId === c.id);
        if (i >= 0) selections.splice(i, 1, sel);
        else selections.push(sel);
        notify(`${sel.label} selected`);
        onSelectionChange();
      };
      res.view.addEventListener("click", (_ev: any, item: any) => pick(item?.datum?.[cat.field]));
      // The keyboard way to the same selection: a labelled list of the chart's categories.
      const values = [...new Set(((spec.data?.values ?? []) as any[]).map((d) => d?.[cat.field]).filter((v) => v !== undefined && v !== null))];
      if (values.length > 0 && values.length <= 200) {
        const id = `pick-${++pickSeq}`;
        const list = h("select", { id }, h("option", { value: "" }, "—"), ...values.map((v) => h("option", { value: String(v) }, String(v))));
        list.addEventListener("change", () => pick(list.value));
        box.append(h("div", { class: "row pick" }, h("label", { for: id }, `Select ${cat.column}`), list));
      }
    })
    .catch((e) => target.replaceChildren(errorBox(e)));
  if (c.source) box.append(h("p", { class: "source" }, "Source: ", c.source));
  return box;
}

// lazyCharts renders charts as they scroll into view, so a profile with hundreds stays light.
function lazyCharts(charts: any[]): HTMLElement {
  const grid = h("div", { class: "charts" });
  const io = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      io.unobserve(e.target);
      const c = (e.target as any)._chart;
      e.target.replaceWith(chart(c));
    }
  }, { rootMargin: "200px" });
  for (const c of charts) {
    const ph = h("div", { class: "chart placeholder" }, c.title || "");
    (ph as any)._chart = c;
    grid.append(ph);
    io.observe(ph);
  }
  return grid;
}

// --- dataset page: profile, analysis, conversation ---

const PAGE = 50;

function columnsTable(columns: any[]): HTMLElement {
  let page = 0;
  let filter = "";
  const body = h("tbody");
  const info = h("span", { role: "status", "aria-live": "polite" });
  const prev = h("button", { type: "button", "aria-label": "Previous page of columns" }, "‹ Previous");
  const next = h("button", { type: "button", "aria-label": "Next page of columns" }, "Next ›");
  const search = h("input", { id: "column-filter", type: "search", placeholder: "Filter columns" });
  const render = () => {
    const rows = columns.filter((c) => c.name.toLowerCase().includes(filter));
    const pages = Math.max(1, Math.ceil(rows.length / PAGE));
    page = Math.min(page, pages - 1);
    body.replaceChildren(...rows.slice(page * PAGE, (page + 1) * PAGE).map((c) => h("tr", {},
      h("th", { scope: "row" }, c.name),
      h("td", {}, String(c.semanticType ?? "").replace("SEMANTIC_TYPE_", "").toLowerCase()),
      h("td", { class: "num" }, fmt(Number(c.missingCount), 12)),
      h("td", { class: "num" }, fmt(Number(c.distinctCount), 12)),
      h("td", { class: "num" }, c.numeric ? fmt(c.numeric.mean) : (c.topValues?.[0]?.value ?? "")),
    )));
    info.textContent = rows.length ? `Columns ${page * PAGE + 1}–${Math.min(rows.length, (page + 1) * PAGE)} of ${rows.length}` : "No column matches the filter.";
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  };
  prev.onclick = () => { page--; render(); };
  next.onclick = () => { page++; render(); };
  search.oninput = () => { filter = search.value.toLowerCase(); page = 0; render(); };
  render();
  return h("section", { "aria-labelledby": "columns-title" },
    h("h2", { id: "columns-title" }, "Columns"),
    h("div", { class: "row" }, h("label", { for: "column-filter" }, "Filter"), search, prev, next, info),
    h("div", { class: "scroll" }, h("table", { class: "grid", id: "columns" },
      h("thead", {}, h("tr", {}, ...["Column", "Type", "Missing", "Distinct", "Mean / top value"].map((t) => h("th", { scope: "col" }, t)))),
      body)));
}

function progressLine(label: string) {
  const bar = h("progress", { max: 100, value: 0, "aria-label": label });
  const text = h("span", { class: "stage" });
  const log = h("ol", { class: "events", "aria-live": "polite" });
  return {
    el: h("div", { class: "progress" }, h("div", { class: "row" }, bar, text), log),
    update(e: JobEvent) {
      bar.value = 100 * (e.progress || 0);
      text.textContent = `${e.stage || e.state.replace("JOB_STATE_", "").toLowerCase()} ${Math.round(bar.value)}%`;
      if (e.message) log.append(h("li", {}, e.message));
    },
  };
}

async function datasetView(datasetId: string) {
  const { dataset } = await api("GET", `/v1/datasets/${datasetId}`);
  const profileBox = h("section", { id: "profile", "aria-labelledby": "profile-title" }, h("h2", { id: "profile-title" }, "Profile"));
  const analysisBox = h("section", { id: "analysis", "aria-labelledby": "analysis-title" });
  const askBox = h("section", { id: "ask", "aria-labelledby": "ask-title" });
  show(
    h("p", {}, h("a", { href: `#/p/${dataset.projectId}` }, "‹ Datasets")),
    h("h1", {}, dataset.name || dataset.id),
    h("p", { class: "meta" }, `${fmt(Number(dataset.current?.rowCount ?? 0), 12)} rows · ${dataset.current?.columns?.length ?? 0} columns · version ${dataset.latestVersion}`),
    profileBox, analysisBox, askBox,
  );
  const columns: any[] = dataset.current?.columns ?? [];
  knownColumns = new Set(columns.map((c: any) => c.name));
  askView(askBox, dataset);
  analysisForm(analysisBox, dataset, columns);
  // Profile: start (or reuse) it, follow the job, render.
  const p = progressLine("Profiling progress");
  profileBox.append(p.el);
  try {
    const start = await api("POST", `/v1/datasets/${datasetId}:profile`, { dataset: { datasetId } });
    if (!start.cached && start.jobId) await watchJob(start.jobId, p.update);
    const { profile } = await api("GET", `/v1/profiles/${start.profileId}`);
    p.el.remove();
    renderProfile(profileBox, profile);
  } catch (e) {
    p.el.replaceWith(errorBox(e));
  }
}

function renderProfile(box: HTMLElement, profile: any) {
  const alerts: any[] = profile.alerts ?? [];
  const charts: any[] = profile.charts ?? [];
  box.append(
    h("p", { class: "meta" }, `${fmt(Number(profile.rowCount), 12)} rows, ${profile.columnCount} columns, ${fmt(Number(profile.duplicateRows), 12)} duplicate rows`),
    h("h3", {}, `Alerts (${alerts.length})`),
    alerts.length
      ? h("ul", { class: "alerts" }, ...alerts.slice(0, 50).map((a) => h("li", { class: `sev-${String(a.severity).replace("SEVERITY_", "").toLowerCase()}` }, h("strong", {}, a.kind), " ", a.message)))
      : h("p", { class: "empty" }, "No alerts: no constant, missing-heavy, leaking or duplicate columns found."),
    h("h3", {}, `Charts (${charts.length})`),
    charts.length ? lazyCharts(charts) : h("p", { class: "empty" }, "No charts for this dataset."),
    columnsTable(profile.columns ?? []),
  );
}

function analysisForm(box: HTMLElement, dataset: any, columns: any[]) {
  const sel = h("select", { id: "target" }, h("option", { value: "" }, "(no target: describe only)"),
    ...columns.map((c: any) => h("option", { value: c.name }, c.name)));
  const guess = columns.find((c: any) => /churn|target|label|outcome/i.test(c.name));
  if (guess) sel.value = guess.name;
  const out = h("div", { id: "analysis-out" });
  const form = h("form", { class: "row" }, h("label", { for: "target" }, "Target"), sel, h("button", { type: "submit", id: "run-analysis" }, "Run analysis"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const p = progressLine("Analysis progress");
    out.replaceChildren(p.el);
    try {
      const st = await api("POST", `/v1/datasets/${dataset.id}:analyze`, { dataset: { datasetId: dataset.id }, target: sel.value, budgetSeconds: 20 });
      await watchJob(st.jobId, p.update);
      const { report } = await api("GET", `/v1/analyses/${st.analysisId}`);
      out.replaceChildren(p.el, renderReport(report));
    } catch (e) {
      out.append(errorBox(e));
    }
  });
  box.append(h("h2", { id: "analysis-title" }, "Analysis"), form, out);
}

function renderReport(r: any): HTMLElement {
  const lb: any[] = r.leaderboard ?? [];
  return h("div", { class: "report", id: "report" },
    r.summary && h("p", { class: "summary" }, r.summary),
    (r.warnings ?? []).length > 0 && h("ul", { class: "alerts" }, ...r.warnings.map((w: string) => h("li", {}, w))),
    lb.length > 0 && h("table", { class: "grid" },
      h("caption", {}, "Model leaderboard (cross-validated)"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Algorithm"), h("th", { scope: "col" }, "CV score"), h("th", { scope: "col" }, "± std"))),
      h("tbody", {}, ...lb.slice(0, 10).map((x) => h("tr", {}, h("td", {}, x.algorithm), h("td", { class: "num" }, fmt(x.cvScore, 4)), h("td", { class: "num" }, fmt(x.cvStd, 2)))))),
    (r.findings ?? []).length > 0 && h("ul", { class: "findings" }, ...r.findings.slice(0, 20).map((f: any) => h("li", {}, f.statement))),
    h("div", { class: "charts" }, ...(r.charts ?? []).map(chart)),
  );
}

// --- conversation ---

function askView(box: HTMLElement, dataset: any) {
  let conversationId = "";
  const q = h("input", { id: "question", type: "text", placeholder: "Ask a question, e.g. why is churn high?", autocomplete: "off" });
  const chips = h("div", { class: "chips", id: "selections", "aria-live": "polite" });
  const thread = h("div", { class: "thread", id: "thread" });
  const form = h("form", { class: "row" }, h("label", { for: "question" }, "Question"), q, h("button", { type: "submit", id: "ask-button" }, "Ask"));
  onSelectionChange = () => {
    chips.replaceChildren(...selections.map((s, i) => h("span", { class: "chip" }, `${s.label} selected `,
      h("button", { type: "button", class: "link", "aria-label": `Remove selection ${s.label}`, onclick: () => { selections.splice(i, 1); onSelectionChange(); } }, "×"))));
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = q.value.trim();
    if (!text) return;
    q.value = "";
    const sent = selections.splice(0);
    onSelectionChange();
    const turn = h("div", { class: "turn" },
      h("p", { class: "user" }, text, ...sent.map((s) => h("span", { class: "chip" }, s.label))));
    const steps = h("ol", { class: "steps", "aria-live": "polite" });
    turn.append(steps);
    thread.append(turn);
    try {
      if (!conversationId) {
        const { conversation } = await api("POST", `/v1/projects/${dataset.projectId}/conversations`, { title: text, datasets: [{ datasetId: dataset.id }] });
        conversationId = conversation.id;
      }
      await stream(`/v1/conversations/${conversationId}:send`, {
        text,
        selections: sent.map((s) => ({ chartId: s.chartId, field: s.field, values: s.values })),
      }, (m) => renderEvent(turn, steps, m.event ?? {}));
    } catch (e) {
      turn.append(errorBox(e));
    }
  });
  box.append(h("h2", { id: "ask-title" }, "Ask"), form, chips, thread);
}

function renderEvent(turn: HTMLElement, steps: HTMLElement, e: any) {
  if (e.planSummary) steps.append(h("li", { class: "plan" }, h("strong", {}, "Plan: "), e.planSummary));
  if (e.stepStarted) steps.append(h("li", { class: "step", "data-step": e.stepStarted.id }, "▸ ", e.stepStarted.description || e.stepStarted.tool));
  if (e.stepFinished) steps.querySelector(`[data-step="${CSS.escape(e.stepFinished.id)}"]`)?.classList.add("done");
  if (e.toolCall?.error) steps.append(h("li", { class: "error" }, `${e.toolCall.tool}: ${e.toolCall.error}`));
  if (e.finding) turn.append(h("p", { class: "finding" }, "• ", e.finding.statement));
  if (e.chart) turn.append(chart(e.chart));
  if (e.debate) turn.append(h("p", { class: "debate" }, h("strong", {}, `${e.debate.role}: `), e.debate.claim));
  if (e.clarification) turn.append(h("p", { class: "answer" }, e.clarification));
  if (e.answer) turn.append(h("div", { class: "answer", id: "answer" }, h("p", {}, e.answer.text), e.answer.confidence && h("p", { class: "meta" }, `Confidence: ${e.answer.confidence}`)));
}

// --- the REST API, browsable (from /openapi.json) ---

async function apiView() {
  const doc = await api("GET", "/openapi.json");
  const ops: { method: string; path: string; op: any }[] = [];
  for (const [p, item] of Object.entries<any>(doc.paths ?? {}))
    for (const [m, op] of Object.entries<any>(item)) ops.push({ method: m.toUpperCase(), path: p, op });
  // Routes of the gateway itself (not RPCs, so not in the OpenAPI document).
  for (const [method, p, summary] of [
    ["POST", "/v1/session", "Sign in: {email, password}; sets the HttpOnly session cookies and answers the CSRF token"],
    ["DELETE", "/v1/session", "Sign out (send X-CSRF-Token)"],
    ["POST", "/v1/projects/{project_id}/datasets:upload", "Upload a file (multipart/form-data, part \"file\"), streamed to ingestion"],
    ["GET", "/v1/jobs/{job_id}/events", "A job's events as Server-Sent Events (Last-Event-ID resumes)"],
  ]) ops.push({ method, path: p, op: { operationId: "Gateway", tags: ["Gateway"], summary } });
  ops.sort((a, b) => (a.op.tags?.[0] ?? "").localeCompare(b.op.tags?.[0] ?? "") || a.path.localeCompare(b.path));
  const body = h("tbody");
  const search = h("input", { id: "api-filter", type: "search", placeholder: "Filter by path, method or service" });
  const render = () => {
    const f = search.value.toLowerCase();
    body.replaceChildren(...ops.filter((o) => `${o.method} ${o.path} ${o.op.operationId}`.toLowerCase().includes(f)).map((o) => h("tr", {},
      h("td", {}, h("code", {}, o.method)), h("td", {}, h("code", {}, o.path)),
      h("td", {}, o.op.operationId ?? ""), h("td", { class: "wrap" }, o.op.summary ?? o.op.description ?? ""))));
  };
  search.oninput = render;
  render();
  show(h("h1", {}, "REST API"),
    h("p", {}, `${ops.length} operations. Authenticate with a bearer token, an API key (X-Api-Key) or this browser session. `,
      h("a", { href: "/openapi.json" }, "OpenAPI document (JSON)")),
    h("div", { class: "row" }, h("label", { for: "api-filter" }, "Filter"), search),
    h("div", { class: "scroll" }, h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ...["Method", "Path", "RPC", "Description"].map((t) => h("th", { scope: "col" }, t)))), body)));
}

// --- router ---

async function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  try {
    if (parts[0] === "register") return signInView(true);
    if (parts[0] === "signin") return signInView(false);
    if (parts[0] === "api") return await apiView();
    if (!me && !(await whoAmI())) {
      location.hash = "#/signin";
      return;
    }
    if (parts[0] === "p" && parts[1]) return await projectView(parts[1]);
    if (parts[0] === "d" && parts[1]) return await datasetView(parts[1]);
    return await projectsView();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      me = null;
      location.hash = "#/signin";
      return;
    }
    show(h("h1", {}, "Error"), errorBox(e), h("p", {}, h("a", { href: "#/" }, "Back to projects")));
  }
}
window.addEventListener("hashchange", route);
route();
