//! Ansible 2.9's templating of string values, as openshift-ansible 3.11 saw them:
//! `tests/corpus/safe_eval/expected.jsonl` was recorded by running Ansible 2.9.27's
//! own `safe_eval` (lib/ansible/template/safe_eval.py) behind the conversion rule of
//! `Templar.template()` (lib/ansible/template/__init__.py, v2.9.27 lines 623-631:
//! a result starting with `[`, or with `{` but not `{{`, or equal to `True`/`False`,
//! is `safe_eval`ed and replaced when no exception came back). Its globals add
//! `true`, `false` and `null`; its safe nodes allow `+ - * /` and unary minus, no
//! call, no comparison, no other operator (see tests/corpus/safe_eval/regen.py).
//! `regauth::model::as_templated` must give the same value for every case: what 2.9
//! turned into data, and what it left as text.

use regauth::inventory::Value;
use serde_json::Value as Json;

fn json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => Json::from(*f),
        Value::Str(s) => Json::from(s.as_str()),
        Value::List(items) => Json::Array(items.iter().map(json).collect()),
        Value::Map(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), json(v))).collect()),
        Value::Vault(_) => panic!("no vault values here"),
    }
}

#[test]
fn templating_matches_ansible_2_9() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/corpus/safe_eval/expected.jsonl"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut failures = Vec::new();
    let mut n = 0;
    for line in text.lines() {
        let case: Json = serde_json::from_str(line).unwrap();
        let input = case["in"].as_str().unwrap();
        let got = json(&regauth::model::as_templated(&Value::Str(
            input.to_string(),
        )));
        if got != case["out"] {
            failures.push(format!(
                "{input}\n  ansible 2.9: {}\n  regauth:     {got}",
                case["out"]
            ));
        }
        n += 1;
    }
    assert!(n >= 54, "only {n} cases read");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
