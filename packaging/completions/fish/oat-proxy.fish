# fish completion for oat-proxy. Generated from its command table; do not edit.

# __oat_proxy_at PATH: the command line so far selects the command PATH ("token add").
function __oat_proxy_at
    set -l cmdpath
    for w in (commandline -opc)[2..-1]
        test "$w" = -- ; and return 1
        set -l next (string join -- ' ' $cmdpath $w)
        if contains -- "$next" 'serve' 'ca' 'version'
            set cmdpath $cmdpath $w
        end
    end
    set -l got (string join -- ' ' $cmdpath)
    test "$got" = "$argv"
end

complete -c oat-proxy -f
complete -c oat-proxy -n '__oat_proxy_at' -a 'serve' -d 'run the proxy'
complete -c oat-proxy -n '__oat_proxy_at' -a 'ca' -d 'create the proxy\'s CA on first use and print its certificate\'s path'
complete -c oat-proxy -n '__oat_proxy_at' -a 'version' -d 'print the version'
complete -c oat-proxy -n '__oat_proxy_at serve' -l audit-log -r -F -d 'append one JSON line per decision to FILE (0600)'
complete -c oat-proxy -n '__oat_proxy_at serve' -l deny-other-hosts -d 'refuse CONNECT to hosts other than Docker Hub\'s instead of tunnelling them'
complete -c oat-proxy -n '__oat_proxy_at serve' -l listen -r -F -d 'the ADDRess to listen on, host:port (default 127.0.0.1:3128, or $OAT_PROXY_LISTEN)'
complete -c oat-proxy -n '__oat_proxy_at serve' -l upstream -r -F -d 'dial HOST=ADDR for HOST, keeping HOST for TLS and Host (repeatable; tests and mirrors)'
