// Models: the project's model registry, and a model's page with its training's leaderboard and its
// explanations (permutation importance, SHAP, partial dependence), charts from the ML service.
import { api } from "./api";
import { plainChart } from "./charts";
import { empty, errorBox, fmt, h, loading, lower, table, type Child } from "./ui";

export async function modelsView(show: (...c: Child[]) => void, projectId: string) {
  const { models = [] } = await api("GET", `/v1/projects/${encodeURIComponent(projectId)}/models`);
  models.sort((a: any, b: any) => String(b.createTime ?? "").localeCompare(String(a.createTime ?? "")));
  show(
    h("p", {}, h("a", { href: `#/p/${projectId}` }, "‹ Datasets")),
    h("h1", {}, "Models"),
    models.length
      ? table("Models of this project (newest first)", ["Model", "Target", "Task", "Algorithm", "CV score", "Dataset", "Created"],
          models.map((m: any) => [
            h("a", { href: `#/m/${m.id}` }, m.id),
            m.target, lower(m.task, "TASK_"), m.algorithm,
            h("span", { class: "num" }, `${m.metric} ${fmt(m.cvScore, 4)} ± ${fmt(m.cvStd, 2)}`),
            h("a", { href: `#/d/${m.dataset?.datasetId}` }, `${m.dataset?.datasetId} v${m.dataset?.version ?? ""}`),
            new Date(m.createTime).toLocaleString(),
          ]), { id: "models" })
      : empty("No models yet.", h("span", {}, "Open a dataset and run an analysis with a target: it trains and ranks models.")),
  );
}

export async function modelView(show: (...c: Child[]) => void, modelId: string) {
  const { model: m } = await api("GET", `/v1/models/${encodeURIComponent(modelId)}`);
  const board = h("section", { id: "leaderboard", "aria-labelledby": "lb-title" }, h("h2", { id: "lb-title" }, "Leaderboard"), loading("Loading the leaderboard…"));
  const perm = explainSection("permutation", "Permutation importance", "How much the cross-validated metric drops when a column's values are shuffled.");
  const shap = explainSection("shap", "SHAP summary", "Mean absolute SHAP value of each column over a sample of the training rows: how far the column moves a prediction on average.");
  const pdp = explainSection("pdp", "Partial dependence", "The mean prediction with one column set to each value, the others as they are (the three most important columns).");
  show(
    h("p", {}, h("a", { href: `#/d/${m.dataset?.datasetId}` }, "‹ Dataset"), " · ", h("a", { href: `#/p/${m.projectId}/models` }, "All models")),
    h("h1", {}, `Model ${m.algorithm} for ${m.target}`),
    h("p", { class: "meta" }, `${lower(m.task, "TASK_")} · ${m.metric} ${fmt(m.cvScore, 4)} ± ${fmt(m.cvStd, 2)} over ${m.cvFolds} folds · ${m.features?.length ?? 0} features · `,
      h("a", { href: `#/lineage/${encodeURIComponent(m.id)}` }, "Lineage")),
    m.config ? h("p", { class: "meta" }, "Configuration: ", h("code", {}, m.config)) : null,
    board, perm.el, shap.el, pdp.el,
  );
  // Each part loads on its own, so a slow SHAP does not hold the leaderboard.
  (async () => {
    try {
      const { training: t } = await api("GET", `/v1/trainings/${encodeURIComponent(m.trainingId)}`);
      const entries: any[] = t.leaderboard ?? [];
      board.replaceChildren(...[board.firstChild!,
        entries.length
          ? table(`Cross-validated ${t.metric} of each candidate (${entries.length})`, ["Rank", "Algorithm", "Configuration", "CV score", "± std", "Fit seconds"],
              entries.map((e: any) => [
                String(e.rank),
                e.modelId ? h("a", { href: `#/m/${e.modelId}`, "aria-current": e.modelId === m.id ? "page" : undefined }, e.algorithm) : e.algorithm,
                h("code", {}, e.config ?? ""), fmt(e.cvScore, 4), fmt(e.cvStd, 2), fmt(e.fitSeconds, 3),
              ]), { id: "leaderboard-table" })
          : empty("The training ranked no candidates."),
        (t.warnings ?? []).length ? h("ul", { class: "alerts" }, ...t.warnings.map((w: string) => h("li", {}, w))) : null,
        t.spend ? h("p", { class: "meta" }, `Search: ${t.spend.trials} trials, ${fmt(t.spend.wallSeconds)} s wall, ${fmt(t.spend.cpuSeconds)} s CPU (${t.spend.budget})`) : null,
      ].filter((x) => !!x) as Node[]);
    } catch (e) {
      board.replaceChildren(board.firstChild!, errorBox(e));
    }
  })();
  perm.load(m.id);
  shap.load(m.id);
  pdp.load(m.id);
}

function explainSection(method: string, title: string, help: string) {
  const id = `explain-${method}`;
  const el = h("section", { id, class: "explain", "aria-labelledby": `${id}-title` },
    h("h2", { id: `${id}-title` }, title), h("p", { class: "meta" }, help), loading(`Computing the ${title.toLowerCase()}…`));
  return {
    el,
    async load(modelId: string) {
      const body: Node[] = [];
      try {
        const r = await api("GET", `/v1/models/${encodeURIComponent(modelId)}:explain?method=${method}`);
        for (const c of r.charts ?? []) body.push(plainChart(c.title || title, c.vegaLite, { "data-chart-id": c.id }));
        const imps: any[] = r.importances ?? [];
        if (imps.length)
          body.push(h("details", {}, h("summary", {}, `Values (${imps.length} columns)`),
            table("", ["Column", "Importance", "± std"], imps.map((i) => [i.feature, fmt(i.importance, 4), fmt(i.std, 2)]))));
        if ((r.expectedValue ?? []).length) body.push(h("p", { class: "meta" }, `Attributions start from the expected score ${r.expectedValue.map((v: number) => fmt(v, 4)).join(", ")}.`));
        if (!body.length) body.push(empty("The service returned no explanation for this model."));
      } catch (e) {
        body.push(errorBox(e));
      }
      el.lastChild!.replaceWith(...body);
    },
  };
}
