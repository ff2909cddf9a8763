//! Hostile input: property tests over every reader of untrusted text (playbooks,
//! WWW-Authenticate headers, auth files, vault texts, whole inventories). Each must
//! never panic and must reject with an error that says where and what.
//!
//! Case counts are modest: this runs in CI on every push. The generators mix
//! well-formed fragments with noise, so the cases reach past the first syntax check.

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use regauth::authfile::{AuthFile, Credential, Format, RegistryKey, merge_all};
use regauth::exit::HasExit;
use regauth::registry::challenge;
use regauth::{inventory, playbook, vault};
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;

/// A fixed seed: CI runs the same cases every time, so a failure is reproducible and
/// never flaky. Widen the search locally with `PROPTEST_CASES=100000`.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        rng_seed: RngSeed::Fixed(0x5eed9),
        ..ProptestConfig::with_cases(cases)
    }
}

/// One line of YAML-ish text from playbook vocabulary, or noise.
fn playbook_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("- name: step".to_string()),
        Just("  validate: {}".to_string()),
        Just("  auth_files:".to_string()),
        Just("    target: node".to_string()),
        Just("    target: [runtime, master]".to_string()),
        Just("  cluster_secrets: {}".to_string()),
        Just("  restart_nodes:".to_string()),
        Just("    serial: 2".to_string()),
        Just("  tags: [auth, nodes]".to_string()),
        Just("  check_mode: false".to_string()),
        Just("---".to_string()),
        Just("- !vault |".to_string()),
        Just("  &a *a".to_string()),
        "[ -]{0,4}[a-z_]{1,12}: ?[a-z0-9\\[\\]{}\"',:|>&*!-]{0,16}",
        "[ -]{0,6}[\\[\\]{}\"'#:|>&*!%@`\\\\ a-z0-9-]{0,20}",
        "\\PC{0,20}",
    ]
}

/// One line of INI inventory vocabulary, or noise.
fn ini_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\[[a-z0-9_:]{0,12}\\]",
        Just("[OSEv3:children]".to_string()),
        Just("[OSEv3:vars]".to_string()),
        Just("node[01:03].example.com openshift_node_group_name=x".to_string()),
        Just("oreg_url=registry.example.com/x/y".to_string()),
        Just("oreg_auth_user=u oreg_auth_password='p w'".to_string()),
        Just("x={'a': [1, 2, {'b': u'c'}]}".to_string()),
        "[a-z0-9\\[\\]:.=' \"#;{},_-]{0,30}",
        "[a-z_]{1,10}=[^\\n]{0,24}",
    ]
}

/// One line of YAML inventory vocabulary, or noise.
fn yaml_inv_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("all:".to_string()),
        Just("  children:".to_string()),
        Just("    OSEv3:".to_string()),
        Just("      hosts:".to_string()),
        Just("        node[1:3].example.com:".to_string()),
        Just("      vars:".to_string()),
        Just("        oreg_auth_password: !vault |".to_string()),
        Just("          $ANSIBLE_VAULT;1.1;AES256".to_string()),
        Just("          6162".to_string()),
        "[ ]{0,10}[a-z_]{1,10}:( [a-z0-9\\[\\]{}\"',:|>&*!-]{0,16})?",
        "[ -]{0,6}[\\[\\]{}\"'#:|>&*!%@ a-z0-9-]{0,20}",
    ]
}

/// The line an error names, parsed back from `file:line: message`.
fn named_line(msg: &str, file: &Path) -> Option<usize> {
    let rest = msg.strip_prefix(&format!("{}:", file.display()))?;
    rest.split(':').next()?.parse().ok()
}

proptest! {
    #![proptest_config(config(256))]

    /// Any YAML-ish text: `playbook::load` does not panic, and a rejection names the
    /// file and a line inside it, and exits 4 (parse).
    #[test]
    fn playbook_load_never_panics_and_names_file_line(
        lines in proptest::collection::vec(playbook_line(), 0..14)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("play.yml");
        let text = lines.join("\n");
        std::fs::write(&path, &text).unwrap();
        if let Err(e) = playbook::load(&path) {
            let msg = e.to_string();
            let line = named_line(&msg, &path);
            prop_assert!(line.is_some(), "no file:line in {msg:?}");
            let line = line.unwrap();
            prop_assert!(line >= 1 && line <= lines.len().max(1) + 1, "{msg} ({} lines)", lines.len());
            prop_assert_eq!(e.exit() as i32, 4);
        }
    }

    /// Any header text: no panic; every parsed challenge has a scheme name, and the
    /// choice made from them never panics either.
    #[test]
    fn challenge_parse_never_panics(
        header in prop_oneof![
            "\\PC{0,120}",
            "(Bearer|Basic|Negotiate|bearer)( [a-z]{1,8}=(\"[^\"]{0,20}\"|[a-z:/.]{0,20})(, ?)?){0,5}",
            "[ ,=\"\\\\a-zA-Z]{0,60}",
        ]
    ) {
        let parsed = challenge::parse(&header);
        for c in &parsed {
            // Looking parameters up is what the client does next.
            let _ = c.param("realm");
            let _ = c.is("bearer");
        }
        let _ = challenge::choose(&parsed);
    }

    /// Any bytes, and JSON-shaped text: `AuthFile::parse` does not panic; whatever
    /// parses merges, and a merge's output always parses again and holds the entry.
    #[test]
    fn authfile_parse_and_merge_round_trip(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            "\\{(\"(auths|credHelpers|credsStore|reg|a\\.io)\": ?(\\{\\}|\"[a-z=]{0,8}\"|null|1|\\[\\]|\\{\"auth\": ?(\"[A-Za-z0-9+/=]{0,12}\"|1|null)\\}),? ?){0,4}\\}"
                .prop_map(String::into_bytes),
            "\\{\"auths\": ?\\{(\"[a-z.:/]{1,12}\": ?\\{(\"(auth|username|password|email)\": ?(\"[^\"\\\\]{0,12}\"|7|null),?){0,3}\\},?){0,3}\\}\\}"
                .prop_map(String::into_bytes),
        ],
        legacy in any::<bool>(),
    ) {
        let hint = if legacy { Format::Legacy } else { Format::Config };
        let _ = AuthFile::parse(&bytes);
        let key = RegistryKey::parse("registry.example.com").unwrap();
        let cred = Credential::new("u", SecretString::from("p@ss:w\"rd".to_string()), None).unwrap();
        if let Ok(m) = merge_all(Some(&bytes), hint, &[(key.clone(), cred)]) {
            let again = AuthFile::parse_hinted(&m.bytes, hint);
            prop_assert!(again.is_ok(), "merged bytes do not parse: {:?}", again.err());
            let got = again.unwrap().find(&key);
            prop_assert!(got.is_some());
            let got = got.unwrap();
            let pass = got.password.unwrap();
            prop_assert_eq!(pass.expose_secret(), "p@ss:w\"rd");
        }
    }

    /// Any text: `vault::decrypt` does not panic, and says what is wrong.
    #[test]
    fn vault_decrypt_never_panics(
        text in prop_oneof![
            "\\PC{0,120}",
            "\\$ANSIBLE_VAULT;[0-9.]{0,4};[A-Z0-9]{0,7}(;[a-z]{0,5})?\n[0-9a-fA-F\n ]{0,120}",
            "[ ]{0,4}\\$ANSIBLE_VAULT;1\\.1;AES256\n[0-9a-f]{0,160}",
        ]
    ) {
        let pw = SecretString::from("pw".to_string());
        if let Err(e) = vault::decrypt(&text, &pw) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    /// Whole inventories (one INI or YAML file, plus a group_vars file): no panic, and a
    /// rejection exits 4 and names a file (with a line, for text the parser read).
    #[test]
    fn inventory_load_never_panics_and_names_file_line(
        yaml in any::<bool>(),
        ini in proptest::collection::vec(ini_line(), 0..12),
        yml in proptest::collection::vec(yaml_inv_line(), 0..12),
        group_vars in proptest::collection::vec(yaml_inv_line(), 0..5),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (name, lines) = if yaml { ("hosts.yml", &yml) } else { ("hosts", &ini) };
        let path = dir.path().join(name);
        std::fs::write(&path, lines.join("\n")).unwrap();
        std::fs::create_dir(dir.path().join("group_vars")).unwrap();
        let gv = dir.path().join("group_vars").join("all.yml");
        std::fs::write(&gv, group_vars.join("\n")).unwrap();
        let opts = inventory::LoadOptions { sources: vec![path.clone()], vault_password_file: None, extra_vars: Vec::new() };
        if let Err(e) = inventory::load(&opts) {
            prop_assert_eq!(e.exit() as i32, 4);
            let msg = e.to_string();
            let file: &Path = &e.origin.file;
            prop_assert!(file == path || file == gv, "{msg}");
            // A syntax error is always at a line; whole-file errors (e.g. a vault
            // value with no password) may be file-only but still name the file.
            if let Some(line) = e.origin.line {
                let n = if file == path { lines.len() } else { group_vars.len() };
                prop_assert!(line >= 1 && line <= n.max(1) + 1, "{msg}");
            }
        }
    }
}

/// Mutated real vault texts go past the header and hex checks to the HMAC; they are
/// slow (PBKDF2 per case in a debug build), so few cases.
mod vault_mutations {
    use super::*;

    proptest! {
        #![proptest_config(config(16))]
        #[test]
        fn mutated_vault_is_an_error_not_a_panic(at in 0usize..400, byte in any::<u8>(), cut in any::<bool>()) {
            let pw = SecretString::from("pw".to_string());
            let good = vault::encrypt("secret value", &pw, None);
            let mut bytes = good.into_bytes();
            let at = at % bytes.len();
            if cut { bytes.truncate(at) } else { bytes[at] = byte }
            let text = String::from_utf8_lossy(&bytes);
            match vault::decrypt(&text, &pw) {
                Ok(plain) => {
                    // A no-op change (same byte, or an ignored whitespace edit).
                    prop_assert_eq!(plain.expose_secret(), "secret value");
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }
}
