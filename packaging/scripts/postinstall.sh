#!/bin/sh
# Says what to do next; changes nothing (the user's Docker configuration is
# theirs to change, with the first command).
set -e
case "$1" in
    configure|1|2) ;;
    *) exit 0 ;;
esac
cat <<'MSG'
docker-credential-oat and oat-proxy are installed. Next, as the user who runs docker:
  docker-credential-oat setup --dry-run    # show the change to ~/.docker/config.json, then run it without --dry-run
  printf '%s' "$ORG_OAT" | docker login -u ORG --password-stdin
The proxy: systemctl --user enable --now oat-proxy (see man oat-proxy).
MSG
exit 0
