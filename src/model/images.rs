//! The images an install or upgrade run will pull, worked out as openshift-ansible
//! release-3.11's `docker_image_availability` health check does
//! (`roles/openshift_health_checker/defaults/main.yml`, with the defaults of the
//! `openshift_facts`, `cockpit-ui`, `etcd` and `openshift_version` roles it depends on),
//! then deduplicated: each image once, with the credential the nodes pull it with.

use super::build::{ModelError, ansible_bool, err, opt_string};
use super::{ClusterModel, DeploymentType, HostSpec, RegistryCredential};
use crate::inventory::{Inventory, Value, Vars};
use std::collections::{BTreeMap, BTreeSet};

/// The installer's name for the check, as `openshift_disable_check` lists it.
pub const CHECK_NAME: &str = "docker_image_availability";

/// The `${component}`s every node pulls (`l_node_image_list`).
const NODE_COMPONENTS: [&str; 4] = ["haproxy-router", "docker-registry", "deployer", "pod"];

/// `r_etcd_default_version` of the 3.11 etcd role.
const ETCD_DEFAULT_VERSION: &str = "3.2.32";

/// What the computation needs besides the inventory.
#[derive(Debug, Clone, Default)]
pub struct ImageOptions {
    /// `-e K=V`: take precedence over every inventory variable, as extra vars do.
    pub extra_vars: BTreeMap<String, String>,
    /// The release an upgrade targets (`openshift_upgrade_target`, which replaces
    /// `openshift_release` in the upgrade playbooks); `None` for install runs.
    pub upgrade_target: Option<String>,
    /// `--limit`: only these hosts' images (`None`: every host).
    pub limit: Option<BTreeSet<String>>,
}

/// One image to check, once, however many hosts need it.
#[derive(Debug, Clone)]
pub struct RequiredImage {
    /// The full reference: `registry.example.com/openshift3/ose-pod:v3.11.200`.
    pub image: String,
    /// Its registry host (`docker.io` when the reference names none).
    pub registry: String,
    /// Host groups that need it (`nodes`, `masters`, `etcd`), in that order.
    pub needed_by: Vec<String>,
    /// Hosts that need it, in inventory order.
    pub hosts: Vec<String>,
    /// The credential the nodes' auth files hold for its registry; `None`: anonymous pull.
    pub credential: Option<RegistryCredential>,
    /// Whether the nodes verify the registry's certificate (off for an entry with
    /// `tls_verify` false or a registry in `openshift_docker_insecure_registries`).
    pub tls_verify: bool,
}

/// The image set of a run, or why there is none.
#[derive(Debug, Clone)]
pub enum ImagePlan {
    /// `openshift_disable_check` names the check (or `*`) for every host in scope.
    Disabled {
        /// Where it was set (file:line, or `-e`).
        by: String,
    },
    /// The images, in first-needed order.
    Images(Vec<RequiredImage>),
}

/// The variables of one host, extra vars first.
struct HostVars<'a> {
    vars: Vars,
    extra: &'a BTreeMap<String, String>,
}

impl HostVars<'_> {
    fn string(&self, key: &str) -> Result<Option<String>, ModelError> {
        if let Some(v) = self.extra.get(key) {
            return Ok(Some(v.clone()));
        }
        opt_string(&self.vars, key)
    }

    fn flag(&self, key: &str, default: bool) -> Result<bool, ModelError> {
        if let Some(v) = self.extra.get(key) {
            return ansible_bool(&Value::Str(v.clone()))
                .ok_or_else(|| err(None, format!("-e {key}={v}: use true or false")));
        }
        match self.vars.get(key) {
            None => Ok(default),
            Some(v) => ansible_bool(&v.value).ok_or_else(|| {
                err(
                    Some(v),
                    format!("{key} must be true or false for the image check"),
                )
            }),
        }
    }

    /// A list written as a YAML list or a comma-separated string, as the installer's
    /// `normalize` and `ensure_list` accept both.
    fn list(&self, key: &str) -> Result<Option<(Vec<String>, String)>, ModelError> {
        let split = |s: &str| -> Vec<String> {
            s.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect()
        };
        if let Some(v) = self.extra.get(key) {
            return Ok(Some((split(v), format!("-e {key}"))));
        }
        let Some(var) = self.vars.get(key) else {
            return Ok(None);
        };
        let items = match &var.value {
            Value::Null => Vec::new(),
            Value::Str(s) => split(s),
            Value::List(items) => items
                .iter()
                .map(|i| match i {
                    Value::Str(s) => Ok(s.trim().to_string()),
                    _ => Err(err(Some(var), format!("{key} must be a list of strings"))),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(err(Some(var), format!("{key} must be a list of strings"))),
        };
        Ok(Some((items, var.origin.to_string())))
    }
}

/// What one host needs, before deduplication.
struct Need {
    image: String,
    group: &'static str,
}

/// Works out the images of a run from the inventory.
pub fn required_images(
    inv: &Inventory,
    model: &ClusterModel,
    opts: &ImageOptions,
) -> Result<ImagePlan, ModelError> {
    // The check only runs on hosts that need a container runtime (DockerHostMixin:
    // the `nodes` group); in 3.11 every master is a node too.
    let hosts: Vec<&HostSpec> = model
        .nodes
        .iter()
        .filter(|h| opts.limit.as_ref().is_none_or(|l| l.contains(&h.name)))
        .collect();
    let masters: BTreeSet<&str> = inv.group_hosts("masters").into_iter().collect();
    let etcd: BTreeSet<&str> = inv.group_hosts("etcd").into_iter().collect();
    // init/version.yml gives every host the first master's openshift_image_tag.
    let first_master = inv
        .group_hosts("masters")
        .first()
        .and_then(|m| inv.host_vars(m))
        .map(|vars| HostVars {
            vars,
            extra: &opts.extra_vars,
        });
    let mut disabled_by = None;
    let mut needs: Vec<(&HostSpec, HostVars, Vec<Need>)> = Vec::new();
    for h in hosts {
        let hv = HostVars {
            vars: inv.host_vars(&h.name).unwrap_or_default(),
            extra: &opts.extra_vars,
        };
        if let Some((checks, origin)) = hv.list("openshift_disable_check")?
            && checks.iter().any(|c| c == CHECK_NAME || c == "*")
        {
            disabled_by.get_or_insert(origin);
            continue;
        }
        let tag_source = first_master.as_ref().unwrap_or(&hv);
        let tag = image_tag(tag_source, opts.upgrade_target.as_deref())?;
        let list = host_images(
            &hv,
            model.deployment_type,
            &tag,
            masters.contains(h.name.as_str()),
            etcd.contains(h.name.as_str()),
        )?;
        needs.push((h, hv, list));
    }
    if needs.is_empty()
        && let Some(by) = disabled_by
    {
        return Ok(ImagePlan::Disabled { by });
    }
    Ok(ImagePlan::Images(dedupe(needs)?))
}

/// `openshift_image_tag`, else `v` + `openshift_version`, else `v` + the release
/// (the upgrade target in upgrade runs, `openshift_release` otherwise, default 3.11),
/// as roles/openshift_version/tasks/first_master.yml sets it.
fn image_tag(hv: &HostVars, upgrade_target: Option<&str>) -> Result<String, ModelError> {
    if let Some(t) = hv.string("openshift_image_tag")?.filter(|t| !t.is_empty()) {
        return Ok(t);
    }
    let version = match hv.string("openshift_version")?.filter(|v| !v.is_empty()) {
        Some(v) => v,
        None => match upgrade_target {
            Some(t) => t.to_string(),
            None => hv
                .string("openshift_release")?
                .unwrap_or_else(|| "3.11".into()),
        },
    };
    Ok(format!("v{}", version.trim_start_matches('v')))
}

/// One host's list: `openshift_health_check_required_images` when the inventory sets
/// it (a role default, so the inventory wins), else the role's own composition.
fn host_images(
    hv: &HostVars,
    dt: DeploymentType,
    tag: &str,
    is_master: bool,
    is_etcd: bool,
) -> Result<Vec<Need>, ModelError> {
    if let Some((list, _)) = hv.list("openshift_health_check_required_images")? {
        return Ok(list
            .into_iter()
            .map(|image| Need {
                image,
                group: "nodes",
            })
            .collect());
    }
    let default_url = match dt {
        DeploymentType::Origin => "quay.io/openshift/origin-${component}:${version}",
        DeploymentType::Enterprise => "registry.redhat.io/openshift3/ose-${component}:${version}",
    };
    let oreg_url = hv.string("oreg_url")?;
    let registry_url = oreg_url.clone().unwrap_or_else(|| default_url.into());
    let versioned = registry_url.replace("${version}", tag);
    let component = |c: &str| versioned.replace("${component}", c);
    let mut out: Vec<Need> = NODE_COMPONENTS
        .iter()
        .map(|c| Need {
            image: component(c),
            group: "nodes",
        })
        .collect();
    if hv.flag("openshift_hosted_manage_registry_console", true)? {
        let image = match hv.string("openshift_cockpit_deployer_image")? {
            Some(i) => i,
            None => cockpit_image(&registry_url, dt, tag),
        };
        out.push(Need {
            image,
            group: "nodes",
        });
    }
    if is_master {
        out.push(Need {
            image: component("control-plane"),
            group: "masters",
        });
    }
    if is_master && is_etcd {
        let image = match hv.string("etcd_image")? {
            Some(i) => i,
            None => match hv.string("osm_etcd_image")? {
                Some(i) => i,
                None => etcd_image(hv, dt, oreg_url.as_deref())?,
            },
        };
        out.push(Need {
            image,
            group: "etcd",
        });
    }
    // A fact the installer reads from the host (ostree); regauth checks nothing on
    // hosts before the run, so an Atomic Host inventory says so itself.
    if hv.flag("openshift_is_atomic", false)? {
        let image = hv.string("osn_image")?.unwrap_or_else(|| component("node"));
        out.push(Need {
            image,
            group: "nodes",
        });
    }
    Ok(out)
}

/// `openshift_cockpit_deployer_image` of roles/cockpit-ui/defaults/main.yml.
fn cockpit_image(registry_url: &str, dt: DeploymentType, tag: &str) -> String {
    let (version, search, replace) = match dt {
        // regex_replace('(v\d+\.\d+).\d+$', '\1'): v3.11.200 -> v3.11
        DeploymentType::Origin => (
            short_version(tag),
            "openshift/origin-${component}",
            "openshift3/registry-console",
        ),
        DeploymentType::Enterprise => (tag.to_string(), "ose-${component}", "registry-console"),
    };
    registry_url
        .replace("quay.io", "registry.access.redhat.com")
        .replace("${version}", &version)
        .replace(search, replace)
}

/// `v3.11.200` -> `v3.11`; anything else unchanged (the role's regex).
fn short_version(tag: &str) -> String {
    let parts: Vec<&str> = tag.strip_prefix('v').unwrap_or("").split('.').collect();
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if parts.len() >= 3 && parts.iter().all(|p| numeric(p)) {
        let cut = tag.len() - parts[parts.len() - 1].len() - 1;
        return tag[..cut].to_string();
    }
    tag.to_string()
}

/// The etcd role's default image, moved to oreg_url's registry by
/// `lib_utils_oo_oreg_image` when oreg_url's first part looks like a host.
fn etcd_image(
    hv: &HostVars,
    dt: DeploymentType,
    oreg_url: Option<&str>,
) -> Result<String, ModelError> {
    let version = hv
        .string("r_etcd_upgrade_version")?
        .unwrap_or_else(|| ETCD_DEFAULT_VERSION.into());
    let default = match dt {
        DeploymentType::Origin => format!("quay.io/coreos/etcd:v{version}"),
        DeploymentType::Enterprise => format!("registry.redhat.io/rhel7/etcd:{version}"),
    };
    let Some(url) = oreg_url else {
        return Ok(default);
    };
    let parts: Vec<&str> = url.rsplitn(3, '/').collect();
    if parts.len() < 2 {
        return Err(err(
            hv.vars.get("oreg_url"),
            format!("oreg_url malformed: {url} (the installer's etcd image needs HOST/PATH)"),
        ));
    }
    // rsplitn yields from the right: the host part is the last one.
    let host = parts[parts.len() - 1];
    if !host.contains('.') {
        return Ok(default);
    }
    let image_parts: Vec<&str> = default.split('/').collect();
    Ok(format!("{host}/{}/{}", image_parts[1], image_parts[2]))
}

/// The registry host of a reference, as docker reads it (`docker.io` when none).
pub fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first.to_string()
        }
        _ => "docker.io".to_string(),
    }
}

/// The credential a host's auth files hold for `registry`: the last entry wins.
fn credential_for<'a>(h: &'a HostSpec, registry: &str) -> Option<&'a RegistryCredential> {
    h.registries.iter().rev().find(|c| c.host == registry)
}

/// One check per image and credential: hosts whose files hold the same credential
/// for its registry share the check.
fn dedupe(needs: Vec<(&HostSpec, HostVars, Vec<Need>)>) -> Result<Vec<RequiredImage>, ModelError> {
    const GROUPS: [&str; 3] = ["nodes", "masters", "etcd"];
    let mut out: Vec<RequiredImage> = Vec::new();
    for (h, hv, list) in needs {
        let insecure = hv
            .list("openshift_docker_insecure_registries")?
            .map(|(l, _)| l)
            .unwrap_or_default();
        for need in list {
            let registry = registry_of(&need.image);
            let cred = credential_for(h, &registry);
            // The installer's own test: an insecure entry that is part of the image name.
            let tls_verify = cred.is_none_or(|c| c.tls_verify)
                && !insecure.iter().any(|i| need.image.contains(i.as_str()));
            let same = |r: &RequiredImage| {
                r.image == need.image
                    && r.tls_verify == tls_verify
                    && match (&r.credential, cred) {
                        (None, None) => true,
                        (Some(a), Some(b)) => super::build::same_credential(a, b),
                        _ => false,
                    }
            };
            let i = match out.iter().position(same) {
                Some(i) => i,
                None => {
                    out.push(RequiredImage {
                        image: need.image.clone(),
                        registry,
                        needed_by: Vec::new(),
                        hosts: Vec::new(),
                        credential: cred.cloned(),
                        tls_verify,
                    });
                    out.len() - 1
                }
            };
            let r = &mut out[i];
            if !r.needed_by.iter().any(|g| g == need.group) {
                r.needed_by.push(need.group.to_string());
                r.needed_by
                    .sort_by_key(|g| GROUPS.iter().position(|x| x == g).unwrap_or(9));
            }
            if !r.hosts.contains(&h.name) {
                r.hosts.push(h.name.clone());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{LoadOptions, load};

    fn plan(ini: &str, opts: &ImageOptions) -> Result<ImagePlan, String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hosts.ini");
        std::fs::write(&p, ini).unwrap();
        let inv = load(&LoadOptions {
            sources: vec![p],
            ..Default::default()
        })
        .map_err(|e| e.to_string())?;
        let model = super::super::from_inventory(&inv).map_err(|e| e.to_string())?;
        required_images(&inv, &model, opts).map_err(|e| e.to_string())
    }

    fn images(ini: &str, opts: &ImageOptions) -> Vec<RequiredImage> {
        match plan(ini, opts).unwrap() {
            ImagePlan::Images(i) => i,
            ImagePlan::Disabled { by } => panic!("disabled by {by}"),
        }
    }

    fn names(list: &[RequiredImage]) -> Vec<&str> {
        list.iter().map(|r| r.image.as_str()).collect()
    }

    const HOSTS: &str = "[OSEv3:children]\nmasters\nnodes\netcd\n[masters]\nm1\nm2\n[etcd]\nm1\nm2\ne1\n[nodes]\nm1\nm2\nn1\nn2\n[OSEv3:vars]\n";

    #[test]
    fn enterprise_with_oreg_url_and_target_tag() {
        let ini = format!(
            "{HOSTS}openshift_deployment_type=openshift-enterprise\noreg_url=reg.example.com:5000/openshift3/ose-${{component}}:${{version}}\noreg_auth_user=alice\noreg_auth_password=pw\n"
        );
        let mut opts = ImageOptions::default();
        opts.extra_vars
            .insert("openshift_image_tag".into(), "v3.11.200".into());
        let list = images(&ini, &opts);
        let r = "reg.example.com:5000/openshift3";
        assert_eq!(
            names(&list),
            [
                format!("{r}/ose-haproxy-router:v3.11.200"),
                format!("{r}/ose-docker-registry:v3.11.200"),
                format!("{r}/ose-deployer:v3.11.200"),
                format!("{r}/ose-pod:v3.11.200"),
                format!("{r}/registry-console:v3.11.200"),
                format!("{r}/ose-control-plane:v3.11.200"),
                // oreg_url's host has a '.': etcd moves there (lib_utils_oo_oreg_image).
                "reg.example.com:5000/rhel7/etcd:3.2.32".into(),
            ]
        );
        assert_eq!(list[0].hosts, ["m1", "m2", "n1", "n2"]);
        assert_eq!(list[0].needed_by, ["nodes"]);
        assert_eq!(list[5].hosts, ["m1", "m2"]);
        assert_eq!(list[5].needed_by, ["masters"]);
        // e1 is etcd only, not a node: the check is not active there.
        assert_eq!(list[6].hosts, ["m1", "m2"]);
        assert_eq!(list[6].needed_by, ["etcd"]);
        assert_eq!(list[0].registry, "reg.example.com:5000");
        assert_eq!(list[0].credential.as_ref().unwrap().user, "alice");
        assert_eq!(list[6].credential.as_ref().unwrap().user, "alice");
    }

    #[test]
    fn origin_defaults() {
        let list = images(
            &format!("{HOSTS}openshift_image_tag=v3.11.0\n"),
            &Default::default(),
        );
        assert_eq!(
            names(&list),
            [
                "quay.io/openshift/origin-haproxy-router:v3.11.0",
                "quay.io/openshift/origin-docker-registry:v3.11.0",
                "quay.io/openshift/origin-deployer:v3.11.0",
                "quay.io/openshift/origin-pod:v3.11.0",
                // quay.io becomes registry.access.redhat.com, v3.11.0 becomes v3.11.
                "registry.access.redhat.com/openshift3/registry-console:v3.11",
                "quay.io/openshift/origin-control-plane:v3.11.0",
                "quay.io/coreos/etcd:v3.2.32",
            ]
        );
    }

    #[test]
    fn etcd_follows_a_dotted_oreg_host_and_overrides_win() {
        let ini = format!(
            "{HOSTS}oreg_url=mirror.example.com/openshift/origin-${{component}}:${{version}}\nopenshift_hosted_manage_registry_console=false\n"
        );
        let list = images(&ini, &Default::default());
        assert!(
            names(&list).contains(&"mirror.example.com/coreos/etcd:v3.2.32"),
            "{:?}",
            names(&list)
        );
        assert!(!names(&list).iter().any(|i| i.contains("registry-console")));
        assert!(names(&list).contains(&"mirror.example.com/openshift/origin-pod:v3.11"));
        let ini = format!(
            "{HOSTS}osm_etcd_image=mirror.example.com/rhel7/etcd:3.2.99\nopenshift_cockpit_deployer_image=mirror.example.com/c/rc:v1\n"
        );
        let list = images(&ini, &Default::default());
        assert!(names(&list).contains(&"mirror.example.com/rhel7/etcd:3.2.99"));
        assert!(names(&list).contains(&"mirror.example.com/c/rc:v1"));
    }

    #[test]
    fn tag_falls_back_like_openshift_version() {
        let tag = |vars: &str, target: Option<&str>| {
            let opts = ImageOptions {
                upgrade_target: target.map(String::from),
                ..Default::default()
            };
            images(&format!("{HOSTS}{vars}"), &opts)[3].image.clone()
        };
        assert_eq!(tag("", None), "quay.io/openshift/origin-pod:v3.11");
        assert_eq!(
            tag("openshift_release=v3.10\n", None),
            "quay.io/openshift/origin-pod:v3.10"
        );
        // The upgrade playbooks replace openshift_release with their target.
        assert_eq!(
            tag("openshift_release=v3.10\n", Some("3.11")),
            "quay.io/openshift/origin-pod:v3.11"
        );
        assert_eq!(
            tag("openshift_version=3.11.154\n", Some("3.11")),
            "quay.io/openshift/origin-pod:v3.11.154"
        );
        // The first master's tag applies to every host.
        let ini = HOSTS.replace(
            "[masters]\nm1\n",
            "[masters]\nm1 openshift_image_tag=v3.11.9\n",
        );
        assert_eq!(
            images(&ini, &Default::default())[3].image,
            "quay.io/openshift/origin-pod:v3.11.9"
        );
    }

    #[test]
    fn disable_check_and_limit() {
        for v in [
            "openshift_disable_check=docker_image_availability",
            "openshift_disable_check='memory_availability, docker_image_availability'",
            "openshift_disable_check=*",
        ] {
            match plan(&format!("{HOSTS}{v}\n"), &Default::default()).unwrap() {
                ImagePlan::Disabled { by } => assert!(by.contains("hosts.ini:"), "{by}"),
                ImagePlan::Images(_) => panic!("{v}: not disabled"),
            }
        }
        assert!(matches!(
            plan(
                &format!("{HOSTS}openshift_disable_check=memory_availability\n"),
                &Default::default()
            )
            .unwrap(),
            ImagePlan::Images(_)
        ));
        let mut opts = ImageOptions::default();
        opts.extra_vars
            .insert("openshift_disable_check".into(), CHECK_NAME.into());
        assert!(matches!(
            plan(HOSTS, &opts).unwrap(),
            ImagePlan::Disabled { by } if by == "-e openshift_disable_check"
        ));
        let opts = ImageOptions {
            limit: Some(["n1".to_string()].into()),
            ..Default::default()
        };
        let list = images(HOSTS, &opts);
        assert_eq!(list.len(), 5, "{:?}", names(&list));
        assert!(list.iter().all(|r| r.hosts == ["n1"]));
    }

    #[test]
    fn credential_by_host_and_insecure_registries() {
        let ini = format!(
            "{HOSTS}oreg_url=r1.example.com/openshift/origin-${{component}}:${{version}}\noreg_auth_user=alice\noreg_auth_password=pw\nopenshift_additional_registry_credentials=[{{'host':'r2.example.com','user':'bob','password':'p2','tls_verify':False}}]\nopenshift_cockpit_deployer_image=r2.example.com/rc:v3.11\nosm_etcd_image=r3.example.com/etcd:1\nopenshift_docker_insecure_registries=r3.example.com\n"
        );
        let list = images(&ini, &Default::default());
        let by = |i: &str| list.iter().find(|r| r.image.starts_with(i)).unwrap();
        let rc = by("r2.example.com/rc");
        assert_eq!(rc.credential.as_ref().unwrap().user, "bob");
        assert!(!rc.tls_verify);
        let e = by("r3.example.com/etcd");
        assert!(e.credential.is_none());
        assert!(!e.tls_verify);
        assert!(by("r1.example.com/openshift/origin-pod").tls_verify);
    }

    #[test]
    fn short_versions() {
        assert_eq!(short_version("v3.11.200"), "v3.11");
        assert_eq!(short_version("v3.11"), "v3.11");
        assert_eq!(short_version("latest"), "latest");
        assert_eq!(registry_of("openshift/origin-pod:v3.11"), "docker.io");
        assert_eq!(registry_of("localhost/x"), "localhost");
    }
}
