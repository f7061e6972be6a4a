//! This task's own private address on the relay port (`BRIDGE_TASK_URL`): what the live
//! routes record as a session's owner, so that the socket handler, the meetings function and
//! the other tasks call the task serving a session directly (`http://{ip}:{INTERNAL_PORT}`).
//!
//! On Fargate every task gets its own address in the VPC, known only once it runs, so the
//! template cannot set it. The ECS agent tells it: since platform version 1.4.0 each container
//! has `ECS_CONTAINER_METADATA_URI_V4`, and `GET ${ECS_CONTAINER_METADATA_URI_V4}/task` answers
//! the task's metadata, whose `Containers[].Networks[]` (network mode `awsvpc`) carry the
//! task's `IPv4Addresses` (Amazon ECS Developer Guide, "Amazon ECS task metadata endpoint
//! version 4 for tasks on Fargate" and "Amazon ECS task metadata v4 JSON response for tasks on
//! Fargate": <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4-fargate.html>).
//! In `awsvpc` mode every container of a task shares the task's network interface, so the
//! first address found is the task's.
//!
//! Outside ECS (the local stack, tests) the variable is absent and there is no address to
//! find: the caller keeps its configured or default URL.

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

/// The variable the ECS agent sets in every container of a task (Fargate platform 1.4.0+).
pub const METADATA_URI_VARIABLE: &str = "ECS_CONTAINER_METADATA_URI_V4";

/// How long one metadata request may take: the endpoint is the agent, on the task's host.
pub const METADATA_TIMEOUT: Duration = Duration::from_secs(2);

/// Requests made before giving up: the agent answers at once once the container runs; the
/// retries cover a hiccup at start, not an outage.
const ATTEMPTS: u32 = 3;

/// Pause between two attempts.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// `http://{task private IPv4}:{port}` from the task metadata endpoint named by
/// `ECS_CONTAINER_METADATA_URI_V4`; `Ok(None)` when that variable is absent or blank (not on
/// ECS). Errors: the endpoint does not answer 2xx within [`METADATA_TIMEOUT`] after three
/// attempts, or its document holds no `awsvpc` IPv4 address ([`task_ipv4`]).
pub async fn from_ecs_metadata(
    http: &reqwest::Client,
    port: u16,
) -> anyhow::Result<Option<String>> {
    let uri = std::env::var(METADATA_URI_VARIABLE).ok();
    from_metadata(http, uri.as_deref(), port).await
}

/// [`from_ecs_metadata`] with the endpoint's base URI given (`None` or blank: not on ECS).
pub async fn from_metadata(
    http: &reqwest::Client,
    uri: Option<&str>,
    port: u16,
) -> anyhow::Result<Option<String>> {
    let Some(uri) = uri.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let url = format!("{}/task", uri.trim_end_matches('/'));
    let document = fetch(http, &url).await?;
    let ip = task_ipv4(&document).with_context(|| format!("task metadata from {url}"))?;
    Ok(Some(task_url(ip, port)))
}

/// The body of `GET url`, tried up to [`ATTEMPTS`] times.
async fn fetch(http: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let mut last = None;
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            tokio::time::sleep(RETRY_PAUSE).await;
        }
        match http.get(url).timeout(METADATA_TIMEOUT).send().await {
            Ok(answer) if answer.status().is_success() => {
                return answer
                    .text()
                    .await
                    .with_context(|| format!("reading the task metadata from {url}"));
            }
            Ok(answer) => {
                last = Some(anyhow::anyhow!(
                    "the task metadata endpoint {url} answered {}",
                    answer.status()
                ));
            }
            Err(error) => {
                last = Some(
                    anyhow::Error::new(error)
                        .context(format!("the task metadata endpoint {url} did not answer")),
                );
            }
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("no request made to {url}")))
}

/// The relay URL of a task at `ip`: `http://{ip}:{port}`.
pub fn task_url(ip: Ipv4Addr, port: u16) -> String {
    format!("http://{ip}:{port}")
}

/// The task's private IPv4 address in a task metadata v4 document (the JSON of
/// `${ECS_CONTAINER_METADATA_URI_V4}/task`): the first valid `IPv4Addresses` entry of the
/// first `awsvpc` network (or one with no `NetworkMode`) of any container, in order. Errors:
/// not a task metadata document, or no such address (a task in another network mode, whose
/// container addresses other hosts cannot reach, or an IPv6-only task).
pub fn task_ipv4(document: &str) -> anyhow::Result<Ipv4Addr> {
    let task: TaskMetadata =
        serde_json::from_str(document).context("not a task metadata (v4) document")?;
    task.containers
        .iter()
        .flat_map(|container| &container.networks)
        .filter(|network| {
            network
                .network_mode
                .as_deref()
                .is_none_or(|mode| mode.eq_ignore_ascii_case("awsvpc"))
        })
        .flat_map(|network| &network.ipv4_addresses)
        .find_map(|address| address.trim().parse::<Ipv4Addr>().ok())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no IPv4 address of an awsvpc network in the task metadata ({} containers)",
                task.containers.len()
            )
        })
}

/// The part of the task metadata read here (the rest is ignored; AWS may add fields to v4,
/// never remove or rename them).
#[derive(Debug, Deserialize)]
struct TaskMetadata {
    #[serde(rename = "Containers", default)]
    containers: Vec<ContainerMetadata>,
}

#[derive(Debug, Deserialize)]
struct ContainerMetadata {
    #[serde(rename = "Networks", default)]
    networks: Vec<NetworkMetadata>,
}

#[derive(Debug, Deserialize)]
struct NetworkMetadata {
    #[serde(rename = "NetworkMode", default)]
    network_mode: Option<String>,
    #[serde(rename = "IPv4Addresses", default)]
    ipv4_addresses: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `${ECS_CONTAINER_METADATA_URI_V4}/task` answer of a Fargate task with two containers,
    /// in the shape of the AWS documentation's example task metadata response (Amazon ECS
    /// Developer Guide, "Amazon ECS task metadata v4 examples for tasks on Fargate"), trimmed
    /// of fields not read here except a few kept for realism.
    const FARGATE_TASK: &str = r#"{
        "Cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/clusterName",
        "TaskARN": "arn:aws:ecs:us-east-1:123456789012:task/MyEmptyCluster/bfa2636268144d039771334145e490c5",
        "Family": "sample-fargate",
        "Revision": "5",
        "DesiredStatus": "RUNNING",
        "KnownStatus": "RUNNING",
        "Limits": {"CPU": 0.25, "Memory": 512},
        "AvailabilityZone": "us-east-1d",
        "Containers": [
            {
                "DockerId": "bfa2636268144d039771334145e490c5-1117626119",
                "Name": "curl-image",
                "Image": "curlimages/curl",
                "DesiredStatus": "RUNNING",
                "KnownStatus": "RUNNING",
                "Limits": {"CPU": 128},
                "Type": "NORMAL",
                "Networks": [
                    {
                        "NetworkMode": "awsvpc",
                        "IPv4Addresses": ["172.31.42.189"],
                        "AttachmentIndex": 0,
                        "MACAddress": "0e:98:9f:33:76:d3",
                        "IPv4SubnetCIDRBlock": "172.31.32.0/20",
                        "DomainNameServers": ["172.31.0.2"],
                        "DomainNameSearchList": ["ec2.internal"],
                        "PrivateDNSName": "ip-172-31-42-189.ec2.internal",
                        "SubnetGatewayIpv4Address": "172.31.32.1/20"
                    }
                ]
            },
            {
                "DockerId": "bfa2636268144d039771334145e490c5-3681984407",
                "Name": "fargate-app",
                "Image": "public.ecr.aws/docker/library/httpd:latest",
                "Type": "NORMAL",
                "Networks": [
                    {
                        "NetworkMode": "awsvpc",
                        "IPv4Addresses": ["172.31.42.189"],
                        "AttachmentIndex": 0,
                        "PrivateDNSName": "ip-172-31-42-189.ec2.internal"
                    }
                ]
            }
        ],
        "LaunchType": "FARGATE",
        "ClockDrift": {
            "ClockErrorBound": 0.446931,
            "ReferenceTimestamp": "2023-07-21T16:09:17Z",
            "ClockSynchronizationStatus": "SYNCHRONIZED"
        },
        "EphemeralStorageMetrics": {"Utilized": 261, "Reserved": 20496}
    }"#;

    #[test]
    fn the_fargate_documents_task_address_is_its_awsvpc_ipv4() {
        assert_eq!(
            task_ipv4(FARGATE_TASK).expect("an address"),
            Ipv4Addr::new(172, 31, 42, 189)
        );
        assert_eq!(
            task_url(Ipv4Addr::new(172, 31, 42, 189), 8081),
            "http://172.31.42.189:8081"
        );
    }

    #[test]
    fn containers_without_an_awsvpc_ipv4_are_passed_over() {
        // A container with no network yet, one in bridge mode (its address is the Docker
        // bridge's, unreachable from other hosts), a blank and a malformed entry, then the
        // task's address.
        let document = r#"{"Containers": [
            {"Name": "init"},
            {"Name": "sidecar", "Networks": [{"NetworkMode": "bridge", "IPv4Addresses": ["172.17.0.2"]}]},
            {"Name": "live-bridge", "Networks": [
                {"NetworkMode": "awsvpc", "IPv4Addresses": []},
                {"NetworkMode": "awsvpc", "IPv4Addresses": ["", "not-an-ip", "10.0.3.17"]}
            ]}
        ]}"#;
        assert_eq!(
            task_ipv4(document).expect("an address"),
            Ipv4Addr::new(10, 0, 3, 17)
        );
        // No NetworkMode: taken as the task's.
        let document = r#"{"Containers": [{"Networks": [{"IPv4Addresses": ["10.0.0.9"]}]}]}"#;
        assert_eq!(
            task_ipv4(document).expect("an address"),
            Ipv4Addr::new(10, 0, 0, 9)
        );
    }

    #[test]
    fn a_document_without_a_usable_address_is_an_error() {
        for document in [
            r#"{"Containers": []}"#,
            r#"{"Cluster": "default"}"#,
            r#"{"Containers": [{"Networks": [{"NetworkMode": "awsvpc", "IPv6Addresses": ["2001:db8::1"]}]}]}"#,
            r#"{"Containers": [{"Networks": [{"NetworkMode": "host", "IPv4Addresses": ["10.0.0.1"]}]}]}"#,
            "<html>502 Bad Gateway</html>",
            "",
        ] {
            assert!(task_ipv4(document).is_err(), "{document}");
        }
    }

    /// A one-request-per-connection HTTP server (a plain thread) answering `status` and
    /// `body` to every request: its base URI, and the paths it was asked for.
    fn metadata_endpoint(
        status: &'static str,
        body: &'static str,
    ) -> (String, std::sync::mpsc::Receiver<String>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let base = format!("http://{}/v4/abc-123", listener.local_addr().expect("addr"));
        let (paths, seen) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for socket in listener.incoming() {
                let Ok(mut socket) = socket else { return };
                let mut request = vec![0u8; 4096];
                let n = socket.read(&mut request).unwrap_or(0);
                let head = String::from_utf8_lossy(&request[..n]).into_owned();
                let path = head.split(' ').nth(1).unwrap_or_default().to_owned();
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                if paths.send(path).is_err() {
                    return;
                }
                let _ = socket.write_all(answer.as_bytes());
            }
        });
        (base, seen)
    }

    fn next_path(seen: &std::sync::mpsc::Receiver<String>) -> Option<String> {
        seen.recv_timeout(Duration::from_secs(5)).ok()
    }

    #[tokio::test]
    async fn the_address_comes_from_the_task_path_of_the_endpoint() {
        let (base, seen) = metadata_endpoint("200 OK", FARGATE_TASK);
        let http = reqwest::Client::new();
        let url = from_metadata(&http, Some(&format!("{base}/")), 8081)
            .await
            .expect("the address");
        assert_eq!(url.as_deref(), Some("http://172.31.42.189:8081"));
        assert_eq!(next_path(&seen).as_deref(), Some("/v4/abc-123/task"));
    }

    #[tokio::test]
    async fn outside_ecs_there_is_no_address() {
        let http = reqwest::Client::new();
        for uri in [None, Some(""), Some("  ")] {
            assert_eq!(
                from_metadata(&http, uri, 8081).await.expect("no error"),
                None
            );
        }
    }

    #[tokio::test]
    async fn an_endpoint_that_fails_is_an_error_after_three_tries() {
        let (base, seen) = metadata_endpoint("500 Internal Server Error", "{}");
        let http = reqwest::Client::new();
        let error = from_metadata(&http, Some(&base), 8081)
            .await
            .expect_err("no address");
        assert!(error.to_string().contains("500"), "{error:#}");
        for _ in 0..3 {
            assert_eq!(next_path(&seen).as_deref(), Some("/v4/abc-123/task"));
        }
        assert!(seen.try_recv().is_err(), "three attempts, no more");

        // A document without an address is not retried: it is what the agent knows.
        let (base, seen) = metadata_endpoint("200 OK", r#"{"Containers": []}"#);
        let error = from_metadata(&http, Some(&base), 8081)
            .await
            .expect_err("no address");
        assert!(
            format!("{error:#}").contains("no IPv4 address"),
            "{error:#}"
        );
        assert_eq!(next_path(&seen).as_deref(), Some("/v4/abc-123/task"));
        assert!(seen.try_recv().is_err());
    }
}
