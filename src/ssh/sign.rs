//! Public-key authentication signed with a key parsed once per run.
//!
//! libssh2's file and memory auth functions parse the private key again on every
//! connection to sign with it; its OpenSSL backend sets up OpenSSL 3's decoders for
//! each parse (PEM first, then OpenSSH), which callgrind showed as half of regauth's
//! instructions per host. For unencrypted OpenSSH-format ed25519 and ECDSA
//! (nistp256, nistp384) keys regauth parses the key once (RustCrypto's `ssh-key`,
//! which zeroizes it on drop) and answers libssh2's signing callback through
//! `libssh2_userauth_publickey`. Other keys (RSA, whose `rsa-sha2-*` choice and
//! RustCrypto's non-constant-time RSA are better left to OpenSSL; encrypted keys;
//! PEM files; security keys) keep libssh2's own path, and so does the one ECDSA key in
//! 256 whose private scalar OpenSSH writes one byte short (a minimal mpint): ssh-key
//! 0.6 refuses it (RustCrypto/SSH#356 fixed that for 0.7, not yet released), and
//! libssh2 signs with it as it always did.

use ssh_key::{Algorithm, EcdsaCurve, PrivateKey};
use std::ffi::{CString, c_char, c_int, c_uchar, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A private key regauth signs with itself, parsed once.
pub struct NativeKey {
    secret: Secret,
    /// The public key blob sent in the userauth request.
    blob: Vec<u8>,
    /// The key's SSH algorithm name (`ssh-ed25519`): the only one it signs for.
    algorithm: String,
    signatures: AtomicUsize,
}

/// Both zeroize on drop.
enum Secret {
    /// Kept as ed25519-dalek's key: ssh-key would derive it again (a scalar
    /// multiplication, as costly as the signature) for every signature.
    Ed25519(ed25519_dalek::SigningKey),
    Ecdsa(PrivateKey),
}

impl std::fmt::Debug for NativeKey {
    // Only the algorithm: the key is a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NativeKey({})", self.algorithm)
    }
}

impl NativeKey {
    /// The key in `text` if it is one regauth signs with itself; `None` otherwise
    /// (libssh2 then parses it, with its own errors).
    pub fn parse(text: &str) -> Option<NativeKey> {
        let key = PrivateKey::from_openssh(text).ok()?;
        if key.is_encrypted() {
            return None;
        }
        let blob = key.public_key().to_bytes().ok()?;
        let algorithm = key.algorithm().as_str().to_string();
        let secret = match key.algorithm() {
            Algorithm::Ed25519 => Secret::Ed25519(key.key_data().ed25519()?.try_into().ok()?),
            Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP256 | EcdsaCurve::NistP384,
            } => Secret::Ecdsa(key),
            _ => return None,
        };
        Some(NativeKey {
            secret,
            blob,
            algorithm,
            signatures: AtomicUsize::new(0),
        })
    }

    /// How many authentication signatures this key has made.
    pub fn signatures(&self) -> usize {
        self.signatures.load(Ordering::Relaxed)
    }

    /// The raw signature (what goes inside the SSH signature blob after the
    /// algorithm name) of `data`, if `data` is a userauth request for this key's
    /// algorithm and public key.
    fn sign(&self, data: &[u8]) -> Option<Vec<u8>> {
        let (algorithm, blob) = signed_request_key(data)?;
        if algorithm != self.algorithm.as_bytes() || blob != self.blob.as_slice() {
            return None;
        }
        let sig = match &self.secret {
            Secret::Ed25519(key) => ed25519_dalek::Signer::sign(key, data).to_vec(),
            Secret::Ecdsa(key) => {
                let sig: ssh_key::Signature = signature::Signer::try_sign(key, data).ok()?;
                sig.as_bytes().to_vec()
            }
        };
        self.signatures.fetch_add(1, Ordering::Relaxed);
        Some(sig)
    }
}

/// The algorithm name and public key blob of the userauth request libssh2 asks to
/// sign (RFC 4252 §7: session id, SSH_MSG_USERAUTH_REQUEST, user, service,
/// "publickey", TRUE, algorithm, key blob).
fn signed_request_key(mut data: &[u8]) -> Option<(&[u8], &[u8])> {
    fn string<'a>(r: &mut &'a [u8]) -> Option<&'a [u8]> {
        let (len, tail) = r.split_first_chunk::<4>()?;
        let s = tail.get(..u32::from_be_bytes(*len) as usize)?;
        *r = &tail[s.len()..];
        Some(s)
    }
    const USERAUTH_REQUEST: u8 = 50;
    string(&mut data)?; // session id
    let (&kind, tail) = data.split_first()?;
    data = tail;
    string(&mut data)?; // user
    string(&mut data)?; // service
    let method = string(&mut data)?;
    let (&with_signature, tail) = data.split_first()?;
    data = tail;
    if kind != USERAUTH_REQUEST || method != b"publickey" || with_signature != 1 {
        return None;
    }
    let algorithm = string(&mut data)?;
    let blob = string(&mut data)?;
    Some((algorithm, blob))
}

type SignCallback = unsafe extern "C" fn(
    session: *mut c_void,
    sig: *mut *mut c_uchar,
    sig_len: *mut usize,
    data: *const c_uchar,
    data_len: usize,
    abstract_: *mut *mut c_void,
) -> c_int;

// libssh2-sys does not declare it; the vendored libssh2 it links exports it.
unsafe extern "C" {
    fn libssh2_userauth_publickey(
        session: *mut c_void,
        username: *const c_char,
        pubkeydata: *const c_uchar,
        pubkeydata_len: usize,
        sign_callback: Option<SignCallback>,
        abstract_: *mut *mut c_void,
    ) -> c_int;
    fn libssh2_userauth_publickey_frommemory(
        session: *mut c_void,
        username: *const c_char,
        username_len: usize,
        publickeydata: *const c_char,
        publickeydata_len: usize,
        privatekeydata: *const c_char,
        privatekeydata_len: usize,
        passphrase: *const c_char,
    ) -> c_int;
}

/// libssh2's signing callback: `*abstract_` is the `NativeKey`. The signature is
/// handed over in memory from `malloc`, which libssh2 frees (ssh2 creates sessions
/// with libssh2's default allocator). Never unwinds into C.
unsafe extern "C" fn sign_callback(
    _session: *mut c_void,
    sig: *mut *mut c_uchar,
    sig_len: *mut usize,
    data: *const c_uchar,
    data_len: usize,
    abstract_: *mut *mut c_void,
) -> c_int {
    const FAILED: c_int = -1;
    let signed = std::panic::catch_unwind(|| {
        if abstract_.is_null() || data.is_null() || sig.is_null() || sig_len.is_null() {
            return None;
        }
        // SAFETY: `abstract_` points at the pointer `userauth` passed, to a
        // NativeKey that outlives the call; libssh2 gives `data_len` readable bytes.
        let (key, data) = unsafe {
            (
                &*(*abstract_).cast::<NativeKey>(),
                std::slice::from_raw_parts(data, data_len),
            )
        };
        key.sign(data)
    });
    let Ok(Some(bytes)) = signed else {
        return FAILED;
    };
    // SAFETY: malloc of a non-zero size; on success it is filled with `bytes`
    // and handed to libssh2 with its length through the out-pointers checked above.
    unsafe {
        let out = libc::malloc(bytes.len().max(1)).cast::<c_uchar>();
        if out.is_null() {
            return FAILED;
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), out, bytes.len());
        *sig = out;
        *sig_len = bytes.len();
    }
    0
}

/// Authenticates `user` on `ssh` with `key`, signing in this process.
pub fn userauth(ssh: &ssh2::Session, user: &str, key: &NativeKey) -> Result<(), ssh2::Error> {
    let user = CString::new(user)
        .map_err(|_| ssh2::Error::new(ssh2::ErrorCode::Session(-34), "user name has a NUL"))?;
    let mut abstract_ = std::ptr::from_ref(key).cast_mut().cast::<c_void>();
    let mut raw = ssh.raw();
    let session = std::ptr::from_mut(&mut *raw);
    // SAFETY: a live session (its lock held for the call), a NUL-terminated user,
    // the blob's bytes, and `abstract_` pointing at `key` for the callback; all
    // outlive the call, which does not keep them.
    let rc = unsafe {
        libssh2_userauth_publickey(
            session.cast::<c_void>(),
            user.as_ptr(),
            key.blob.as_ptr(),
            key.blob.len(),
            Some(sign_callback),
            &mut abstract_,
        )
    };
    if rc < 0 {
        return Err(ssh2::Error::from_session_error_raw(session, rc));
    }
    Ok(())
}

/// Public-key auth by libssh2's own parsing, for the keys not signed here, from a
/// NUL-terminated copy of the key that is wiped after the call: ssh2's
/// `userauth_pubkey_memory` makes a `CString` copy that is freed unwiped.
pub fn userauth_libssh2(
    ssh: &ssh2::Session,
    user: &str,
    public: Option<&str>,
    private: &str,
) -> Result<(), ssh2::Error> {
    let nul = |what| ssh2::Error::new(ssh2::ErrorCode::Session(-34), what);
    let user_c = CString::new(user).map_err(|_| nul("user name has a NUL"))?;
    let public_c = public
        .map(CString::new)
        .transpose()
        .map_err(|_| nul("public key has a NUL"))?;
    // Exactly sized, so no reallocation leaves a copy behind.
    let mut key = zeroize::Zeroizing::new(Vec::with_capacity(private.len() + 1));
    key.extend_from_slice(private.as_bytes());
    key.push(0);
    let mut raw = ssh.raw();
    let session = std::ptr::from_mut(&mut *raw);
    // SAFETY: a live session (its lock held for the call) and NUL-terminated buffers
    // with their lengths, all outliving the call, which does not keep them.
    let rc = unsafe {
        libssh2_userauth_publickey_frommemory(
            session.cast::<c_void>(),
            user_c.as_ptr(),
            user.len(),
            public_c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
            public.map_or(0, str::len),
            key.as_ptr().cast::<c_char>(),
            private.len(),
            std::ptr::null(),
        )
    };
    if rc < 0 {
        return Err(ssh2::Error::from_session_error_raw(session, rc));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn keygen(dir: &std::path::Path, args: &[&str]) -> String {
        let path = dir.join(args.join("-"));
        let _ = std::fs::remove_file(&path);
        let ok = Command::new("ssh-keygen")
            .args(["-q", "-C", "c", "-f"])
            .arg(&path)
            .args(args)
            .status()
            .unwrap();
        assert!(ok.success());
        std::fs::read_to_string(path).unwrap()
    }

    /// An ECDSA key from ssh-keygen whose scalar ssh-key 0.6 reads (`full`) or
    /// refuses (written one byte short, one key in 256): keys are drawn until one is.
    fn ecdsa_keygen(dir: &std::path::Path, bits: &str, full: bool) -> String {
        for _ in 0..5000 {
            let text = keygen(dir, &["-t", "ecdsa", "-b", bits, "-N", ""]);
            if PrivateKey::from_openssh(&text).is_ok() == full {
                return text;
            }
        }
        // With `full == false`: ssh-key now reads short scalars (0.7's fix), so
        // regauth could sign with them too; revisit `NativeKey::parse`.
        panic!("5,000 ECDSA keys and none with full = {full}");
    }

    #[test]
    fn only_unencrypted_ed25519_and_ecdsa_keys_are_signed_here() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let keys = [
            (keygen(d, &["-t", "ed25519", "-N", ""]), true),
            (ecdsa_keygen(d, "256", true), true),
            (ecdsa_keygen(d, "384", true), true),
            (keygen(d, &["-t", "ecdsa", "-b", "521", "-N", ""]), false),
            (keygen(d, &["-t", "rsa", "-b", "2048", "-N", ""]), false),
            (keygen(d, &["-t", "ed25519", "-N", "secret"]), false),
            (
                keygen(d, &["-t", "rsa", "-b", "2048", "-N", "", "-m", "PEM"]),
                false,
            ),
            // A short scalar is left to libssh2 (tests/ssh.rs logs in with one).
            (ecdsa_keygen(d, "256", false), false),
        ];
        for (i, (text, native)) in keys.iter().enumerate() {
            assert_eq!(NativeKey::parse(text).is_some(), *native, "key {i}");
        }
    }

    /// A userauth request as libssh2 lays it out for signing.
    fn request(algorithm: &str, blob: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        let string = |d: &mut Vec<u8>, s: &[u8]| {
            d.extend((s.len() as u32).to_be_bytes());
            d.extend(s);
        };
        string(&mut d, &[7; 32]);
        d.push(50);
        string(&mut d, b"root");
        string(&mut d, b"ssh-connection");
        string(&mut d, b"publickey");
        d.push(1);
        string(&mut d, algorithm.as_bytes());
        string(&mut d, blob);
        d
    }

    #[test]
    fn signs_only_requests_for_its_own_key_and_the_signature_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let ed25519 = keygen(dir.path(), &["-t", "ed25519", "-N", ""]);
        for text in [ed25519, ecdsa_keygen(dir.path(), "256", true)] {
            let key = NativeKey::parse(&text).unwrap();
            let public = PrivateKey::from_openssh(&text)
                .unwrap()
                .public_key()
                .clone();
            let data = request(&key.algorithm, &key.blob);
            let raw = key.sign(&data).unwrap();
            let sig = ssh_key::Signature::new(public.algorithm(), raw).unwrap();
            signature::Verifier::verify(&public, &data, &sig).unwrap();
            assert_eq!(key.signatures(), 1);
            assert!(key.sign(&request("ssh-rsa", &key.blob)).is_none());
            assert!(key.sign(&request(&key.algorithm, b"other")).is_none());
            assert!(key.sign(&data[..data.len() - 1]).is_none());
            assert_eq!(format!("{key:?}"), format!("NativeKey({})", key.algorithm));
        }
    }
}
