//! Secret manifests, built without a cluster: the objects `kubectl create secret
//! docker-registry … --dry-run=client` and `oc create secret generic --from-file=…`
//! print, byte for byte, so a GitOps diff between theirs and ours is empty.
//!
//! Byte compatibility details (recorded against kubectl 1.32, see
//! tests/fixtures/authfile/kubectl/): the `.dockerconfigjson` payload is Go's compact
//! `json.Marshal` of `{"auths":{SERVER:{username,password,email?,auth}}}`, which escapes
//! `<`, `>`, `&`, U+2028 and U+2029; `-o json` is the object with kubectl's field order
//! and a four-space indent; `-o yaml` has keys sorted, as kubectl's JSON→YAML does.

use crate::authfile::{AuthFile, Credential, Format, ParseError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretSlice};
use serde::Serialize;
use std::collections::BTreeMap;

/// The two secret types that carry registry credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretType {
    /// `kubernetes.io/dockerconfigjson`, data key `.dockerconfigjson`.
    DockerConfigJson,
    /// `kubernetes.io/dockercfg`, data key `.dockercfg` (legacy layout).
    DockerCfg,
}

impl SecretType {
    /// The `type` field.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretType::DockerConfigJson => "kubernetes.io/dockerconfigjson",
            SecretType::DockerCfg => "kubernetes.io/dockercfg",
        }
    }

    /// The key under `data`.
    pub fn data_key(self) -> &'static str {
        match self {
            SecretType::DockerConfigJson => ".dockerconfigjson",
            SecretType::DockerCfg => ".dockercfg",
        }
    }
}

/// A registry-credential Secret, ready to print or (later) apply.
#[derive(Debug, Clone)]
pub struct SecretManifest {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`; omitted when None, as kubectl does without `-n`.
    pub namespace: Option<String>,
    /// The secret type.
    pub secret_type: SecretType,
    payload: SecretSlice<u8>,
}

/// kubectl's `DockerConfigEntry` field order; empty fields are omitted like Go's `omitempty`.
#[derive(Serialize)]
struct KubectlEntry<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    username: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    password: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    email: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    auth: &'a str,
}

/// The `.dockerconfigjson` bytes `kubectl create secret docker-registry` makes for one
/// server (kept verbatim as the key, as kubectl does; its default is
/// `https://index.docker.io/v1/`).
pub fn dockerconfigjson_payload(server: &str, credential: &Credential) -> SecretSlice<u8> {
    dockerconfigjson_payload_multi(&[(server, credential)])
}

/// Like [`dockerconfigjson_payload`] with several servers in one `auths`, keys sorted
/// as Go's `json.Marshal` sorts a map; a server given twice keeps its last entry.
pub fn dockerconfigjson_payload_multi(entries: &[(&str, &Credential)]) -> SecretSlice<u8> {
    // The entries borrow their `auth` strings, so those live outside the map.
    let auth_fields: Vec<String> = entries.iter().map(|(_, c)| c.auth_field()).collect();
    let mut auths = BTreeMap::new();
    for ((server, credential), auth) in entries.iter().zip(&auth_fields) {
        auths.insert(
            *server,
            KubectlEntry {
                username: credential.username(),
                password: credential.password().expose_secret(),
                email: credential.email().unwrap_or(""),
                auth,
            },
        );
    }
    let mut doc = BTreeMap::new();
    doc.insert("auths", auths);
    let json = serde_json::to_string(&doc).expect("serialising strings cannot fail");
    SecretSlice::from(go_escape(&json).into_bytes())
}

/// Go's `json.Marshal` escapes these for safe embedding in HTML; they only ever occur
/// inside JSON strings, so replacing them in the serialised text is exact.
fn go_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Errors building a manifest from a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a registry credential file: {0}")]
pub struct ManifestError(#[from] pub ParseError);

impl SecretManifest {
    /// `kubectl create secret docker-registry NAME --docker-server … --dry-run=client`.
    pub fn docker_registry(
        name: &str,
        namespace: Option<&str>,
        server: &str,
        credential: &Credential,
    ) -> Self {
        Self::docker_registry_multi(name, namespace, &[(server, credential)])
    }

    /// A `kubernetes.io/dockerconfigjson` secret with an entry per server (a registry
    /// and the host its token service lives on, for `--include-auth-host`).
    pub fn docker_registry_multi(
        name: &str,
        namespace: Option<&str>,
        entries: &[(&str, &Credential)],
    ) -> Self {
        SecretManifest {
            name: name.to_string(),
            namespace: namespace.map(str::to_string),
            secret_type: SecretType::DockerConfigJson,
            payload: dockerconfigjson_payload_multi(entries),
        }
    }

    /// `oc create secret generic NAME --from-file=.dockerconfigjson=F --type=…`: the
    /// file's bytes verbatim; a legacy `.dockercfg` gives type `kubernetes.io/dockercfg`.
    /// Refuses what the API server would (not JSON, or a config without `auths`).
    pub fn from_file_bytes(
        name: &str,
        namespace: Option<&str>,
        bytes: &[u8],
    ) -> Result<Self, ManifestError> {
        let file = AuthFile::parse(bytes)?;
        let secret_type = match file.format() {
            Format::Legacy => SecretType::DockerCfg,
            Format::Config if file.auths().is_some() => SecretType::DockerConfigJson,
            Format::Config => return Err(ManifestError(ParseError::MissingAuths)),
        };
        Ok(SecretManifest {
            name: name.to_string(),
            namespace: namespace.map(str::to_string),
            secret_type,
            payload: SecretSlice::from(bytes.to_vec()),
        })
    }

    /// The payload under the data key, unencoded (it holds secrets).
    pub fn payload(&self) -> &SecretSlice<u8> {
        &self.payload
    }

    fn data(&self) -> BTreeMap<&'static str, String> {
        let mut data = BTreeMap::new();
        data.insert(
            self.secret_type.data_key(),
            STANDARD.encode(self.payload.expose_secret()),
        );
        data
    }

    /// The manifest as `kubectl … -o json` prints it (trailing newline included).
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Meta<'a> {
            name: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            namespace: Option<&'a str>,
            creation_timestamp: Option<()>,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Obj<'a> {
            kind: &'a str,
            api_version: &'a str,
            metadata: Meta<'a>,
            data: BTreeMap<&'static str, String>,
            #[serde(rename = "type")]
            type_: &'a str,
        }
        let obj = Obj {
            kind: "Secret",
            api_version: "v1",
            metadata: Meta {
                name: &self.name,
                namespace: self.namespace.as_deref(),
                creation_timestamp: None,
            },
            data: self.data(),
            type_: self.secret_type.as_str(),
        };
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        obj.serialize(&mut ser)
            .expect("serialising strings cannot fail");
        out.push(b'\n');
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// The object with its keys in sorted order, as kubectl prints YAML and lists.
    fn sorted(&self) -> Sorted<'_> {
        Sorted {
            api_version: "v1",
            data: self.data(),
            kind: "Secret",
            metadata: SortedMeta {
                creation_timestamp: None,
                name: &self.name,
                namespace: self.namespace.as_deref(),
            },
            type_: self.secret_type.as_str(),
        }
    }

    /// The manifest as `kubectl … -o yaml` prints it (keys sorted).
    pub fn to_yaml(&self) -> String {
        // kubectl (go-yaml) never folds a long scalar; the base64 payload stays on one line.
        let mut options = serde_saphyr::SerializerOptions::default();
        options.prefer_block_scalars = false;
        serde_saphyr::to_string_with_options(&self.sorted(), options)
            .expect("serialising strings cannot fail")
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SortedMeta<'a> {
    creation_timestamp: Option<()>,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Sorted<'a> {
    api_version: &'a str,
    data: BTreeMap<&'static str, String>,
    kind: &'a str,
    metadata: SortedMeta<'a>,
    #[serde(rename = "type")]
    type_: &'a str,
}

/// Manifests as the v1 `List` `kubectl get … -o json` prints (keys sorted, four-space
/// indent, an empty `resourceVersion`; trailing newline included).
pub fn list_json(manifests: &[SecretManifest]) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ListMeta {
        resource_version: &'static str,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct List<'a> {
        api_version: &'static str,
        items: Vec<Sorted<'a>>,
        kind: &'static str,
        metadata: ListMeta,
    }
    let list = List {
        api_version: "v1",
        items: manifests.iter().map(SecretManifest::sorted).collect(),
        kind: "List",
        metadata: ListMeta {
            resource_version: "",
        },
    };
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    list.serialize(&mut ser)
        .expect("serialising strings cannot fail");
    out.push(b'\n');
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn cred(user: &str, pass: &str, email: Option<&str>) -> Credential {
        Credential::new(
            user,
            SecretString::from(pass.to_string()),
            email.map(str::to_string),
        )
        .unwrap()
    }

    #[test]
    fn payload_is_gos_json_marshal() {
        let p = dockerconfigjson_payload("r:5000", &cred("u", "a<b>&c\u{2028}", Some("e@x")));
        assert_eq!(
            std::str::from_utf8(p.expose_secret()).unwrap(),
            r#"{"auths":{"r:5000":{"username":"u","password":"a\u003cb\u003e\u0026c\u2028","email":"e@x","auth":"dTphPGI+JmPigKg="}}}"#
        );
    }

    #[test]
    fn file_types() {
        let m = SecretManifest::from_file_bytes("s", None, br#"{"auths":{}}"#).unwrap();
        assert_eq!(m.secret_type, SecretType::DockerConfigJson);
        let m = SecretManifest::from_file_bytes("s", None, br#"{"r":{"auth":"dTpw"}}"#).unwrap();
        assert_eq!(m.secret_type, SecretType::DockerCfg);
        assert!(SecretManifest::from_file_bytes("s", None, b"{}").is_err());
        assert!(SecretManifest::from_file_bytes("s", None, b"[]").is_err());
    }

    #[test]
    fn debug_hides_the_payload() {
        let m = SecretManifest::docker_registry("s", None, "r", &cred("u", "visible-pass", None));
        let d = format!("{m:?}");
        assert!(
            !d.contains("visible-pass")
                && !d.contains(&cred("u", "visible-pass", None).auth_field())
        );
    }
}

impl SecretManifest {
    /// The secret to apply: the manifest's payload under its data key, our labels added.
    pub fn to_spec(&self, namespace: &str) -> crate::cluster::SecretSpec {
        let mut data = std::collections::BTreeMap::new();
        data.insert(
            self.secret_type.data_key().to_string(),
            self.payload.expose_secret().to_vec(),
        );
        crate::cluster::SecretSpec {
            name: self.name.clone(),
            namespace: namespace.to_string(),
            type_: self.secret_type.as_str().to_string(),
            data,
            labels: std::collections::BTreeMap::new(),
        }
    }
}

/// The e-mail the installer records in its secrets.
pub const INSTALLER_EMAIL: &str = "openshift@openshift.com";

/// The installer's secret name for a registry: `imagestreamsecret` for the oreg host,
/// `o-a-<md5 hex of the host string>` for each additional registry.
pub fn installer_secret_name(cred: &crate::model::RegistryCredential) -> String {
    use md5::{Digest, Md5};
    if cred.source == "oreg_auth_user" {
        "imagestreamsecret".to_string()
    } else {
        format!("o-a-{}", hex::encode(Md5::digest(cred.host.as_bytes())))
    }
}

/// The secrets the installer creates in `namespace` for these credentials (one per
/// name; for two entries of one host the last wins, as the installer's loop does).
pub fn installer_secrets(
    registries: &[crate::model::RegistryCredential],
    namespace: &str,
) -> Result<Vec<SecretManifest>, crate::authfile::AuthFileError> {
    installer_secrets_with_auth_hosts(registries, namespace, &BTreeMap::new())
}

/// Like [`installer_secrets`]; a registry host found in `auth_hosts` (registry host →
/// its token service's `HOST[:PORT]`) also gets an entry for that host, with the
/// same credentials, in the same `.dockerconfigjson`.
pub fn installer_secrets_with_auth_hosts(
    registries: &[crate::model::RegistryCredential],
    namespace: &str,
    auth_hosts: &BTreeMap<String, String>,
) -> Result<Vec<SecretManifest>, crate::authfile::AuthFileError> {
    let mut out: Vec<SecretManifest> = Vec::new();
    for cred in registries {
        let c = Credential::new(
            cred.user.clone(),
            cred.password.clone(),
            Some(INSTALLER_EMAIL.to_string()),
        )?;
        let mut entries = vec![(cred.host.as_str(), &c)];
        if let Some(auth) = auth_hosts.get(&cred.host) {
            entries.push((auth.as_str(), &c));
        }
        let m = SecretManifest::docker_registry_multi(
            &installer_secret_name(cred),
            Some(namespace),
            &entries,
        );
        match out.iter_mut().find(|x| x.name == m.name) {
            Some(slot) => *slot = m,
            None => out.push(m),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod installer_tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn names_like_the_installer() {
        let mk = |host: &str, source: &str| crate::model::RegistryCredential {
            host: host.into(),
            user: "u".into(),
            password: SecretString::from("p"),
            test_login: true,
            test_image: "i".into(),
            tls_verify: true,
            source: source.into(),
        };
        assert_eq!(
            installer_secret_name(&mk("reg:5000", "oreg_auth_user")),
            "imagestreamsecret"
        );
        // Python: hashlib.md5(b"r1.example.com").hexdigest(), as the installer's `hash('md5')`.
        assert_eq!(
            installer_secret_name(&mk(
                "r1.example.com",
                "openshift_additional_registry_credentials[0]"
            )),
            "o-a-398f7838c92c87ea4fc3556a78644abd"
        );
        let ms = installer_secrets(&[mk("r1", "a[0]"), mk("r1", "a[1]")], "openshift").unwrap();
        assert_eq!(ms.len(), 1);
    }

    #[test]
    fn auth_host_gets_the_same_entry() {
        let cred = crate::model::RegistryCredential {
            host: "registry.redhat.io".into(),
            user: "u".into(),
            password: SecretString::from("p"),
            test_login: true,
            test_image: "i".into(),
            tls_verify: true,
            source: "oreg_auth_user".into(),
        };
        let hosts = BTreeMap::from([(
            "registry.redhat.io".to_string(),
            "sso.redhat.com".to_string(),
        )]);
        let ms = installer_secrets_with_auth_hosts(&[cred], "openshift", &hosts).unwrap();
        let entry =
            r#"{"username":"u","password":"p","email":"openshift@openshift.com","auth":"dTpw"}"#;
        assert_eq!(
            std::str::from_utf8(ms[0].payload().expose_secret()).unwrap(),
            format!(r#"{{"auths":{{"registry.redhat.io":{entry},"sso.redhat.com":{entry}}}}}"#)
        );
    }
}
