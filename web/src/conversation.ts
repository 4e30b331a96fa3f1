// The conversation on a dataset page: a question (with the chart selections as context) starts a run
// at the gateway, whose events arrive as Server-Sent Events. EventSource reconnects by itself with
// Last-Event-ID, and the gateway sends only the events after it; when the gateway no longer has the
// run (it restarted, or the run ended long ago), the rest comes from the stored conversation, where
// event n of the stream is event n of the answer.
import { api, ApiError } from "./api";
import { chart, onSelectionChange, removeSelection, selections } from "./charts";
import { errorBox, h } from "./ui";

export interface RunHandle {
  runId: string;
  eventsUrl: string;
}

// streamMessage sends a message and calls onEvent with each event once, in order, until the answer.
export async function streamMessage(conversationId: string, body: unknown, onEvent: (e: any, id: number) => void): Promise<RunHandle> {
  const run: RunHandle = await api("POST", `/v1/conversations/${encodeURIComponent(conversationId)}/runs`, body);
  let last = 0;
  const deliver = (e: any, id: number) => {
    if (id <= last) return; // never twice
    last = id;
    onEvent(e, id);
  };
  await new Promise<void>((resolve, reject) => {
    const es = new EventSource(run.eventsUrl);
    es.addEventListener("conversation", (m) => {
      const me = m as MessageEvent;
      deliver(JSON.parse(me.data), Number(me.lastEventId));
    });
    es.addEventListener("end", () => {
      es.close();
      resolve();
    });
    es.addEventListener("error", async (m) => {
      const data = (m as MessageEvent).data;
      if (data) {
        es.close();
        const st = JSON.parse(data);
        reject(new ApiError(0, st.code, st.message));
        return;
      }
      if (es.readyState !== EventSource.CLOSED) return; // CONNECTING: the browser retries with Last-Event-ID
      // The gateway refused the reconnection (it no longer has the run): read the stored answer.
      try {
        const { conversation } = await api("GET", `/v1/conversations/${encodeURIComponent(conversationId)}`);
        const msgs: any[] = conversation?.messages ?? [];
        const answer = msgs[msgs.length - 1];
        if (!answer || answer.role !== "assistant") throw new ApiError(0, 14, "lost the conversation's event stream before the answer; reload the page to see it");
        (answer.events ?? []).forEach((e: any, i: number) => deliver(e, i + 1));
        resolve();
      } catch (e) {
        reject(e);
      }
    });
  });
  return run;
}

export function askView(box: HTMLElement, dataset: any) {
  let conversationId = "";
  const q = h("input", { id: "question", type: "text", placeholder: "Ask a question, e.g. why is churn high?", autocomplete: "off", "aria-describedby": "ask-help" });
  const chips = h("div", { class: "chips", id: "selections", "aria-live": "polite" });
  const thread = h("div", { class: "thread", id: "thread" });
  const button = h("button", { type: "submit", id: "ask-button" }, "Ask");
  const form = h("form", { class: "row" }, h("label", { for: "question" }, "Question"), q, button);
  const renderChips = () => {
    chips.replaceChildren(...selections.map((s, i) => h("span", { class: "chip" }, `${s.label} selected `,
      h("button", { type: "button", class: "link", "aria-label": `Remove selection ${s.label}`, onclick: () => removeSelection(i) }, "×"))));
  };
  onSelectionChange(renderChips);
  renderChips();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = q.value.trim();
    if (!text) {
      q.focus();
      return;
    }
    q.value = "";
    const sent = selections.splice(0);
    renderChips();
    const turn = h("div", { class: "turn", "aria-busy": "true" },
      h("p", { class: "user" }, text, ...sent.map((s) => h("span", { class: "chip" }, s.label))));
    const steps = h("ol", { class: "steps", "aria-live": "polite" });
    turn.append(steps);
    thread.append(turn);
    button.disabled = true;
    try {
      if (!conversationId) {
        const { conversation } = await api("POST", `/v1/projects/${dataset.projectId}/conversations`, { title: text, datasets: [{ datasetId: dataset.id }] });
        conversationId = conversation.id;
      }
      await streamMessage(conversationId, {
        text,
        selections: sent.map((s) => ({ chartId: s.chartId, field: s.field, values: s.values ?? [], rangeLow: s.rangeLow ?? 0, rangeHigh: s.rangeHigh ?? 0 })),
      }, (e) => renderEvent(turn, steps, e ?? {}));
    } catch (e) {
      turn.append(errorBox(e, "Ask again, or rephrase the question."));
    } finally {
      turn.removeAttribute("aria-busy");
      button.disabled = false;
    }
  });
  box.append(h("h2", { id: "ask-title" }, "Ask"),
    h("p", { id: "ask-help", class: "meta" }, "Click a bar, or drag across a histogram or scatter plot, to ask about those rows only."),
    form, chips, thread);
}

export function renderEvent(turn: HTMLElement, steps: HTMLElement, e: any) {
  if (e.planSummary) steps.append(h("li", { class: "plan" }, h("strong", {}, "Plan: "), e.planSummary));
  if (e.stepStarted) steps.append(h("li", { class: "step", "data-step": e.stepStarted.id }, "▸ ", e.stepStarted.description || e.stepStarted.tool));
  if (e.stepFinished) steps.querySelector(`[data-step="${CSS.escape(e.stepFinished.id)}"]`)?.classList.add("done");
  if (e.toolCall?.error) steps.append(h("li", { class: "error" }, `${e.toolCall.tool}: ${e.toolCall.error}`));
  if (e.finding) turn.append(h("p", { class: "finding" }, "• ", e.finding.statement,
    e.finding.id ? h("a", { class: "small", href: `#/lineage/${encodeURIComponent(e.finding.id)}`, "aria-label": "Lineage of this finding" }, " lineage") : null));
  if (e.chart) turn.append(chart(e.chart));
  if (e.debate) turn.append(h("p", { class: "debate" }, h("strong", {}, `${e.debate.role}: `), e.debate.claim));
  if (e.clarification) turn.append(h("p", { class: "answer" }, e.clarification));
  if (e.answer) turn.append(h("div", { class: "answer" }, h("p", {}, e.answer.text), e.answer.confidence && h("p", { class: "meta" }, `Confidence: ${e.answer.confidence}`)));
}
