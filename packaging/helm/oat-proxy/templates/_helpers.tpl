{{- define "oat-proxy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "oat-proxy.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "oat-proxy.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "oat-proxy.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "oat-proxy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "oat-proxy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "oat-proxy.labels" -}}
{{ include "oat-proxy.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "oat-proxy.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}
{{- end -}}

{{/* The proxy container but its name; .listen is its listen address. */}}
{{- define "oat-proxy.container" -}}
image: {{ include "oat-proxy.image" .root | quote }}
imagePullPolicy: {{ .root.Values.image.pullPolicy }}
# The image's entrypoint is oat-proxy serve; its default listen address is
# loopback, so the address is given here.
args:
  - --listen={{ .listen }}
  - --allow-remote
  - --vault=/etc/oat-proxy/vault/{{ .root.Values.secrets.vault.key }}
  - --ca-dir=/etc/oat-proxy/ca
  - --admin-listen=0.0.0.0:{{ .root.Values.proxy.adminPort }}
  - --shutdown-timeout={{ .root.Values.proxy.shutdownTimeout }}
  - --log-format={{ .root.Values.proxy.logFormat }}
  - --log-output={{ .root.Values.proxy.logOutput }}
  {{- if .root.Values.proxy.inject }}
  - --inject
  - --proxy-secret-file=/etc/oat-proxy/proxy-secret/{{ .root.Values.secrets.proxySecret.key }}
  {{- end }}
  {{- if .root.Values.proxy.denyOtherHosts }}
  - --deny-other-hosts
  {{- end }}
  {{- range .root.Values.proxy.extraArgs }}
  - {{ . | quote }}
  {{- end }}
env:
  - name: OAT_PASSPHRASE_FILE
    value: /etc/oat-proxy/passphrase/{{ .root.Values.secrets.passphrase.key }}
  - name: OAT_CACHE
    value: "off"
  {{- if and .root.Values.proxy.goMemLimit (dig "limits" "memory" "" .root.Values.resources) }}
  - name: GOMEMLIMIT
    valueFrom:
      resourceFieldRef:
        resource: limits.memory
  {{- end }}
ports:
  - name: proxy
    containerPort: {{ .root.Values.proxy.port }}
    protocol: TCP
  - name: admin
    containerPort: {{ .root.Values.proxy.adminPort }}
    protocol: TCP
livenessProbe:
  httpGet:
    path: /healthz
    port: admin
  periodSeconds: 10
  timeoutSeconds: 2
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: admin
  periodSeconds: 5
  timeoutSeconds: 5
  failureThreshold: 2
startupProbe:
  httpGet:
    path: /healthz
    port: admin
  periodSeconds: 1
  failureThreshold: 30
resources:
  {{- toYaml .root.Values.resources | nindent 2 }}
securityContext:
  {{- toYaml .root.Values.securityContext | nindent 2 }}
volumeMounts:
  - name: vault
    mountPath: /etc/oat-proxy/vault
    readOnly: true
  - name: passphrase
    mountPath: /etc/oat-proxy/passphrase
    readOnly: true
  - name: ca
    mountPath: /etc/oat-proxy/ca
    readOnly: true
  {{- if .root.Values.proxy.inject }}
  - name: proxy-secret
    mountPath: /etc/oat-proxy/proxy-secret
    readOnly: true
  {{- end }}
  - name: tmp
    mountPath: /tmp
{{- end -}}

{{/* The proxy's volumes: the Secrets, read-only, group-readable (fsGroup). */}}
{{- define "oat-proxy.volumes" -}}
- name: vault
  secret:
    secretName: {{ .Values.secrets.vault.name }}
    defaultMode: 0440
    items:
      - key: {{ .Values.secrets.vault.key }}
        path: {{ .Values.secrets.vault.key }}
- name: passphrase
  secret:
    secretName: {{ .Values.secrets.passphrase.name }}
    defaultMode: 0440
    items:
      - key: {{ .Values.secrets.passphrase.key }}
        path: {{ .Values.secrets.passphrase.key }}
- name: ca
  secret:
    secretName: {{ .Values.secrets.ca.name }}
    defaultMode: 0440
{{- if .Values.proxy.inject }}
- name: proxy-secret
  secret:
    secretName: {{ .Values.secrets.proxySecret.name }}
    defaultMode: 0440
    items:
      - key: {{ .Values.secrets.proxySecret.key }}
        path: {{ .Values.secrets.proxySecret.key }}
{{- end }}
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: 16Mi
{{- end -}}
