# fish completion for oat-proxy. Generated from its command table; do not edit.

# __oat_proxy_at PATH: the command line so far selects the command PATH ("token add").
function __oat_proxy_at
    set -l cmdpath
    for w in (commandline -opc)[2..-1]
        test "$w" = -- ; and return 1
        set -l next (string join -- ' ' $cmdpath $w)
        if contains -- "$next" 'serve' 'run' 'env' 'trust' 'ca' 'version'
            set cmdpath $cmdpath $w
        end
    end
    set -l got (string join -- ' ' $cmdpath)
    test "$got" = "$argv"
end

complete -c oat-proxy -f
complete -c oat-proxy -n '__oat_proxy_at' -a 'serve' -d 'run the proxy'
complete -c oat-proxy -n '__oat_proxy_at' -a 'run' -d 'run a command with its own proxy: start, run, stop, exit with its status'
complete -c oat-proxy -n '__oat_proxy_at' -a 'env' -d 'print the environment clients need to use the proxy'
complete -c oat-proxy -n '__oat_proxy_at' -a 'trust' -d 'install the proxy\'s CA where Docker Engine, BuildKit, containerd and the OS look'
complete -c oat-proxy -n '__oat_proxy_at' -a 'ca' -d 'create the proxy\'s CA on first use and print its certificate\'s path'
complete -c oat-proxy -n '__oat_proxy_at' -a 'version' -d 'print the version'
complete -c oat-proxy -n '__oat_proxy_at serve' -l admin-listen -r -F -d 'serve /healthz, /readyz and /metrics on ADDR (host:port; off by default; loopback unless --allow-remote)'
complete -c oat-proxy -n '__oat_proxy_at serve' -l allow-remote -d 'allow --listen on an address other hosts can reach'
complete -c oat-proxy -n '__oat_proxy_at serve' -l audit-log -r -F -d 'append one JSON line per decision to FILE (0600; SIGHUP reopens it)'
complete -c oat-proxy -n '__oat_proxy_at serve' -l ca-dir -r -F -d 'load the CA from DIR (oat-proxy-ca.pem, oat-proxy-ca-key.pem; a mounted Secret, readable by the group) instead of the configuration directory'
complete -c oat-proxy -n '__oat_proxy_at serve' -l deny-other-hosts -d 'refuse CONNECT to every host but Docker Hub\'s (its API hosts, and the blob hosts it redirects downloads to) instead of tunnelling it'
complete -c oat-proxy -n '__oat_proxy_at serve' -l inject -d 'attach the least-privileged token that covers it to every token request that comes without credentials'
complete -c oat-proxy -n '__oat_proxy_at serve' -l listen -r -F -d 'the ADDRess to listen on: host:port, or unix:PATH (default 127.0.0.1:3128, or $OAT_PROXY_LISTEN)'
complete -c oat-proxy -n '__oat_proxy_at serve' -l log-format -r -F -d 'log as FORMAT: text, json (one object per line), or auto: json unless the log\'s stream is a terminal'
complete -c oat-proxy -n '__oat_proxy_at serve' -l log-output -r -F -d 'log on STREAM: stderr, or stdout (a container\'s log collector); as JSON, stdout then holds only JSON lines'
complete -c oat-proxy -n '__oat_proxy_at serve' -l max-conns -r -F -d 'at most N client connections at once; a 503 past it'
complete -c oat-proxy -n '__oat_proxy_at serve' -l no-proxy-auth -d 'with --inject, do not require the proxy secret (anyone who reaches the proxy borrows the tokens)'
complete -c oat-proxy -n '__oat_proxy_at serve' -l proxy-secret-file -r -F -d 'with --inject, read the proxy secret clients must send from FILE (a mounted Secret, readable by the group, never by others) instead of making one in the configuration directory'
complete -c oat-proxy -n '__oat_proxy_at serve' -l shutdown-timeout -r -F -d 'on SIGTERM or SIGINT, stop accepting and let requests and tunnels in flight finish for at most DURATION, then close the rest (within Kubernetes\' default 30s grace period)'
complete -c oat-proxy -n '__oat_proxy_at serve' -l upstream -r -F -d 'dial HOST=ADDR for HOST, keeping HOST for TLS and Host (repeatable; tests and mirrors)'
complete -c oat-proxy -n '__oat_proxy_at serve' -l vault -r -F -d 'read the token records from the vault FILE, read-only (a mounted Secret; $OAT_PASSPHRASE_FILE names its passphrase file), again when it or the passphrase changes'
complete -c oat-proxy -n '__oat_proxy_at run' -l audit-log -r -F -d 'append one JSON line per decision to FILE (0600; SIGHUP reopens it)'
complete -c oat-proxy -n '__oat_proxy_at run' -l deny-other-hosts -d 'refuse CONNECT to every host but Docker Hub\'s (its API hosts, and the blob hosts it redirects downloads to) instead of tunnelling it'
complete -c oat-proxy -n '__oat_proxy_at run' -l inject -d 'attach the least-privileged token that covers it to every token request that comes without credentials'
complete -c oat-proxy -n '__oat_proxy_at run' -l max-conns -r -F -d 'at most N client connections at once; a 503 past it'
complete -c oat-proxy -n '__oat_proxy_at run' -l no-proxy-auth -d 'with --inject, do not require the proxy secret (anyone who reaches the proxy borrows the tokens)'
complete -c oat-proxy -n '__oat_proxy_at run' -l upstream -r -F -d 'dial HOST=ADDR for HOST, keeping HOST for TLS and Host (repeatable; tests and mirrors)'
complete -c oat-proxy -n '__oat_proxy_at env' -l listen -r -F -d 'the ADDRess the proxy listens on (default 127.0.0.1:3128, or $OAT_PROXY_LISTEN)'
complete -c oat-proxy -n '__oat_proxy_at env' -l shell -r -F -d 'the output form, SHELL: sh, fish, powershell, github, gitlab'
complete -c oat-proxy -n '__oat_proxy_at trust' -l dry-run -d 'print every step and change nothing'
complete -c oat-proxy -n '__oat_proxy_at trust' -l json -d 'print the steps, what was done and the daemon\'s proxy settings as JSON'
complete -c oat-proxy -n '__oat_proxy_at trust' -l listen -r -F -d 'the ADDRess the proxy listens on, for the daemon settings (default 127.0.0.1:3128, or $OAT_PROXY_LISTEN)'
complete -c oat-proxy -n '__oat_proxy_at ca' -l json -d 'print the CA\'s path, fingerprint, expiry and hosts as JSON'
complete -c oat-proxy -n '__oat_proxy_at version' -l json -d 'print the version as JSON'
