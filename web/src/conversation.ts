// The conversation on a dataset page: a question (with the chart selections as context) starts a run
// at the gateway, whose events arrive as Server-Sent Events. After a dropped connection the page
// reconnects from the last event id it has, and the gateway sends only the events after it; when the
// gateway no longer has the run (it restarted, or the run ended long ago), the rest comes from the
// stored conversation, where event n of the stream is event n of the answer.
import { api, ApiError } from "./api";
import { chart, onSelectionChange, removeSelection, selections } from "./charts";
import { errorBox, h } from "./ui";

export interface RunHandle {
  runId: string;
  eventsUrl: string;
}

// storedAnswer waits (up to 10 minutes) until the conversation holds message number `index` (0-based)
// and returns it: the fallback when the gateway no longer has a run.
async function storedAnswer(conversationId: string, index: number): Promise<any> {
  for (let i = 0; i < 300; i++) {
    const { conversation } = await api("GET", `/v1/conversations/${encodeURIComponent(conversationId)}`);
    const m = conversation?.messages?.[index];
    if (m?.role === "assistant") return m;
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new ApiError(0, 4, "lost the conversation's event stream and the answer has not been saved after 10 minutes; reload the page later");
}

// streamMessage sends a message and calls onEvent with each event once, in order, until the answer.
// answerIndex is the position the answer will have among the conversation's messages.
export async function streamMessage(conversationId: string, body: unknown, answerIndex: number, onEvent: (e: any, id: number) => void, started?: () => void): Promise<RunHandle> {
  const run: RunHandle = await api("POST", `/v1/conversations/${encodeURIComponent(conversationId)}/runs`, body);
  started?.(); // the conversation will hold this exchange
  let last = 0;
  const deliver = (e: any, id: number) => {
    if (id <= last) return; // never twice
    last = id;
    onEvent(e, id);
  };
  await new Promise<void>((resolve, reject) => {
    let drops = 0;
    // Reconnections carry ?last_event_id= themselves (the Last-Event-ID header an EventSource would
    // send is not always passed on by proxies and test harnesses), so the gateway sends only the rest.
    const connect = () => {
      const es = new EventSource(last ? `${run.eventsUrl}?last_event_id=${last}` : run.eventsUrl);
      es.addEventListener("conversation", (m) => {
        const me = m as MessageEvent;
        drops = 0;
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
        if (es.readyState !== EventSource.CLOSED) {
          // The connection dropped: reconnect from the last event, backing off up to 10 s.
          es.close();
          if (++drops > 30) reject(new ApiError(0, 14, "lost the conversation's event stream: check the connection and reload the page"));
          else setTimeout(connect, Math.min(10_000, 300 * 2 ** Math.min(drops, 6)));
          return;
        }
        // The gateway refused the stream (it no longer has the run): read the stored answer, whose
        // event n is event n of the stream.
        try {
          const answer = await storedAnswer(conversationId, answerIndex);
          (answer.events ?? []).forEach((e: any, i: number) => deliver(e, i + 1));
          resolve();
        } catch (e) {
          reject(e);
        }
      });
    };
    connect();
  });
  return run;
}

export function askView(box: HTMLElement, dataset: any) {
  let conversationId = "";
  let asked = 0; // messages this page sent to the conversation
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
      const answerIndex = 2 * asked + 1; // each exchange is a question and its answer
      await streamMessage(conversationId, {
        text,
        selections: sent.map((s) => ({ chartId: s.chartId, field: s.field, values: s.values ?? [], rangeLow: s.rangeLow ?? 0, rangeHigh: s.rangeHigh ?? 0 })),
      }, answerIndex, (e) => renderEvent(turn, steps, e ?? {}), () => asked++);
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
