{{/* The chart's name, or nameOverride. */}}
{{- define "bounty-bot.name" -}}
{{- default .Chart.Name .Values.nameOverride -}}
{{- end -}}

{{/* The objects' name: fullnameOverride, or the release's name. */}}
{{- define "bounty-bot.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride -}}
{{- end -}}

{{/* Labels that select the pods; never changed after install. */}}
{{- define "bounty-bot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bounty-bot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "bounty-bot.labels" -}}
{{ include "bounty-bot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The claim holding PGlite's DATA_DIR. */}}
{{- define "bounty-bot.claimName" -}}
{{- default (printf "%s-data" (include "bounty-bot.fullname" .)) .Values.persistence.existingClaim -}}
{{- end -}}
