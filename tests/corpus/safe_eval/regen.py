#!/usr/bin/env python3
"""Records what Ansible 2.9's templating makes of a variable's string value, with
Ansible 2.9's OWN code: lib/ansible/template/safe_eval.py (v2.9.27) is loaded from the
path given, with the few Ansible modules it imports stubbed (they only feed its call
whitelist, which no accepted expression reaches: ast.Call is not a safe node).

The conversion rule around it is Templar.template() of lib/ansible/template/__init__.py
(v2.9.27, lines 623-631): after rendering `{{ var }}`, a result that starts with "{"
(but not "{{"), starts with "[", or is "True"/"False" goes through
safe_eval(result, include_exceptions=True), and replaces the string only when no
exception came back.

    git -C ANSIBLE_CHECKOUT show v2.9.27:lib/ansible/template/safe_eval.py > /tmp/safe_eval.py
    python3 tests/corpus/safe_eval/regen.py /tmp/safe_eval.py   # from the repository root

Reads cases.txt (one value per line; blank lines and lines starting with `##` skipped),
writes expected.jsonl: {"in": VALUE, "out": RESULT} per case, RESULT as JSON with
regauth's inventory coercions (tuples and sets as lists, bytes decoded, complex and
Ellipsis as their str()).
"""
import json
import sys
import types

here = sys.argv[0].rsplit("/", 1)[0] or "."
src_path = sys.argv[1]


def stub(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


class _NoPlugins:
    def all(self):
        return []


stub("ansible")
stub("ansible.constants", DEFAULT_CALLABLE_WHITELIST=[])
sys.modules["ansible"].constants = sys.modules["ansible.constants"]
stub("ansible.module_utils")
stub("ansible.module_utils._text", to_native=str)
stub("ansible.module_utils.common")
stub("ansible.module_utils.common.text")
stub("ansible.module_utils.common.text.converters", container_to_text=lambda x: x)
import builtins as _b
six_moves = stub("ansible.module_utils.six.moves", builtins=_b)
stub("ansible.module_utils.six", string_types=(str,), PY2=False, moves=six_moves)
stub("ansible.plugins")
stub("ansible.plugins.loader", filter_loader=_NoPlugins(), test_loader=_NoPlugins())

code = open(src_path).read()
ns = {"__name__": "ansible.template.safe_eval"}
exec(compile(code, src_path, "exec"), ns)
safe_eval = ns["safe_eval"]


def templar_convert(result):
    # Templar.template(), v2.9.27 lib/ansible/template/__init__.py:623-631.
    if (result.startswith("{") and not result.startswith("{{")) or \
            result.startswith("[") or result in ("True", "False"):
        value, err = safe_eval(result, include_exceptions=True)
        if err is None:
            return value
    return result


def plain(v):
    if isinstance(v, (list, tuple, set, frozenset)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k) if not isinstance(k, bool) else json.dumps(k): plain(x) for k, x in v.items()}
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, complex) or v is Ellipsis:
        return str(v) if v is not Ellipsis else "..."
    return v


with open(f"{here}/cases.txt") as f, open(f"{here}/expected.jsonl", "w") as out:
    for line in f:
        line = line.rstrip("\n")
        if not line.strip() or line.startswith("##"):
            continue
        out.write(json.dumps({"in": line, "out": plain(templar_convert(line))}, ensure_ascii=False) + "\n")
