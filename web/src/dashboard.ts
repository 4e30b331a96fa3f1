// The generated dashboard of a dataset (#/d/{dataset}/dashboard[/{target}]): the orchestrator's
// ProposeDashboard chooses the layout from the kind of data (time series, map, target breakdown,
// overview); this page renders it: KPI tiles as cards, then the panels (Vega-Lite specs rendered
// with vega-embed) in a responsive 12-column grid.
import embed from "vega-embed";
import { api } from "./api";
import { empty, errorBox, h, loading, type Child } from "./ui";
import "./dashboard.css";

type Show = (...c: Child[]) => void;

const KIND_NAMES: Record<string, string> = {
  time_series: "Trend and seasonality",
  map: "Map",
  target_breakdown: "Target breakdown",
  overview: "Overview",
};

export interface Dashboard {
  title: string;
  kind: string;
  reason: string;
  target?: string;
  profileId?: string;
  tiles?: { key: string; label: string; value: string; detail?: string; number?: number; hasNumber?: boolean }[];
  panels?: { title: string; kind: string; vegaLiteJson: string; width?: number; description?: string }[];
}

// renderTiles draws the KPI cards.
function renderTiles(d: Dashboard): HTMLElement {
  const tiles = d.tiles ?? [];
  if (!tiles.length) return empty("No key figures for this data.");
  return h("ul", { class: "dash-tiles", "aria-label": "Key figures" },
    ...tiles.map((t) => h("li", { class: "dash-tile", "data-key": t.key },
      h("span", { class: "dash-tile-label" }, t.label),
      h("strong", { class: "dash-tile-value" }, t.value),
      t.detail ? h("span", { class: "dash-tile-detail" }, t.detail) : null)));
}

// renderPanel draws one chart; its width is a span of the 12-column grid (the grid collapses to
// one column on narrow screens).
function renderPanel(p: NonNullable<Dashboard["panels"]>[number], i: number): HTMLElement {
  const id = `dash-panel-${i}`;
  const box = h("figure", { class: `chart dash-panel dash-${p.kind}`, "data-kind": p.kind, "aria-labelledby": id },
    h("figcaption", { id }, p.title));
  box.style.setProperty("--span", String(Math.min(12, Math.max(1, p.width || 6))));
  const target = h("div", { class: "vega" });
  box.append(target);
  if (p.description) box.append(h("p", { class: "source" }, p.description));
  let spec: any;
  try {
    spec = JSON.parse(p.vegaLiteJson);
  } catch (e) {
    target.replaceChildren(errorBox(e));
    return box;
  }
  // vega-embed needs the box in the document to size a "container" width: render on the next frame.
  requestAnimationFrame(() => {
    embed(target, spec, { actions: false, renderer: "svg", tooltip: true })
      .then(() => box.classList.add("rendered"))
      .catch((e) => target.replaceChildren(errorBox(e)));
  });
  return box;
}

export function renderDashboard(d: Dashboard): HTMLElement {
  const panels = d.panels ?? [];
  return h("div", { class: "dashboard", "data-kind": d.kind },
    h("p", { class: "meta" }, h("span", { class: "chip dash-kind" }, KIND_NAMES[d.kind] ?? d.kind), " ", d.reason),
    renderTiles(d),
    panels.length
      ? h("div", { class: "dash-grid" }, ...panels.map(renderPanel))
      : empty("No charts for this data.", "Try another classification target above."));
}

// dashboardView is the page: a target chooser, then the proposed dashboard. show replaces the
// page's content (main.ts's helper).
export async function dashboardView(show: Show, datasetId: string, target: string): Promise<void> {
  const { dataset } = await api("GET", `/v1/datasets/${encodeURIComponent(datasetId)}`);
  const columns: any[] = dataset.current?.columns ?? [];
  const select = h("select", { id: "dash-target" },
    h("option", { value: "" }, "(none: choose from the data)"),
    ...columns.map((c) => h("option", { value: c.name, selected: c.name === target }, c.name)));
  const form = h("form", { class: "row", "aria-label": "Dashboard target" },
    h("label", { for: "dash-target" }, "Classification target"), select,
    h("button", { type: "submit" }, "Propose"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const t = select.value;
    location.hash = `#/d/${encodeURIComponent(datasetId)}/dashboard${t ? "/" + encodeURIComponent(t) : ""}`;
  });
  const status = loading("Profiling the data and proposing a layout…");
  const body = h("section", { id: "dashboard", "aria-busy": "true", "aria-labelledby": "dash-title" });
  const title = h("h1", { id: "dash-title" }, `Dashboard: ${dataset.name || dataset.id}`);
  show(
    h("p", {}, h("a", { href: `#/d/${encodeURIComponent(datasetId)}` }, "‹ Dataset")),
    title, form, status, body,
  );
  try {
    const { dashboard } = await api("POST", `/v1/datasets/${encodeURIComponent(datasetId)}:proposeDashboard`,
      { dataset: { datasetId, version: dataset.latestVersion }, target });
    title.textContent = dashboard.title || title.textContent;
    status.classList.remove("loading");
    status.textContent = `${(dashboard.panels ?? []).length} charts, ${(dashboard.tiles ?? []).length} key figures.`;
    body.append(renderDashboard(dashboard));
  } catch (e) {
    status.classList.remove("loading");
    status.textContent = "";
    body.append(errorBox(e, target ? h("a", { href: `#/d/${encodeURIComponent(datasetId)}/dashboard` }, "Propose one without a target") : null));
  } finally {
    body.removeAttribute("aria-busy");
  }
}
