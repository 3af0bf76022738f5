//! Reading a client's request body once, whole, within the size and time limits.

use std::time::Duration;

use pingora::proxy::Session;

/// Reads the whole request body, refusing (413) a declared or actual size over `limit`, and
/// answering 408 when the client takes longer than `timeout` to send it all (a slow client
/// trickling its body does not hold the worker; the connection is closed after the answer).
pub async fn read_body_within(
    session: &mut Session,
    limit: u64,
    timeout: Duration,
) -> Result<Vec<u8>, (u16, String)> {
    let deadline = tokio::time::Instant::now() + timeout;
    let too_slow = || {
        (
            408,
            format!(
                "the request body was not received within {timeout:?} (config.requestReadTimeout)"
            ),
        )
    };
    let too_large = || (413, format!("request body larger than {limit} bytes"));
    let declared = session
        .get_header("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(1024).min(limit) as usize);
    loop {
        let Ok(read) = tokio::time::timeout_at(deadline, session.read_request_body()).await else {
            return Err(too_slow());
        };
        match read {
            Ok(Some(chunk)) => {
                if (body.len() + chunk.len()) as u64 > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) if e.etype() == &pingora::ErrorType::ReadTimedout => return Err(too_slow()),
            Err(e) => {
                return Err((
                    400,
                    format!("reading the request body: {}", e.etype().as_str()),
                ))
            }
        }
    }
}
