{{/*
Names and labels shared by every template of the chart.
(The chart-monitoring branch's minimal copy of the definitions its templates use, identical to the
chart-core branch's _helpers.tpl, which is the one to keep when the branches merge.)
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

{{/* Labels of the operator's objects: the standard labels plus the component. */}}
{{- define "imgroup.operatorLabels" -}}
{{ include "imgroup.labels" . }}
app.kubernetes.io/component: operator
{{- end }}
