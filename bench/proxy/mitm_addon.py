# Dials the stand-in hub for Docker Hub's host names, keeping the name for
# SNI and Host, as oat-proxy's --upstream does: the mitmproxy of the
# benchmark reaches the same hub on loopback without a hosts file.
import os

from mitmproxy import ctx

HUB = os.environ["OAT_BENCH_HUB"].rsplit(":", 1)
NAMES = set(os.environ["OAT_BENCH_NAMES"].split(","))


def server_connect(data):
    host, port = data.server.address
    if host in NAMES and port == 443:
        if not data.server.sni:
            data.server.sni = host
        data.server.address = (HUB[0], int(HUB[1]))
