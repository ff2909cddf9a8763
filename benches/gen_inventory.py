#!/usr/bin/env python3
"""Writes a large 3.11-style inventory for the parsing benchmark: 5,000 hosts given
as ranges across 50 groups (with :children nesting and :vars), plus group_vars and
host_vars files beside it. Usage: gen_inventory.py DIR [HOSTS] [GROUPS]."""
import os
import sys

out = sys.argv[1]
hosts = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
groups = int(sys.argv[3]) if len(sys.argv) > 3 else 50
per = hosts // groups
os.makedirs(os.path.join(out, "group_vars"), exist_ok=True)
os.makedirs(os.path.join(out, "host_vars"), exist_ok=True)
lines = ["[OSEv3:children]", "masters", "nodes", "", "[OSEv3:vars]",
         "openshift_deployment_type=openshift-enterprise",
         "oreg_url=registry.example.com:5000/openshift3/ose-${component}:${version}",
         "oreg_auth_user=12345678|robot",
         "oreg_auth_password='p#ss;w:rd \"q\"'",
         "openshift_additional_registry_credentials=[{'host':'r1.example.com','user':'u','password':'p','test_login':'False'},{'host':'r2.example.com:5000','password':'tok','tls_verify':'False','test_image':'mongodb/mongodb'}]",
         "", "[masters]", "master[1:3].example.com openshift_node_group_name='node-config-master'", "",
         "[nodes:children]"]
lines += [f"zone{g:02d}" for g in range(groups)]
lines += ["masters", ""]
for g in range(groups):
    width = len(str(per))
    lines.append(f"[zone{g:02d}]")
    lines.append(f"node-z{g:02d}-[{1:0{width}d}:{per:0{width}d}].example.com openshift_node_group_name='node-config-compute' rack={g % 7}")
    lines.append("")
    lines.append(f"[zone{g:02d}:vars]")
    lines.append(f"zone_name=zone-{g}")
    lines.append(f"ansible_group_priority={g % 3 + 1}")
    lines.append("")
    with open(os.path.join(out, "group_vars", f"zone{g:02d}.yml"), "w") as f:
        f.write(f"---\nzone_index: {g}\nzone_labels:\n  region: r{g % 5}\n  fast: {'yes' if g % 2 else 'no'}\n")
with open(os.path.join(out, "hosts"), "w") as f:
    f.write("\n".join(lines) + "\n")
with open(os.path.join(out, "group_vars", "all.yml"), "w") as f:
    f.write("---\nopenshift_image_tag: v3.11\nopenshift_restart_nodes_serial: 5\n")
for i in range(1, 4):
    with open(os.path.join(out, "host_vars", f"master{i}.example.com.yml"), "w") as f:
        f.write(f"---\nansible_host: 10.0.0.{i}\n")
