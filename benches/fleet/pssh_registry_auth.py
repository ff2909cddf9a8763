"""The peer for benches/scale.rs: parallel-ssh (libssh2 + gevent) doing only one exec
per node: write both auth files and restart. No validation, no read, no merge.

argv: JSON spec file with {"user", "key", "pool_size", "config_b64",
"hosts": [[port, runtime_path, node_path, restart_log], ...]}.
Exits non-zero if any host failed."""
import json
import sys

from pssh.clients import ParallelSSHClient
from pssh.config import HostConfig

spec = json.load(open(sys.argv[1]))
hosts = spec["hosts"]
client = ParallelSSHClient(
    ["127.0.0.1"] * len(hosts),
    user=spec["user"],
    pkey=spec["key"],
    pool_size=spec["pool_size"],
    host_config=[HostConfig(port=h[0], user=spec["user"], private_key=spec["key"]) for h in hosts],
    num_retries=1,
)
cmd = (
    "umask 077; for f in %s %s; do mkdir -p \"${f%%/*}\"; "
    "printf %%s " + spec["config_b64"] + " | base64 -d > \"$f\"; done; echo restarted >> %s"
)
output = client.run_command(cmd, host_args=[(h[1], h[2], h[3]) for h in hosts], stop_on_errors=False)
client.join(output)
bad = [o for o in output if o.exception is not None or o.exit_code != 0]
for o in bad[:5]:
    print("failed:", o.host, o.exception, o.exit_code, file=sys.stderr)
sys.exit(1 if bad else 0)
