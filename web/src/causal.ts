// Causal effects of a dataset: a form that estimates the effect of a treatment on an outcome (adjusting
// for chosen columns, or identifying the adjustment set from a graph discovered by the PC algorithm),
// and an estimate's page: the effect with its confidence interval, the naive difference, refutations,
// balance, assumptions, and the graph it rests on drawn as SVG.
import { api, watchJob } from "./api";
import { plainChart } from "./charts";
import { graphFigure, type GraphEdge, type GraphNode } from "./graph";
import { empty, errorBox, fmt, h, loading, table, type Child } from "./ui";

type Show = (...c: Child[]) => void;

const METHODS = ["regression_adjustment", "aipw", "ipw", "matching", "dml"];

export async function causalFormView(show: Show, datasetId: string) {
  const { dataset } = await api("GET", `/v1/datasets/${encodeURIComponent(datasetId)}`);
  const cols: string[] = (dataset.current?.columns ?? []).map((c: any) => c.name);
  const select = (id: string, guess?: RegExp) => {
    const s = h("select", { id, required: true }, h("option", { value: "" }, "— choose a column —"), ...cols.map((c) => h("option", { value: c }, c)));
    const g = guess && cols.find((c) => guess.test(c));
    if (g) s.value = g;
    return s;
  };
  const treatment = select("treatment", /contract|treat|promo|discount|campaign/i);
  const outcome = select("outcome", /churn|outcome|target|label|converted/i);
  const treated = h("input", { id: "treated-value", placeholder: "e.g. Month-to-month (empty: 1/true)" });
  const method = h("select", { id: "method" }, ...METHODS.map((m) => h("option", { value: m }, m.replace(/_/g, " "))));
  const adjust = h("select", { id: "adjust", multiple: true, size: Math.min(8, Math.max(3, cols.length)) }, ...cols.map((c) => h("option", { value: c }, c)));
  const discover = h("input", { id: "discover", type: "checkbox" });
  const status = h("div", { id: "causal-status", role: "status", "aria-live": "polite" });
  const form = h("form", { class: "card", id: "causal-form", "aria-labelledby": "causal-form-title" },
    h("h2", { id: "causal-form-title" }, "Estimate an effect"),
    h("label", { for: "treatment" }, "Treatment (the cause)"), treatment,
    h("label", { for: "treated-value" }, "Treated value (optional)"), treated,
    h("label", { for: "outcome" }, "Outcome (the effect)"), outcome,
    h("label", { for: "adjust" }, "Adjust for (common causes; Ctrl or Shift to pick several)"), adjust,
    h("div", { class: "row" }, discover, h("label", { for: "discover" }, "Discover a graph over these columns first (PC algorithm) and adjust for what it says")),
    h("label", { for: "method" }, "Method"), method,
    h("button", { type: "submit" }, "Estimate"), status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const picked = [...adjust.selectedOptions].map((o) => o.value).filter((c) => c !== treatment.value && c !== outcome.value);
    if (!treatment.value || !outcome.value || treatment.value === outcome.value) {
      status.replaceChildren(errorBox("choose a treatment and a different outcome"));
      return;
    }
    try {
      let graphId = "";
      const body: any = { dataset: { datasetId }, treatment: treatment.value, outcome: outcome.value, method: method.value, treatedValue: treated.value };
      if (discover.checked) {
        status.replaceChildren(loading("Searching for a graph…"));
        const d = await api("POST", `/v1/datasets/${encodeURIComponent(datasetId)}:discoverGraph`, { dataset: { datasetId }, columns: [treatment.value, outcome.value, ...picked] });
        graphId = d.graph.id;
        body.graphId = graphId;
      } else body.confounders = picked;
      status.replaceChildren(loading("Estimating…"));
      const st = await api("POST", `/v1/datasets/${encodeURIComponent(datasetId)}:estimateEffect`, body);
      await watchJob(st.jobId, (e) => (status.textContent = `Estimating: ${e.stage || e.state.replace("JOB_STATE_", "").toLowerCase()} ${Math.round(100 * (e.progress || 0))}%`));
      location.hash = `#/e/${st.estimateId}${graphId ? `?graph=${graphId}` : ""}`;
    } catch (e) {
      status.replaceChildren(errorBox(e, "Check the columns, or pick fewer adjustment columns."));
    }
  });
  show(
    h("p", {}, h("a", { href: `#/d/${datasetId}` }, `‹ ${dataset.name || datasetId}`)),
    h("h1", {}, `Causal effects in ${dataset.name || datasetId}`),
    h("p", { class: "meta" }, "An estimate says how much the outcome would change if the treatment changed, under the assumptions it lists; the refutations test some of them."),
    form,
  );
}

export async function estimateView(show: Show, estimateId: string, graphId: string) {
  const { estimate: e } = await api("GET", `/v1/estimates/${encodeURIComponent(estimateId)}`);
  const datasetId = e.dataset?.datasetId;
  const head = [
    h("p", {}, h("a", { href: `#/d/${datasetId}/causal` }, "‹ Causal effects"), " · ", h("a", { href: `#/d/${datasetId}` }, "Dataset")),
    h("h1", {}, `Effect of ${e.treatment}${e.treatedValue ? ` = ${e.treatedValue}` : ""} on ${e.outcome}`),
  ];
  if (e.error) {
    show(...head, errorBox(e.error, h("a", { href: `#/d/${datasetId}/causal` }, "Try other columns or another method.")));
    return;
  }
  const est = (e.estimand || "ate").toUpperCase();
  const rows = [{ label: `${est} (${e.method})`, est: e.ate, lo: e.ciLow, hi: e.ciHigh }];
  for (const l of e.levelEffects ?? []) rows.push({ label: `${l.level} vs ${l.reference}`, est: l.ate, lo: l.ciLow, hi: l.ciHigh });
  if (Number.isFinite(e.naiveDifference)) rows.push({ label: "naive difference", est: e.naiveDifference, lo: e.naiveDifference, hi: e.naiveDifference });
  const ciSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: "container",
    data: { values: rows },
    encoding: { y: { field: "label", type: "nominal", title: null, sort: null } },
    layer: [
      { mark: { type: "rule", strokeWidth: 2 }, encoding: { x: { field: "lo", type: "quantitative", title: `effect on ${e.outcome}` }, x2: { field: "hi" } } },
      { mark: { type: "point", filled: true, size: 80, tooltip: true }, encoding: { x: { field: "est", type: "quantitative" } } },
      { data: { values: [{ zero: 0 }] }, mark: { type: "rule", strokeDash: [4, 4], color: "#888" }, encoding: { x: { field: "zero", type: "quantitative" }, y: null } },
    ],
  };
  const refs: any[] = e.refutations ?? [];
  const graphBox = h("section", { id: "causal-graph", "aria-labelledby": "graph-title" }, h("h2", { id: "graph-title" }, "Graph"), loading("Loading the graph…"));
  show(
    ...head,
    h("div", { class: "answer", id: "effect" },
      h("p", {}, h("strong", {}, `${est} = ${fmt(e.ate, 4)}`), ` (95% CI ${fmt(e.ciLow, 4)} to ${fmt(e.ciHigh, 4)}, std. error ${fmt(e.stdError, 3)})`,
        `; the naive difference is ${fmt(e.naiveDifference, 4)}.`),
      h("p", { class: "meta" }, `${e.method} · ${fmt(Number(e.nTreated), 12)} treated, ${fmt(Number(e.nControl), 12)} control`,
        e.eValue ? ` · E-value ${fmt(e.eValue)}` : "", e.trimmedShare ? ` · ${fmt(100 * e.trimmedShare)}% of rows trimmed for overlap` : "", " · ",
        h("a", { href: `#/lineage/${encodeURIComponent(e.id)}` }, "Lineage")),
      e.identification ? h("p", {}, "Identification: ", e.identification) : null),
    plainChart("Effect with its 95% confidence interval", ciSpec, { id: "effect-chart" }),
    graphBox,
    h("section", { "aria-labelledby": "ref-title" }, h("h2", { id: "ref-title" }, `Refutations (${refs.length})`),
      refs.length
        ? table("Each refutation re-estimates under a change that should (or should not) move the effect", ["Test", "New effect", "Result", "Detail"],
            refs.map((r) => [r.name.replace(/_/g, " "), fmt(r.newEffect, 4), h("span", { class: r.passed ? "pass" : "fail" }, r.passed ? "✓ passed" : "✗ failed"), r.detail ?? ""]), { id: "refutations" })
        : empty("No refutations were run for this estimate.")),
    (e.balance ?? []).length
      ? h("section", { "aria-labelledby": "bal-title" }, h("h2", { id: "bal-title" }, "Balance"),
          table("Standardised mean difference of each adjustment column", ["Column", "SMD before", "SMD after"],
            e.balance.map((b: any) => [b.covariate, fmt(b.smdBefore), fmt(b.smdAfter)])))
      : null,
    list("Assumptions", e.assumptions), list("Warnings", e.warnings),
    (e.segments ?? []).length
      ? table("Segments whose effect differs", ["Condition", "Rows", "Effect"], e.segments.map((s: any) => [s.condition, fmt(Number(s.n), 12), fmt(s.effect, 4)]))
      : null,
    (e.charts ?? []).length ? h("div", { class: "charts" }, ...e.charts.map((c: any) => plainChart(c.title, c.vegaLite))) : null,
  );
  // The graph: the stored one the estimate was identified with, or the one the adjustment assumes.
  const mark = (n: string) => (n === e.treatment ? "treatment" : n === e.outcome ? "outcome" : (e.adjustmentSet ?? []).includes(n) ? "adjusted" : "");
  const legend = h("p", { class: "meta legend" }, h("span", { class: "key treatment" }, "treatment"), " ", h("span", { class: "key outcome" }, "outcome"), " ",
    h("span", { class: "key adjusted" }, "adjusted for"), " — dashed: direction unknown");
  try {
    let nodes: string[], edges: GraphEdge[], title: string;
    if (graphId) {
      const { graph } = await api("GET", `/v1/graphs/${encodeURIComponent(graphId)}`);
      nodes = graph.nodes ?? [];
      edges = [...(graph.edges ?? []).map((x: any) => ({ from: x.from, to: x.to })), ...(graph.undirected ?? []).map((x: any) => ({ from: x.from, to: x.to, undirected: true }))];
      title = `Graph ${graph.id} v${graph.version} (discovered, then used to find the adjustment set)`;
    } else {
      const adj: string[] = e.adjustmentSet ?? [];
      nodes = [...adj, e.treatment, e.outcome];
      edges = [...adj.flatMap((c) => [{ from: c, to: e.treatment }, { from: c, to: e.outcome }]), { from: e.treatment, to: e.outcome }];
      title = adj.length ? "The graph this estimate assumes: the adjustment columns cause both the treatment and the outcome" : "The graph this estimate assumes: no common cause";
    }
    const gn: GraphNode[] = nodes.map((n) => ({ id: n, label: n, cls: mark(n) }));
    graphBox.replaceChildren(graphBox.firstChild!, legend, graphFigure(gn, edges, title, "graph"));
  } catch (err) {
    graphBox.replaceChildren(graphBox.firstChild!, errorBox(err));
  }
}

function list(title: string, items?: string[]) {
  if (!items?.length) return null;
  return h("section", {}, h("h2", {}, title), h("ul", {}, ...items.map((s) => h("li", {}, s))));
}
