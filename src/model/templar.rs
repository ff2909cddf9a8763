//! What Ansible 2.9's templating makes of a variable the installer reads.
//!
//! openshift-ansible 3.11 runs on Ansible 2.9, which reads
//! `openshift_additional_registry_credentials` through a template
//! (`with_items: "{{ openshift_additional_registry_credentials }}"`). In 2.9,
//! `Templar.template()` (lib/ansible/template/__init__.py, v2.9.27 lines 623-631)
//! hands a rendered result that starts with `[`, starts with `{` but not `{{`, or is
//! `True`/`False`, to `safe_eval`, and keeps the evaluated value when no exception
//! came back. So an INI value that `ast.literal_eval` left as a string, such as
//! JSON with `false`, reached the installer as a list. The inventory itself keeps
//! the string (`ansible-inventory` prints it); only the model converts.

use crate::inventory::{Value, safe_eval};
use std::borrow::Cow;

/// `value` as the installer's templates see it: a string that looks like a list or
/// dict (or is `True`/`False`) evaluated as Ansible 2.9 does; anything else as it is.
pub fn as_templated(value: &Value) -> Cow<'_, Value> {
    let Value::Str(s) = value else {
        return Cow::Borrowed(value);
    };
    let looks_like_data = (s.starts_with('{') && !s.starts_with("{{"))
        || s.starts_with('[')
        || s == "True"
        || s == "False";
    match looks_like_data.then(|| safe_eval(s)).flatten() {
        Some(v) => Cow::Owned(v),
        None => Cow::Borrowed(value),
    }
}
