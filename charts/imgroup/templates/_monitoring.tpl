{{/*
Shared by the monitoring templates (metrics Service, ServiceMonitor, PodMonitors, PrometheusRule).
*/}}

{{/* True when the cluster serves the Prometheus Operator's API (ServiceMonitor, PodMonitor, PrometheusRule). */}}
{{- define "imgroup.monitoring.apiAvailable" -}}
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}true{{ end }}
{{- end }}

{{/*
Name of the port of the metrics Service, which the ServiceMonitor scrapes.
*/}}
{{- define "imgroup.monitoring.metricsPortName" -}}
metrics
{{- end }}

{{/*
interval, scrapeTimeout and the relabelings of one scrape endpoint. The chart's own relabelings
come first: `job` gets the fixed name the alert rules and the dashboard select on, and (for pods
the operator creates) `imgroup_cluster` the ImGroupCluster's name; the user's come after them.
Arguments: (dict "values" <serviceMonitor or podMonitors values> "job" <job> "cluster" <bool>)
*/}}
{{- define "imgroup.monitoring.endpoint" -}}
{{- with .values.interval }}
interval: {{ . }}
{{- end }}
{{- with .values.scrapeTimeout }}
scrapeTimeout: {{ . }}
{{- end }}
relabelings:
  - action: replace
    targetLabel: job
    replacement: {{ .job }}
  {{- if .cluster }}
  - action: replace
    sourceLabels: [__meta_kubernetes_pod_label_app_kubernetes_io_instance]
    targetLabel: imgroup_cluster
  {{- end }}
  {{- with .values.relabelings }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with .values.metricRelabelings }}
metricRelabelings:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
