{{/* The release's base name. */}}
{{- define "vds.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels shared by every object. */}}
{{- define "vds.labels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
{{ include "vds.commonLabels" . }}
{{- end -}}

{{/* Labels of every object but the instance label (which the selector labels carry). */}}
{{- define "vds.commonLabels" -}}
app.kubernetes.io/part-of: vds
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one service: (dict "root" $ "svc" "ml"). */}}
{{- define "vds.selector" -}}
app.kubernetes.io/name: vds-{{ .svc }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* The image of one service. */}}
{{- define "vds.image" -}}
{{- printf "%s/%s:%s" .root.Values.image.repository .svc (.root.Values.image.tag | default .root.Chart.AppVersion) -}}
{{- end -}}

{{/* The in-cluster gRPC address of one service. */}}
{{- define "vds.addr" -}}
{{- printf "%s-%s:9000" (include "vds.fullname" .root) .svc -}}
{{- end -}}

{{- define "vds.dbSecret" -}}
{{- .Values.database.existingSecret | default (printf "%s-database" (include "vds.fullname" .)) -}}
{{- end -}}
{{- define "vds.keysSecret" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-keys" (include "vds.fullname" .)) -}}
{{- end -}}
{{- define "vds.s3Secret" -}}
{{- .Values.objectStore.existingSecret | default (printf "%s-s3" (include "vds.fullname" .)) -}}
{{- end -}}
{{- define "vds.hasS3Secret" -}}
{{- if or .Values.objectStore.existingSecret .Values.objectStore.accessKeyId -}}true{{- end -}}
{{- end -}}

{{/* The peers each service calls (their --<peer>-addr flags). */}}
{{- define "vds.peers" -}}
auth: []
ingestion: [auth]
profiling: [auth, ingestion]
ml: [auth, ingestion]
causal: [auth, ingestion]
sandbox: [auth, ingestion]
orchestrator: [auth, ingestion, profiling, ml, causal, sandbox]
gateway: [auth, ingestion, profiling, ml, causal, sandbox, orchestrator]
{{- end -}}

{{/* Environment shared by the services (not the gateway): store, queue, keys, telemetry. */}}
{{- define "vds.commonEnv" -}}
- name: VDS_HOME
  value: /var/lib/vds
- name: VDS_LOG_FORMAT
  value: json
- name: VDS_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: VDS_DATABASE_URL
  valueFrom:
    secretKeyRef: {name: {{ include "vds.dbSecret" . }}, key: database-url}
- name: VDS_NATS_URL
  value: {{ .Values.nats.url | quote }}
- name: VDS_OBJECT_STORE
  value: {{ .Values.objectStore.url | quote }}
- name: VDS_MESH_KEY
  valueFrom:
    secretKeyRef: {name: {{ include "vds.keysSecret" . }}, key: mesh-key}
{{- if include "vds.hasS3Secret" . }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef: {name: {{ include "vds.s3Secret" . }}, key: AWS_ACCESS_KEY_ID}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef: {name: {{ include "vds.s3Secret" . }}, key: AWS_SECRET_ACCESS_KEY}
{{- end }}
{{- end -}}

{{- define "vds.telemetryEnv" -}}
- name: VDS_METRICS_ADDR
  value: {{ printf "0.0.0.0:%d" (int .Values.telemetry.metricsPort) | quote }}
{{- if .Values.telemetry.otlpEndpoint }}
- name: VDS_OTLP_ENDPOINT
  value: {{ .Values.telemetry.otlpEndpoint | quote }}
- name: VDS_OTLP_INSECURE
  value: {{ .Values.telemetry.otlpInsecure | quote }}
{{- end }}
{{- end -}}
