//! `hello-lambda`: the smallest lambda_http function, the baseline `meetin-bench` compares
//! the `auth` function's cold start with. It answers every event with 200 and a short JSON
//! body, built with the same profile and the same lambda_http features as `auth`.

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(hello)).await
}

async fn hello(_request: Request) -> Result<Response<Body>, Error> {
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::from(r#"{"hello":"world"}"#))?)
}
