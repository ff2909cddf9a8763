//! Which variable names hold secrets, so every printer can mask them the same way.

/// The mask printed in place of a secret value.
pub const MASK: &str = "********";

/// True when a variable's name says it holds a secret: it contains `password`,
/// `passwd`, `token` or `secret`, or ends in `_pass` (Ansible's `ansible_become_pass`).
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["password", "passwd", "token", "secret"]
        .iter()
        .any(|w| n.contains(w))
        || n.ends_with("_pass")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for n in [
            "oreg_auth_password",
            "ansible_become_pass",
            "MY_SECRET",
            "passwd",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in ["oreg_auth_user", "oreg_url", "ansible_host"] {
            assert!(!is_secret_name(n), "{n}");
        }
    }
}
