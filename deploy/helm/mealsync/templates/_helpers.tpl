{{/* Names and labels shared by every object. */}}

{{- define "mealsync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mealsync.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The version the pods run: the image tag, by default the chart's appVersion. */}}
{{- define "mealsync.version" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/* Labels of the release's pods, whatever their component. */}}
{{- define "mealsync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mealsync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels that select the server's pods (not the migration Job's). */}}
{{- define "mealsync.serverSelectorLabels" -}}
{{ include "mealsync.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{- define "mealsync.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "mealsync.selectorLabels" . }}
app.kubernetes.io/version: {{ include "mealsync.version" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "mealsync.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mealsync.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "mealsync.cnpgName" -}}
{{- printf "%s-db" (include "mealsync.fullname" .) | trunc 50 | trimSuffix "-" }}
{{- end }}

{{- define "mealsync.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "mealsync.version" .) }}
{{- end }}

{{/*
The database environment, shared by the server, the migration Job and the
init container: from the operator's Secret, or from CloudNativePG's.
CloudNativePG's "<cluster>-app" Secret holds uri (the primary, through the
-rw Service), username and password; the replica URL is built from the last
two and the -ro Service.
*/}}
{{- define "mealsync.databaseEnv" -}}
{{- if .Values.cnpg.enabled }}
- name: MEALSYNC_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "mealsync.cnpgName" . }}-app
      key: uri
{{- else }}
- name: MEALSYNC_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret }}
      key: database-url
- name: MEALSYNC_DIRECT_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret }}
      key: direct-database-url
      optional: true
{{- end }}
{{- end }}

{{/* What the app may write: /tmp and its data folder. */}}
{{- define "mealsync.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: {{ .Values.config.MEALSYNC_DATA_DIR | default "/data" }}
{{- end }}

{{- define "mealsync.securityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "mealsync.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The environment variables the chart sets itself, which config must not. */}}
{{- define "mealsync.checkConfig" -}}
{{- range $k := list "MEALSYNC_ADDR" "MEALSYNC_OPS_ADDR" "MEALSYNC_SHUTDOWN_DELAY" "MEALSYNC_SHUTDOWN_TIMEOUT" "MEALSYNC_MIGRATE_ON_START" "MEALSYNC_DATABASE_URL" "MEALSYNC_DIRECT_DATABASE_URL" "MEALSYNC_DATABASE_REPLICA_URLS" "MEALSYNC_JWT_SECRET" "MEALSYNC_JWT_PREVIOUS_SECRETS" "MEALSYNC_OPENAI_API_KEY" "MEALSYNC_S3_ACCESS_KEY" "MEALSYNC_S3_SECRET_KEY" }}
{{- if hasKey $.Values.config $k }}
{{- fail (printf "config.%s: set by the chart (from ports, shutdown, migrations or the Secret), not in config" $k) }}
{{- end }}
{{- end }}
{{- if not $.Values.existingSecret }}
{{- fail "existingSecret: name the Secret holding jwt-secret and database-url (see values.yaml)" }}
{{- end }}
{{- $replicas := ternary $.Values.autoscaling.minReplicas $.Values.replicaCount $.Values.autoscaling.enabled }}
{{- if and $.Values.podDisruptionBudget.enabled (lt (int $replicas) 2) }}
{{- fail "podDisruptionBudget: with fewer than 2 replicas a drain would take the last one (set replicaCount or autoscaling.minReplicas to 2 or more, or disable the budget)" }}
{{- end }}
{{- if and $.Values.ingress.enabled $.Values.httpRoute.enabled }}
{{- fail "ingress.enabled and httpRoute.enabled: choose one way in" }}
{{- end }}
{{- end }}

{{/*
Alertmanager's labels. Its own name, not the app's: the app's
NetworkPolicies, PDB and Services select app.kubernetes.io/name=mealsync and
must never hold Alertmanager's pods (its egress is the mail and chat hosts).
*/}}
{{- define "mealsync.alertmanagerName" -}}
{{- printf "%s-alertmanager" (include "mealsync.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mealsync.alertmanagerSelectorLabels" -}}
app.kubernetes.io/name: alertmanager
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: alertmanager
{{- end }}

{{- define "mealsync.alertmanagerLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "mealsync.alertmanagerSelectorLabels" . }}
app.kubernetes.io/part-of: {{ include "mealsync.name" . }}
app.kubernetes.io/version: {{ .Values.alertmanager.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
