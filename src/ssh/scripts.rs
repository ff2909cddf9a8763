//! The shell scripts run on nodes, and the command lines that start them.
//!
//! Three scripts share two pieces: reading files (`read_loop!`) and writing them
//! (`write_body!`). `READ_SCRIPT` and `WRITE_SCRIPT` do one each; `UPDATE_SCRIPT` reads,
//! waits for the control side's decision on the same stdin, and writes, so a host's
//! read–compare–write is one exec. Every process the scripts start is paid for on the
//! node (a fork and an exec: about a millisecond of a core each); on a 2,000-node
//! run they were a third of the machine time, so each piece starts only what it
//! must: paths are split with parameter expansion, errors are captured from the
//! command itself (`$(cmd 2>&1 > file)`, one process, not a subshell running a group),
//! missing directories are made by one `mkdir`, and the end of the input is proved by
//! a trailing line read by the shell's own `read` instead of a `wc` per file.

/// Reads each file (`$1`, `$2`...). Per file one header line, and for a present file
/// one line of base64 (`-w0`). Error messages never include captured output: a
/// half-read file's base64 is secret.
macro_rules! read_loop {
    () => {
        r#"
i=0
for f in "$@"; do
  if [ ! -e "$f" ] && [ ! -L "$f" ]; then
    # Missing, or hidden by a directory we may not search? Find the nearest
    # visible ancestor and ask.
    a=${f%/*}
    while [ -n "$a" ] && [ ! -d "$a" ]; do a=${a%/*}; done
    if [ -x "${a:-/}" ]; then
      echo "regauth-file $i missing"
    else
      echo "regauth-file $i error permission denied (cannot search ${a:-/})"
    fi
  elif [ ! -f "$f" ]; then
    echo "regauth-file $i error not a regular file"
  elif [ ! -r "$f" ]; then
    echo "regauth-file $i error permission denied"
  elif ! m=$(stat -L -c '%a %u' -- "$f" 2>/dev/null); then
    echo "regauth-file $i error cannot stat"
  elif ! b=$(base64 -w0 < "$f" 2>/dev/null); then
    echo "regauth-file $i error read error"
  else
    printf 'regauth-file %s present %s\n%s\n' "$i" "$m" "$b"
  fi
  i=$((i+1))
done
"#
    };
}

/// Writes files from stdin. Arguments are pairs `PATH SIZE`; stdin is the
/// concatenated contents in that order, then the line `regauth-commit`. Sets `rc`.
///
/// Phase 1 makes every missing directory (0700, one `mkdir -p`), then stages every
/// file as `.<name>.regauth-tmp.<pid>` in the target's directory (umask 077 so temps are
/// 0600), reading exactly SIZE bytes (`head -c` reads no further than it must, so the
/// files can share one stdin); the trailing line then proves that the input arrived
/// whole (a connection cut short leaves it out, and the shell's `read` takes bytes
/// one at a time, so it reads no further either); then one `sync TEMP...` fsyncs
/// them all (coreutils ≥ 8.24 fsyncs named files; `sync -f` would flush the whole
/// filesystem). If any file fails to stage — a short stdin because the connection
/// dropped, a full disk — nothing is replaced. Phase 2, per file: hard-link the old
/// file to `<path>.regauth-backup`, rename the temp over the path (atomic); then one
/// `sync DIR...` makes the renames durable. The EXIT trap removes any temp left, on
/// every path out of the script including SIGHUP/SIGTERM/SIGPIPE when sshd tears the
/// session down, under dash and bash alike (tests/write_script_shells.rs); only
/// SIGKILL can leave one, and the next write sweeps stale temps of the same file.
macro_rules! write_body {
    () => {
        r#"
umask 077
echo regauth-write-1
tmp_of() { d=${1%/*}; [ -n "$d" ] || d=/; b=${1##*/}; t="$d/.$b.regauth-tmp.$$"; }
# Temps made so far, one per line (paths never hold a newline). Not "$@" in the
# trap: bash runs a trap with the positional parameters of the function it
# interrupted (shifted in stage/commit), so it would miss the temp being staged.
temps=
cleanup() { set -f; IFS='
'; for t in $temps; do [ ! -e "$t" ] || rm -f -- "$t"; done; }
oneline() { printf '%s' "$1" | tr '\n' ' '; }
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM
# missing_dirs PATH SIZE...: the target directories that do not exist, one per line,
# and the index of the first file that needs one.
missing_dirs() {
  missing=; first=; i=0
  while [ $# -ge 2 ]; do
    tmp_of "$1"; shift 2
    if [ ! -d "$d" ]; then
      missing="$missing
$d"; first=${first:-$i}
    fi
    i=$((i+1))
  done
}
stage() {
  missing_dirs "$@"
  if [ -n "$missing" ] && ! err=$(set -f; IFS='
'; mkdir -p -m 0700 -- $missing 2>&1); then
    printf 'regauth-stage %s error %s\n' "$first" "$(oneline "$err")"; return 1
  fi
  i=0
  while [ $# -ge 2 ]; do
    f=$1; n=$2; shift 2
    tmp_of "$f"
    for old in "$d/.$b.regauth-tmp."*; do
      [ ! -f "$old" ] || rm -f -- "$old"
    done
    temps="$temps
$t"
    if ! err=$(head -c "$n" 2>&1 > "$t"); then
      printf 'regauth-stage %s error %s\n' "$i" "$(oneline "$err")"; return 1
    fi
    i=$((i+1))
  done
  if ! IFS= read -r end || [ "$end" != regauth-commit ]; then
    echo "regauth-stage 0 error input ended before every file's contents arrived"; return 1
  fi
}
# sync_all WHAT PATH SIZE...: one sync of every temp file (WHAT=t) or directory (d).
sync_all() {
  what=$1; shift; k=$(($# / 2))
  while [ "$k" -gt 0 ]; do
    tmp_of "$1"; if [ "$what" = t ]; then set -- "$@" "$t"; else set -- "$@" "$d"; fi
    shift 2; k=$((k-1))
  done
  sync -- "$@"
}
commit() {
  i=0; rc=0
  while [ $# -ge 2 ]; do
    f=$1; shift 2
    tmp_of "$f"
    if [ -e "$f" ] && ! err=$(ln -f -- "$f" "$f.regauth-backup" 2>&1) &&
       ! err=$(cp -p -- "$f" "$f.regauth-backup" 2>&1); then
      printf 'regauth-write %s error backup failed: %s\n' "$i" "$(oneline "$err")"; rc=1
    elif err=$(mv -f -T -- "$t" "$f" 2>&1); then
      echo "regauth-write $i ok"
    else
      printf 'regauth-write %s error %s\n' "$i" "$(oneline "$err")"; rc=1
    fi
    i=$((i+1))
  done
  return $rc
}
if stage "$@" && { sync_all t "$@" || { echo "regauth-stage 0 error cannot fsync temp files"; false; }; }; then
  commit "$@"; rc=$?
  sync_all d "$@" 2>/dev/null
else
  rc=1
fi
"#
    };
}

/// Reads the files named by the arguments; `regauth-end` proves the reply is complete.
pub(crate) const READ_SCRIPT: &str =
    concat!("echo regauth-read-1", read_loop!(), "echo regauth-end\n");

/// Writes files (see `write_body!`); `regauth-end` proves the reply is complete.
pub(crate) const WRITE_SCRIPT: &str = concat!(write_body!(), "echo regauth-end\nexit $rc\n");

/// Reads the files named by the arguments, ends that part with `regauth-read-end`, then
/// reads the control side's request from stdin: nothing (end of input: no file
/// changes), or the line `regauth-write COUNT`, COUNT lines `SIZE PATH` (each path
/// one of the arguments), and the stdin `write_body!` takes.
pub(crate) const UPDATE_SCRIPT: &str = concat!(
    "echo regauth-read-1",
    read_loop!(),
    r#"echo regauth-read-end
if ! IFS= read -r req; then echo regauth-end; exit 0; fi
case $req in
  "regauth-write "*) k=${req#regauth-write } ;;
  *) echo regauth-bad-request; exit 2 ;;
esac
case $k in ''|*[!0-9]*) echo regauth-bad-request; exit 2 ;; esac
set --
while [ "$k" -gt 0 ]; do
  if ! IFS= read -r l; then echo regauth-bad-request; exit 2; fi
  set -- "$@" "${l#* }" "${l%% *}"
  k=$((k-1))
done
"#,
    write_body!(),
    "echo regauth-end\nexit $rc\n"
);

/// Quotes `s` for a POSIX shell: `'...'` with `'` as `'\''`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The command line that runs `script` with `args`, through `sudo -n -u` when becoming.
///
/// `sudo -n` never prompts: a host that wants a password fails at once.
pub fn script_command(become_user: Option<&str>, script: &str, args: &[&str]) -> String {
    let mut words: Vec<String> = Vec::new();
    if let Some(user) = become_user {
        words.extend(["sudo", "-n", "-u"].map(String::from));
        words.push(shell_quote(user));
        words.push("--".into());
    }
    words.push("sh".into());
    words.push("-c".into());
    words.push(shell_quote(script));
    // $0 for the script: shows up in ps as the script's name.
    words.push("regauth".into());
    words.extend(args.iter().map(|a| shell_quote(a)));
    words.join(" ")
}

/// The line that ends a write's stdin (see `write_body!`).
pub(crate) const COMMIT_LINE: &[u8] = b"regauth-commit\n";
