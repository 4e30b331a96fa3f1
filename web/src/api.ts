// The gateway's REST API as the web app uses it: session cookies (set by POST /v1/session), the
// CSRF header on writes, JSON google.rpc.Status errors turned into ApiError with the server's sentence.

export class ApiError extends Error {
  constructor(public status: number, public code: number, message: string) {
    super(message);
  }
}

function cookie(name: string): string {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return "";
}

export function csrfHeaders(method: string): Record<string, string> {
  if (method === "GET" || method === "HEAD") return {};
  const t = cookie("vds_csrf");
  return t ? { "X-CSRF-Token": t } : {};
}

async function errorOf(resp: Response): Promise<ApiError> {
  let code = 0;
  let message = `${resp.status} ${resp.statusText}`;
  try {
    const body = await resp.json();
    code = body.code ?? 0;
    if (body.message) message = body.message;
  } catch {
    /* not JSON */
  }
  if (resp.status === 429) {
    const wait = resp.headers.get("Retry-After");
    if (wait) message += ` (retry in ${wait}s)`;
  }
  return new ApiError(resp.status, code, message);
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { ...csrfHeaders(method) };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!resp.ok) throw await errorOf(resp);
  if (resp.status === 204) return {} as T;
  return resp.json();
}

// upload sends a file as multipart/form-data with progress (XMLHttpRequest: fetch has no upload progress).
export function upload(projectId: string, file: File, onProgress: (loaded: number, total: number) => void): Promise<any> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const q = new URLSearchParams({ name: file.name, size_bytes: String(file.size) });
    xhr.open("POST", `/v1/projects/${encodeURIComponent(projectId)}/datasets:upload?${q}`);
    for (const [k, v] of Object.entries(csrfHeaders("POST"))) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      let body: any = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* empty */
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body.code ?? 0, body.message ?? `upload failed (${xhr.status})`));
    };
    xhr.onerror = () => reject(new ApiError(0, 14, "the upload was interrupted: check the connection and try again"));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}

export interface JobEvent {
  jobId: string;
  sequence: string;
  state: string;
  progress: number;
  stage: string;
  message: string;
  error: string;
  resultId: string;
}

// watchJob follows a job's Server-Sent Events until the job ends. EventSource reconnects by itself
// with Last-Event-ID, so events are neither lost nor repeated across a dropped connection.
export function watchJob(jobId: string, onEvent: (e: JobEvent) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const es = new EventSource(`/v1/jobs/${encodeURIComponent(jobId)}/events`);
    let last: JobEvent | undefined;
    es.addEventListener("job", (m) => {
      last = JSON.parse((m as MessageEvent).data);
      onEvent(last!);
    });
    es.addEventListener("end", (m) => {
      es.close();
      const end = JSON.parse((m as MessageEvent).data);
      if (end.state === "JOB_STATE_SUCCEEDED") resolve(end.state);
      else reject(new ApiError(0, 0, last?.error || `the job ended ${String(end.state).replace("JOB_STATE_", "").toLowerCase()}`));
    });
    es.addEventListener("error", (m) => {
      const data = (m as MessageEvent).data;
      if (data) {
        es.close();
        const st = JSON.parse(data);
        reject(new ApiError(0, st.code, st.message));
      } else if (es.readyState === EventSource.CLOSED) {
        reject(new ApiError(0, 14, "lost the event stream of the job"));
      } // CONNECTING: the browser retries with Last-Event-ID
    });
  });
}

// stream reads a grpc-gateway server stream (newline-delimited JSON, {"result": …} or {"error": …}).
export async function stream(path: string, body: unknown, onMessage: (m: any) => void): Promise<void> {
  const resp = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...csrfHeaders("POST") },
    credentials: "same-origin",
    body: JSON.stringify(body),
  });
  if (!resp.ok || !resp.body) throw await errorOf(resp);
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buf += value;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      const m = JSON.parse(line);
      if (m.error) throw new ApiError(0, m.error.code, m.error.message);
      onMessage(m.result);
    }
    if (done) break;
  }
}
