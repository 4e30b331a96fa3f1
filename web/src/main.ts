import { api, ApiError, upload, watchJob, type JobEvent } from "./api";
import { causalFormView, estimateView } from "./causal";
import { dashboardView } from "./dashboard";
import { chart, lazyCharts, setKnownColumns } from "./charts";
import { askView } from "./conversation";
import { lineageView } from "./lineage";
import { modelsView, modelView } from "./models";
import { h, errorBox, fmt, type Child } from "./ui";
import "./style.css";

const main = document.getElementById("main")!;
const nav = document.getElementById("nav")!;

function show(...children: Child[]) {
  main.replaceChildren(...(children.filter(Boolean) as Node[]));
  main.focus({ preventScroll: true });
}

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
    h("p", {}, h("a", { href: `#/p/${projectId}/models` }, "Models of this project")),
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
    h("nav", { class: "row", "aria-label": "About this dataset" },
      h("a", { href: `#/d/${dataset.id}/dashboard` }, "Dashboard"),
      h("a", { href: `#/d/${dataset.id}/causal` }, "Causal effects"),
      h("a", { href: `#/p/${dataset.projectId}/models` }, "Models"),
      h("a", { href: `#/lineage/${encodeURIComponent(`${dataset.id}.v${dataset.latestVersion}`)}` }, "Lineage")),
    profileBox, analysisBox, askBox,
  );
  const columns: any[] = dataset.current?.columns ?? [];
  setKnownColumns(columns.map((c: any) => c.name));
  askView(askBox, dataset);
  analysisForm(analysisBox, dataset, columns);
  // Profile: start (or reuse) it, follow the job, render.
  const p = progressLine("Profiling progress");
  profileBox.append(p.el);
  try {
    const start = await api("POST", `/v1/datasets/${datasetId}:profile`, { dataset: { datasetId } });
    // A cached profile may still be computing (ingestion starts one): follow its job either way.
    if (start.jobId) await watchJob(start.jobId, p.update);
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
    r.model?.id && h("p", {}, h("a", { href: `#/m/${r.model.id}`, id: "model-link" }, `Best model (${r.model.algorithm}): leaderboard and explanations`),
      " · ", h("a", { href: `#/lineage/${encodeURIComponent(r.id)}` }, "Lineage of this analysis")),
    lb.length > 0 && h("table", { class: "grid" },
      h("caption", {}, "Model leaderboard (cross-validated)"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Algorithm"), h("th", { scope: "col" }, "CV score"), h("th", { scope: "col" }, "± std"))),
      h("tbody", {}, ...lb.slice(0, 10).map((x) => h("tr", {}, h("td", {}, x.algorithm), h("td", { class: "num" }, fmt(x.cvScore, 4)), h("td", { class: "num" }, fmt(x.cvStd, 2)))))),
    (r.findings ?? []).length > 0 && h("ul", { class: "findings" }, ...r.findings.slice(0, 20).map((f: any) => h("li", {}, f.statement))),
    h("div", { class: "charts" }, ...(r.charts ?? []).map(chart)),
  );
}

// --- the REST API, browsable (from /openapi.json) ---

async function apiView() {
  const doc = await api("GET", "/openapi.json");
  const ops: { method: string; path: string; op: any }[] = [];
  for (const [p, item] of Object.entries<any>(doc.paths ?? {}))
    for (const [m, op] of Object.entries<any>(item)) ops.push({ method: m.toUpperCase(), path: p, op });
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
  const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const parts = path.split("/").map(decodeURIComponent);
  const params = new URLSearchParams(query);
  try {
    if (parts[0] === "register") return signInView(true);
    if (parts[0] === "signin") return signInView(false);
    if (parts[0] === "api") return await apiView();
    if (!me && !(await whoAmI())) {
      location.hash = "#/signin";
      return;
    }
    if (parts[0] === "p" && parts[1] && parts[2] === "models") return await modelsView(show, parts[1]);
    if (parts[0] === "p" && parts[1]) return await projectView(parts[1]);
    if (parts[0] === "d" && parts[1] && parts[2] === "causal") return await causalFormView(show, parts[1]);
    if (parts[0] === "d" && parts[1] && parts[2] === "dashboard") return await dashboardView(show, parts[1], parts[3] ?? "");
    if (parts[0] === "d" && parts[1]) return await datasetView(parts[1]);
    if (parts[0] === "m" && parts[1]) return await modelView(show, parts[1]);
    if (parts[0] === "e" && parts[1]) return await estimateView(show, parts[1], params.get("graph") ?? "");
    if (parts[0] === "lineage" && parts[1]) return await lineageView(show, parts[1]);
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
