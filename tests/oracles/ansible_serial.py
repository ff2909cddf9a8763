"""Batch sizes from ansible-core's own code: PlaybookExecutor._get_serialized_batches
(with pct_to_int), for each case on stdin: one JSON [serial, hosts] per line.
Prints one JSON list of batch sizes per line (or {"error": ...})."""
import json
import sys

from ansible.executor.playbook_executor import PlaybookExecutor


class Inventory:
    def __init__(self, n):
        self.n = n

    def get_hosts(self, pattern, order=None):
        return ["h%d" % i for i in range(self.n)]


class Play:
    def __init__(self, serial):
        # The `serial` keyword is isa='list': a scalar becomes a one-element list.
        if serial is None:
            serial = []
        elif not isinstance(serial, list):
            serial = [serial]
        self.serial = serial
        self.hosts = "all"
        self.order = None


class Executor:
    _get_serialized_batches = PlaybookExecutor._get_serialized_batches


for line in sys.stdin:
    serial, n = json.loads(line)
    ex = Executor()
    ex._inventory = Inventory(n)
    try:
        print(json.dumps([len(b) for b in ex._get_serialized_batches(Play(serial))]))
    except Exception as e:  # noqa: BLE001 - reported to the test
        print(json.dumps({"error": str(e)}))
