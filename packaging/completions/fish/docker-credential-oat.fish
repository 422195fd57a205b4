# fish completion for docker-credential-oat. Generated from its command table; do not edit.

# __docker_credential_oat_at PATH: the command line so far selects the command PATH ("token add").
function __docker_credential_oat_at
    set -l cmdpath
    for w in (commandline -opc)[2..-1]
        test "$w" = -- ; and return 1
        set -l next (string join -- ' ' $cmdpath $w)
        if contains -- "$next" 'store' 'get' 'erase' 'list' 'version' 'setup' 'token' 'token add' 'token ls' 'token list' 'token show' 'token edit' 'token rm' 'token remove' 'token default' 'token import' 'token export' 'doctor' 'unlock' 'lock' 'reset'
            set cmdpath $cmdpath $w
        end
    end
    set -l got (string join -- ' ' $cmdpath)
    test "$got" = "$argv"
end

complete -c docker-credential-oat -f
complete -c docker-credential-oat -n '__docker_credential_oat_at' -a 'store' -d 'store credentials Docker sends on stdin (docker login)'
complete -c docker-credential-oat -n '__docker_credential_oat_at' -a 'get' -d 'print the credentials of the server named on stdin'
complete -c docker-credential-oat -n '__docker_credential_oat_at' -a 'erase' -d 'remove the credentials of the server named on stdin (docker logout)'
complete -c docker-credential-oat -n '__docker_credential_oat_at' -a 'list' -d 'print every stored server and its username, never a secret'
complete -c docker-credential-oat -n '__docker_credential_oat_at' -a 'version' -d 'print the version'
complete -c docker-credential-oat -n '__docker_credential_oat_at' -a 'setup' -d 'wire ~/.docker/config.json to use this helper'
complete -c docker-credential-oat -n '__docker_credential_oat_at' -a 'token' -d 'organization access tokens, their scopes and expiry'
complete -c docker-credential-oat -n '__docker_credential_oat_at' -a 'doctor' -d 'what works here and what will not, with fixes'
complete -c docker-credential-oat -n '__docker_credential_oat_at' -a 'unlock' -d 'keep the vault key in the kernel keyring for a while, so calls skip the KDF'
complete -c docker-credential-oat -n '__docker_credential_oat_at' -a 'lock' -d 'forget the vault key kept by unlock'
complete -c docker-credential-oat -n '__docker_credential_oat_at' -a 'reset' -d 'move a damaged or locked-out vault aside'
complete -c docker-credential-oat -n '__docker_credential_oat_at version' -l json -d 'print the version as JSON'
complete -c docker-credential-oat -n '__docker_credential_oat_at setup' -l creds-store -d 'make docker-credential-oat the store for all registries (credsStore)'
complete -c docker-credential-oat -n '__docker_credential_oat_at setup' -l dry-run -d 'print the change as a diff and write nothing'
complete -c docker-credential-oat -n '__docker_credential_oat_at token' -a 'add' -d 'add a token (its secret on stdin, or asked on the terminal)'
complete -c docker-credential-oat -n '__docker_credential_oat_at token' -a 'ls' -d 'list the tokens'
complete -c docker-credential-oat -n '__docker_credential_oat_at token' -a 'list' -d 'list the tokens'
complete -c docker-credential-oat -n '__docker_credential_oat_at token' -a 'show' -d 'one token\'s record (its secret as a fingerprint)'
complete -c docker-credential-oat -n '__docker_credential_oat_at token' -a 'edit' -d 'change a token\'s record (scope flags replace the scopes)'
complete -c docker-credential-oat -n '__docker_credential_oat_at token' -a 'rm' -d 'remove a token'
complete -c docker-credential-oat -n '__docker_credential_oat_at token' -a 'remove' -d 'remove a token'
complete -c docker-credential-oat -n '__docker_credential_oat_at token' -a 'default' -d 'make a token its organization\'s default, and log Docker in to Docker Hub with it'
complete -c docker-credential-oat -n '__docker_credential_oat_at token' -a 'import' -d 'add or update records from the JSON of Docker Hub\'s access-token API'
complete -c docker-credential-oat -n '__docker_credential_oat_at token' -a 'export' -d 'write token records into a new vault, for a Kubernetes Secret'
complete -c docker-credential-oat -n '__docker_credential_oat_at token add' -l default -d 'make it the token docker gets for its organization'
complete -c docker-credential-oat -n '__docker_credential_oat_at token add' -l description -r -F -d 'a DESCRIPTION for people'
complete -c docker-credential-oat -n '__docker_credential_oat_at token add' -l expires -r -F -d 'when the token expires: a DATE (2026-12-31), an RFC 3339 time, or days (90d)'
complete -c docker-credential-oat -n '__docker_credential_oat_at token add' -l label -r -F -d 'the token\'s LABEL, as in Docker Hub (required)'
complete -c docker-credential-oat -n '__docker_credential_oat_at token add' -l org -r -F -d 'the organization ORG the token belongs to (required)'
complete -c docker-credential-oat -n '__docker_credential_oat_at token add' -l org-scope -r -F -d 'organization scopes: SCOPE,... of member-read, member-edit, invite-read, invite-edit, group-read, group-edit'
complete -c docker-credential-oat -n '__docker_credential_oat_at token add' -l public-read -d 'Read public repositories'
complete -c docker-credential-oat -n '__docker_credential_oat_at token add' -l pull -r -F -d 'Image Pull on REPO,... (repeatable)'
complete -c docker-credential-oat -n '__docker_credential_oat_at token add' -l push -r -F -d 'Image Push (and pull) on REPO,... (repeatable)'
complete -c docker-credential-oat -n '__docker_credential_oat_at token ls' -l json -d 'print the records as JSON (no secrets)'
complete -c docker-credential-oat -n '__docker_credential_oat_at token ls' -l org -r -F -d 'only the tokens of organization ORG'
complete -c docker-credential-oat -n '__docker_credential_oat_at token list' -l json -d 'print the records as JSON (no secrets)'
complete -c docker-credential-oat -n '__docker_credential_oat_at token list' -l org -r -F -d 'only the tokens of organization ORG'
complete -c docker-credential-oat -n '__docker_credential_oat_at token show' -l json -d 'print the record as JSON (no secret)'
complete -c docker-credential-oat -n '__docker_credential_oat_at token show' -l org -r -F -d 'the organization ORG of LABEL, when several have that label'
complete -c docker-credential-oat -n '__docker_credential_oat_at token edit' -l active -d 'whether the token is active (--active=false: get never hands it out)'
complete -c docker-credential-oat -n '__docker_credential_oat_at token edit' -l description -r -F -d 'a new DESCRIPTION'
complete -c docker-credential-oat -n '__docker_credential_oat_at token edit' -l expires -r -F -d 'a new expiry: a DATE (2026-12-31), an RFC 3339 time, or days (90d)'
complete -c docker-credential-oat -n '__docker_credential_oat_at token edit' -l label -r -F -d 'a new LABEL'
complete -c docker-credential-oat -n '__docker_credential_oat_at token edit' -l no-expiry -d 'the token never expires'
complete -c docker-credential-oat -n '__docker_credential_oat_at token edit' -l org -r -F -d 'the organization ORG of LABEL, when several have that label'
complete -c docker-credential-oat -n '__docker_credential_oat_at token edit' -l org-scope -r -F -d 'organization scopes: SCOPE,... of member-read, member-edit, invite-read, invite-edit, group-read, group-edit'
complete -c docker-credential-oat -n '__docker_credential_oat_at token edit' -l public-read -d 'Read public repositories'
complete -c docker-credential-oat -n '__docker_credential_oat_at token edit' -l pull -r -F -d 'Image Pull on REPO,... (repeatable)'
complete -c docker-credential-oat -n '__docker_credential_oat_at token edit' -l push -r -F -d 'Image Push (and pull) on REPO,... (repeatable)'
complete -c docker-credential-oat -n '__docker_credential_oat_at token rm' -l org -r -F -d 'the organization ORG of LABEL, when several have that label'
complete -c docker-credential-oat -n '__docker_credential_oat_at token remove' -l org -r -F -d 'the organization ORG of LABEL, when several have that label'
complete -c docker-credential-oat -n '__docker_credential_oat_at token default' -l org -r -F -d 'the organization ORG of LABEL, when several have that label'
complete -c docker-credential-oat -n '__docker_credential_oat_at token import' -l dry-run -d 'say what would change, and change nothing'
complete -c docker-credential-oat -n '__docker_credential_oat_at token import' -l json -d 'print what was (or would be) updated, added and skipped as JSON (no secrets)'
complete -c docker-credential-oat -n '__docker_credential_oat_at token import' -l org -r -F -d 'the organization ORG of every token (when their resources do not say)'
complete -c docker-credential-oat -n '__docker_credential_oat_at token export' -l force -d 'replace FILE if it exists'
complete -c docker-credential-oat -n '__docker_credential_oat_at token export' -l label -r -F -d 'only the tokens labelled LABEL,... (repeatable; ORG/LABEL names one organization\'s)'
complete -c docker-credential-oat -n '__docker_credential_oat_at token export' -l org -r -F -d 'only the tokens of organization ORG'
complete -c docker-credential-oat -n '__docker_credential_oat_at token export' -l passphrase-file -r -F -d 'the FILE holding the new vault\'s passphrase (default $OAT_EXPORT_PASSPHRASE_FILE)'
complete -c docker-credential-oat -n '__docker_credential_oat_at token export' -l vault -r -F -d 'the new vault FILE to write (required)'
complete -c docker-credential-oat -n '__docker_credential_oat_at doctor' -l fix -d 'move plaintext Docker Hub credentials from config.json into the store'
complete -c docker-credential-oat -n '__docker_credential_oat_at doctor' -l json -d 'print the findings as JSON'
complete -c docker-credential-oat -n '__docker_credential_oat_at unlock' -l for -r -F -d 'how long the key stays unlocked, as a DURATION such as 8h'
complete -c docker-credential-oat -n '__docker_credential_oat_at reset' -l yes -d 'really move the vault aside'
