{{/*
Names and labels shared by every template of the chart.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "imgroup.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of object names: fullnameOverride, else the release name when it already contains the
chart name, else <release>-<chart>. At most 52 characters, so that suffixes keep names within 63.
*/}}
{{- define "imgroup.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of the operator's Deployment, ClusterRole/Role, bindings and leader Lease. */}}
{{- define "imgroup.operatorName" -}}
{{- printf "%s-operator" (include "imgroup.fullname" .) }}
{{- end }}

{{/* Chart name and version, as in the helm.sh/chart label. */}}
{{- define "imgroup.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The standard labels of every object of the chart. */}}
{{- define "imgroup.labels" -}}
helm.sh/chart: {{ include "imgroup.chart" . }}
app.kubernetes.io/name: {{ include "imgroup.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of the operator's pods (immutable once the Deployment exists). */}}
{{- define "imgroup.operatorSelectorLabels" -}}
app.kubernetes.io/name: {{ include "imgroup.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/* The operator pods' selector labels as `key=value,…` (IMGROUP_OPERATOR_POD_LABELS). */}}
{{- define "imgroup.operatorPodLabelList" -}}
{{- $items := list }}
{{- range $k, $v := (include "imgroup.operatorSelectorLabels" . | fromYaml) }}
{{- $items = append $items (printf "%s=%s" $k $v) }}
{{- end }}
{{- join "," $items }}
{{- end }}

{{/* Labels of the operator's objects: the standard labels plus the component. */}}
{{- define "imgroup.operatorLabels" -}}
{{ include "imgroup.labels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{/* The operator's ServiceAccount. */}}
{{- define "imgroup.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "imgroup.operatorName" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The runtime image: repository@digest when image.digest is set, else repository:tag with the tag
defaulting to the chart's appVersion. The operator runs it and passes it to gate and logic pods.
*/}}
{{- define "imgroup.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}
