package helper

const usage = `Usage: docker-credential-oat <command> [arguments]

A Docker credential helper for Docker Hub organization access tokens (OATs).
Secrets are kept in an encrypted file vault.

Docker runs these (JSON on stdin and stdout):
  store, get, erase, list, version

Commands for people:
  setup [--creds-store] [--dry-run]   wire ~/.docker/config.json to use this helper
  token add|ls|show|edit|rm|default|import
                                      organization access tokens, their scopes
                                      and expiry ('token --help')
  doctor [--json] [--fix]             what works here and what will not, with fixes
  unlock [--for 8h] / lock            keep the vault key in the kernel keyring for a
                                      while, so calls skip the KDF / forget it
  reset --yes                         move a damaged or locked-out vault aside
  version, --version                  print the version
  help, --help                        print this text

Environment:
  OAT_PASSPHRASE        the vault passphrase
  OAT_PASSPHRASE_FILE   a file holding the vault passphrase
  OAT_HOME              keep all files here instead of the XDG directories
  OAT_BACKEND           the store: file, keyctl, secret-service, kwallet, pass,
                        keychain, wincred (default: see the README)
  OAT_DEBUG=1           diagnostics on stderr (never secrets)
  OAT_QUIET=1           no warnings (expiry, Docker Desktop, token kind)
  OAT_CACHE             off, or a duration: unlock on the first passphrase use
  DOCKER_CONFIG         the docker configuration directory (setup)

Examples:
  docker-credential-oat setup
  export OAT_PASSPHRASE_FILE=/run/secrets/oat-vault
  echo "$ACME_OAT" | docker login -u acme --password-stdin
  echo "$PULL_OAT" | docker-credential-oat token add --org acme --label ci-pull --pull 'acme/*' --expires 2026-12-31
  docker-credential-oat token ls
  docker-credential-oat doctor
`
