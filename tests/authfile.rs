//! Auth files: round trips of real-world shaped files, merge idempotence, the
//! containers/image lookup rules, and crash safety of the local write.

use regauth::authfile::write::{read_existing, update_file_with, write_atomic_with};
use regauth::authfile::{
    AuthFile, AuthFileError, Credential, Format, RegistryKey, Step, backup_path, masked_json,
    merge, update_file,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/authfile");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(name)).expect(name)
}

fn cred(user: &str, pass: &str) -> Credential {
    Credential::new(user, SecretString::from(pass.to_string()), None).unwrap()
}

fn key(k: &str) -> RegistryKey {
    RegistryKey::parse(k).unwrap()
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Merging another registry changes exactly that entry; everything else keeps its meaning.
#[test]
fn merge_keeps_what_we_do_not_own() {
    for (name, auths_path) in [
        ("docker-config.json", "/auths"),
        ("podman-auth.json", "/auths"),
        ("legacy.dockercfg", ""),
    ] {
        let old = fixture(name);
        let m = merge(
            Some(&old),
            Format::Config,
            &key("new.example:5000"),
            &cred("u", "p:w"),
        )
        .unwrap();
        assert!(m.changed, "{name}");
        let mut before = json_of(&old);
        let after = json_of(&m.bytes);
        let entry = after
            .pointer(&format!("{auths_path}/new.example:5000"))
            .unwrap()
            .clone();
        assert_eq!(entry, json!({"auth": "dTpwOnc="}), "{name}");
        before
            .pointer_mut(auths_path)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .insert("new.example:5000".into(), entry);
        assert_eq!(before, after, "{name}: only the new entry may differ");
    }
}

#[test]
fn merging_the_same_entry_twice_is_unchanged_and_byte_identical() {
    let old = fixture("docker-config.json");
    let k = key("quay.io/repository-main");
    let first = merge(Some(&old), Format::Config, &k, &cred("robot", "s3:cr$t")).unwrap();
    assert!(first.changed);
    let second = merge(
        Some(&first.bytes),
        Format::Config,
        &k,
        &cred("robot", "s3:cr$t"),
    )
    .unwrap();
    assert!(!second.changed);
    assert_eq!(second.bytes, first.bytes);
    // A fresh file: the same input gives the same bytes every time.
    let a = merge(None, Format::Config, &k, &cred("robot", "x")).unwrap();
    let b = merge(None, Format::Config, &k, &cred("robot", "x")).unwrap();
    assert!(a.changed && b.changed);
    assert_eq!(a.bytes, b.bytes);
    assert_eq!(
        String::from_utf8(a.bytes).unwrap(),
        "{\n\t\"auths\": {\n\t\t\"quay.io/repository-main\": {\n\t\t\t\"auth\": \"cm9ib3Q6eA==\"\n\t\t}\n\t}\n}\n"
    );
}

/// A file docker wrote (other key order, other whitespace) holding the same entry is
/// not rewritten: "changed" is about meaning.
#[test]
fn same_meaning_other_bytes_is_unchanged() {
    let docker_written =
        br#"{"auths":{"reg:5000":{"auth":"dTpw"}},"credHelpers":{"gcr.io":"gcloud"}}"#;
    let m = merge(
        Some(docker_written),
        Format::Config,
        &key("reg:5000"),
        &cred("u", "p"),
    )
    .unwrap();
    assert!(!m.changed);
    assert_eq!(m.bytes, docker_written.to_vec());
}

#[test]
fn email_and_replacement() {
    let c = Credential::new("u", SecretString::from("p".to_string()), Some("u@x".into())).unwrap();
    let old = br#"{"auths":{"reg":{"auth":"b2xkOm9sZA==","identitytoken":"tok"}}}"#;
    let m = merge(Some(old), Format::Config, &key("reg"), &c).unwrap();
    // The entry is replaced whole, as podman and docker login do.
    assert_eq!(
        json_of(&m.bytes),
        json!({"auths": {"reg": {"auth": "dTpw", "email": "u@x"}}})
    );
}

#[test]
fn legacy_layout_is_kept() {
    let m = merge(
        Some(&fixture("legacy.dockercfg")),
        Format::Config,
        &key("reg"),
        &cred("u", "p"),
    )
    .unwrap();
    let v = json_of(&m.bytes);
    assert!(v.get("auths").is_none());
    assert_eq!(v["reg"], json!({"auth": "dTpw"}));
    // A new file named *.dockercfg is created in the legacy layout.
    let m = merge(None, Format::Legacy, &key("reg"), &cred("u", "p")).unwrap();
    assert_eq!(json_of(&m.bytes), json!({"reg": {"auth": "dTpw"}}));
}

#[test]
fn null_or_missing_auths() {
    for old in [&b"{}"[..], br#"{"auths": null, "credsStore": ""}"#] {
        let m = merge(Some(old), Format::Config, &key("reg"), &cred("u", "p")).unwrap();
        assert_eq!(json_of(&m.bytes)["auths"], json!({"reg": {"auth": "dTpw"}}));
    }
}

#[test]
fn helper_shadowing_is_warned() {
    let old = fixture("docker-config.json");
    // credsStore "desktop" answers for every registry in docker.
    let m = merge(Some(&old), Format::Config, &key("other"), &cred("u", "p")).unwrap();
    assert!(
        m.warnings.iter().any(|w| w.contains("desktop")),
        "{:?}",
        m.warnings
    );
    let m = merge(
        Some(&old),
        Format::Config,
        &key("gcr.io/proj"),
        &cred("u", "p"),
    )
    .unwrap();
    assert!(
        m.warnings.iter().any(|w| w.contains("gcloud")),
        "{:?}",
        m.warnings
    );
    let m = merge(
        Some(&fixture("podman-auth.json")),
        Format::Config,
        &key("x"),
        &cred("u", "p"),
    )
    .unwrap();
    assert!(m.warnings.is_empty());
}

#[test]
fn refuses_what_is_not_an_auth_file() {
    for (bytes, what) in [
        (fixture("corrupt.json"), "not valid JSON"),
        (fixture("array.json"), "not a JSON object"),
        (b"".to_vec(), "not valid JSON"),
        (br#"{"auths": []}"#.to_vec(), "\"auths\""),
    ] {
        let e = merge(Some(&bytes), Format::Config, &key("r"), &cred("u", "p")).unwrap_err();
        assert!(e.to_string().contains(what), "{e}");
    }
}

/// containers/image's lookup: exact keys, most specific path first, then keys
/// normalised to their host (scheme and API path dropped, Docker Hub aliases).
#[test]
fn lookup_follows_containers_image() {
    let f = AuthFile::parse(&fixture("docker-config.json")).unwrap();
    assert_eq!(f.format(), Format::Config);
    let found = |k: &str| f.find(&key(k)).map(|c| c.key);
    assert_eq!(
        found("quay.io/repository-main/image").as_deref(),
        Some("quay.io/repository-main")
    );
    assert_eq!(found("quay.io/other"), None);
    assert_eq!(
        found("reg.legacy.example:5000").as_deref(),
        Some("https://reg.legacy.example:5000/v2/")
    );
    assert_eq!(
        found("docker.io").as_deref(),
        Some("https://index.docker.io/v1/")
    );
    let hub = f.find(&key("docker.io/library/busybox")).unwrap();
    assert_eq!(hub.username.as_deref(), Some("docker"));
    assert_eq!(hub.password.unwrap().expose_secret(), "hub-secret");
    let acr = f.find(&key("acr.example.io")).unwrap();
    assert_eq!(
        acr.identity_token.unwrap().expose_secret(),
        "eyJhbGciOiJSUzI1NiJ9.token-body.sig"
    );

    let p = AuthFile::parse(&fixture("podman-auth.json")).unwrap();
    let c = p.find(&key("docker.io")).unwrap();
    assert_eq!(c.password.unwrap().expose_secret(), "pass:with:colons");

    let l = AuthFile::parse(&fixture("legacy.dockercfg")).unwrap();
    assert_eq!(l.format(), Format::Legacy);
    assert_eq!(
        l.find(&key("docker.io")).unwrap().email.as_deref(),
        Some("old@example.com")
    );
}

#[test]
fn masked_rendering_hides_every_secret() {
    let text = masked_json(&fixture("docker-config.json"));
    for secret in [
        "ZG9ja2VyOmh1Yi1zZWNyZXQ=",
        "token-body",
        "cmVwbzpwYXRoOnNjb3BlZA==",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(text.contains("\"auth\": \"********\""));
    assert!(text.contains("\"identitytoken\": \"********\""));
    assert!(text.contains("ecr-login"), "non-secrets stay visible");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["auths"]["quay.io/repository-main"]["email"],
        "repo@example.com"
    );
    assert!(!masked_json(b"{\"auths\": {\"r\": {\"auth\": \"secret\"").contains("secret"));
}

// ---- the local write ----

#[test]
fn creates_file_0600_in_dir_0700_and_keeps_a_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("a/b/auth.json");
    let k = key("reg:5000");
    let u = update_file(&path, &k, &cred("u", "p")).unwrap();
    assert!(u.changed && u.backup.is_none());
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&tmp.path().join("a")), 0o700);
    assert_eq!(mode(&tmp.path().join("a/b")), 0o700);

    let first = std::fs::read(&path).unwrap();
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let u = update_file(&path, &k, &cred("u", "p")).unwrap();
    assert!(!u.changed && u.backup.is_none());
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        mtime,
        "not rewritten"
    );
    assert!(!backup_path(&path).exists());

    let u = update_file(&path, &k, &cred("u", "p2")).unwrap();
    assert!(u.changed);
    let b = u.backup.unwrap();
    assert_eq!(b, tmp.path().join("a/b/auth.json.regauth-backup"));
    assert_eq!(std::fs::read(&b).unwrap(), first);
    assert_eq!(mode(&b), 0o600);
}

#[test]
fn existing_loose_mode_becomes_0600() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("config.json");
    std::fs::write(&path, fixture("podman-auth.json")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    update_file(&path, &key("r"), &cred("u", "p")).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&backup_path(&path)), 0o600);
}

#[test]
fn corrupt_file_is_refused_and_left_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["corrupt.json", "array.json"] {
        let path = tmp.path().join(name);
        let original = fixture(name);
        std::fs::write(&path, &original).unwrap();
        let e = update_file(&path, &key("r"), &cred("u", "p")).unwrap_err();
        assert!(matches!(e, AuthFileError::Refused { .. }), "{e}");
        assert!(
            e.to_string().contains(&path.display().to_string()),
            "names the file: {e}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), original);
    }
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "no temp or backup files: {names:?}");
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

/// Make each step of a write fail in turn: the target is always the old or the new
/// file, whole and valid JSON, and no temp file is left behind.
#[test]
fn each_step_failing_leaves_old_or_new_whole() {
    for (i, failing) in Step::ALL.iter().enumerate() {
        let tmp = tempfile::tempdir().unwrap();
        // Step 0 (CreateDir) only happens when the directory is missing.
        let dir = if *failing == Step::CreateDir {
            tmp.path().join("sub")
        } else {
            tmp.path().to_path_buf()
        };
        let path = dir.join("config.json");
        let old = fixture("docker-config.json");
        if *failing != Step::CreateDir {
            std::fs::write(&path, &old).unwrap();
        }
        let k = key("new.example");
        let mut seen = Vec::new();
        let mut hook = |s: Step| {
            seen.push(s);
            if s == *failing {
                Err(std::io::Error::other("injected failure"))
            } else {
                Ok(())
            }
        };
        let result = update_file_with(&path, &k, &cred("u", "p"), &mut hook);
        let err = result.expect_err(&format!("step {i} {failing:?} should fail"));
        assert!(err.to_string().contains("injected failure"), "{err}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert_eq!(
            seen.last(),
            Some(failing),
            "the failing step is the last one run"
        );

        let new = merge(Some(&old), Format::Config, &k, &cred("u", "p"))
            .unwrap()
            .bytes;
        match read_existing(&path).unwrap() {
            None => assert_eq!(*failing, Step::CreateDir),
            Some(now) => {
                assert!(
                    now == old || now == new,
                    "step {failing:?}: target is a mix"
                );
                json_of(&now);
                // Only after the rename may the new content be in place.
                let renamed = matches!(failing, Step::SyncDir);
                assert_eq!(now == new, renamed, "step {failing:?}");
            }
        }
        if dir.exists() {
            assert!(
                leftovers(&dir).is_empty(),
                "step {failing:?}: {:?}",
                leftovers(&dir)
            );
        }
        let b = backup_path(&path);
        if b.exists() {
            assert_eq!(
                std::fs::read(&b).unwrap(),
                old,
                "a backup is always the whole old file"
            );
        }
    }
}

/// The same with a brand-new file (no backup steps): the file either does not exist
/// or is complete.
#[test]
fn failing_first_write_leaves_nothing_or_everything() {
    let bytes = b"{\n\t\"auths\": {}\n}\n";
    for failing in Step::ALL {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("auth.json");
        let mut hook = |s: Step| {
            if s == failing {
                Err(std::io::Error::other("boom"))
            } else {
                Ok(())
            }
        };
        let r = write_atomic_with(&path, bytes, None, &mut hook);
        match failing {
            Step::CreateTemp(t) | Step::WriteTemp(t) | Step::SyncTemp(t) | Step::Rename(t)
                if t == regauth::authfile::Target::File =>
            {
                assert!(r.is_err());
                assert!(!path.exists());
            }
            Step::SyncDir => {
                assert!(r.is_err());
                assert_eq!(std::fs::read(&path).unwrap(), bytes);
            }
            // Directory exists and there is no backup: these steps never run.
            _ => assert!(r.is_ok(), "{failing:?}"),
        }
        assert!(leftovers(tmp.path()).is_empty());
    }
}

proptest::proptest! {
    /// Any credential merged into any fixture reads back exactly, and a second merge
    /// is a no-op with identical bytes.
    #[test]
    fn merge_reads_back_and_is_idempotent(
        user in "[^:\\x00]{1,20}",
        pass in "[^\\x00]{1,40}",
        host in "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5})?(:[0-9]{2,5})?",
        path in proptest::option::of("[a-z0-9]{1,8}(/[a-z0-9]{1,8})?"),
        base in 0usize..4,
    ) {
        let old = [
            None,
            Some(fixture("docker-config.json")),
            Some(fixture("podman-auth.json")),
            Some(fixture("legacy.dockercfg")),
        ][base].clone();
        let k = key(&match path { Some(p) => format!("{host}/{p}"), None => host });
        let c = cred(&user, &pass);
        let m = merge(old.as_deref(), Format::Config, &k, &c).unwrap();
        let f = AuthFile::parse(&m.bytes).unwrap();
        let got = f.find(&k).unwrap();
        proptest::prop_assert_eq!(got.key.as_str(), k.as_str());
        proptest::prop_assert_eq!(got.username.as_deref(), Some(user.as_str()));
        let got_pass = got.password.unwrap();
        proptest::prop_assert_eq!(got_pass.expose_secret(), pass.as_str());
        let again = merge(Some(&m.bytes), Format::Config, &k, &c).unwrap();
        proptest::prop_assert!(!again.changed);
        proptest::prop_assert_eq!(again.bytes, m.bytes);
    }
}

#[test]
fn dockercfg_name_gives_legacy_layout_for_new_and_empty_files() {
    let tmp = tempfile::tempdir().unwrap();
    let new = tmp.path().join(".dockercfg");
    update_file(&new, &key("reg"), &cred("u", "p")).unwrap();
    assert_eq!(
        json_of(&std::fs::read(&new).unwrap()),
        json!({"reg": {"auth": "dTpw"}})
    );
    let empty = tmp.path().join("node.dockercfg");
    std::fs::write(&empty, "{}").unwrap();
    update_file(&empty, &key("reg"), &cred("u", "p")).unwrap();
    assert_eq!(
        json_of(&std::fs::read(&empty).unwrap()),
        json!({"reg": {"auth": "dTpw"}})
    );
    // Content that says config.json wins over the name.
    let wrapped = tmp.path().join("x.dockercfg");
    std::fs::write(&wrapped, r#"{"auths": {}}"#).unwrap();
    update_file(&wrapped, &key("reg"), &cred("u", "p")).unwrap();
    assert_eq!(
        json_of(&std::fs::read(&wrapped).unwrap()),
        json!({"auths": {"reg": {"auth": "dTpw"}}})
    );
}

/// A symlinked config is updated through the link, as docker's writer does.
#[test]
fn symlink_is_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("dotfiles/config.json");
    std::fs::create_dir(tmp.path().join("dotfiles")).unwrap();
    std::fs::write(&real, fixture("podman-auth.json")).unwrap();
    let link = tmp.path().join("config.json");
    std::os::unix::fs::symlink("dotfiles/config.json", &link).unwrap();
    let u = update_file(&link, &key("reg"), &cred("u", "p")).unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(u.path, tmp.path().join("dotfiles/config.json"));
    assert_eq!(
        json_of(&std::fs::read(&real).unwrap())["auths"]["reg"],
        json!({"auth": "dTpw"})
    );
    assert!(
        tmp.path()
            .join("dotfiles/config.json.regauth-backup")
            .exists()
    );
}

/// Rewriting someone else's file (root updating a user's config) keeps its owner.
#[test]
fn owner_is_kept() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("config.json");
    std::fs::write(&path, "{}").unwrap();
    let me = std::fs::metadata(&path).unwrap();
    // Only root can give a file away; otherwise the owner is already ours.
    let other = if me.uid() == 0 { 4321 } else { me.uid() };
    if me.uid() == 0 {
        std::os::unix::fs::chown(&path, Some(other), Some(other)).unwrap();
    }
    update_file(&path, &key("reg"), &cred("u", "p")).unwrap();
    let after = std::fs::metadata(&path).unwrap();
    assert_eq!(after.uid(), other);
    let backup = std::fs::metadata(backup_path(&path)).unwrap();
    assert_eq!(backup.uid(), other);
}

#[test]
fn merge_all_writes_several_registries_at_once() {
    let creds = [
        (key("a.example"), cred("u1", "p1")),
        (key("b.example:5000/ns"), cred("u2", "p:2")),
    ];
    let m =
        regauth::authfile::merge_all(Some(&fixture("podman-auth.json")), Format::Config, &creds)
            .unwrap();
    assert!(m.changed);
    let f = AuthFile::parse(&m.bytes).unwrap();
    assert_eq!(f.auths().unwrap().len(), 4);
    let again = regauth::authfile::merge_all(Some(&m.bytes), Format::Config, &creds).unwrap();
    assert!(!again.changed);
    assert_eq!(again.bytes, m.bytes);
}

#[test]
fn debug_never_shows_credentials() {
    let old = fixture("docker-config.json");
    let m = merge(
        Some(&old),
        Format::Config,
        &key("r"),
        &cred("u", "visible-pw"),
    )
    .unwrap();
    let f = AuthFile::parse(&m.bytes).unwrap();
    for text in [format!("{m:?}"), format!("{f:?}")] {
        for secret in [
            "ZG9ja2VyOmh1Yi1zZWNyZXQ=",
            "token-body",
            &cred("u", "visible-pw").auth_field(),
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}
