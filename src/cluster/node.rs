//! Waiting for a Node to report `Ready` after its service restarted.

use super::error::ClusterError;
use k8s_openapi::api::core::v1::Node;
use kube::{Api, Client};
use std::time::{Duration, Instant};

/// Polls the Node until its `Ready` condition is `True`, or fails after `timeout`
/// (the installer: 36 tries, 5 s apart).
pub async fn wait_node_ready(
    client: &Client,
    name: &str,
    timeout: Duration,
    interval: Duration,
) -> Result<(), ClusterError> {
    let api: Api<Node> = Api::all(client.clone());
    let start = Instant::now();
    let what = format!("node {name}");
    loop {
        match api.get_opt(name).await {
            Ok(Some(node)) if is_ready(&node) => return Ok(()),
            Ok(_) => {}
            // A restarting control plane may drop a poll or two; keep waiting.
            Err(e) if matches!(&e, kube::Error::Api(s) if s.code >= 500) => {}
            Err(e) => return Err(ClusterError::from_kube(e, &what, None)),
        }
        if start.elapsed() + interval > timeout {
            return Err(ClusterError::Refused(format!(
                "{what} did not report Ready within {}s: check `oc describe node {name}` and the node service's journal",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(interval).await;
    }
}

fn is_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}
