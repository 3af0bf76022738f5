//! The OpenAI Embeddings front door (`.../embeddings`): OpenAI-shaped requests, translated for
//! providers that serve embeddings (OpenAI and compatibles pass through; Gemini's
//! `batchEmbedContents`; the mock's deterministic vectors).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::{tokens, TranslateError, UpstreamRequest, Usage};

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct EmbeddingsRequest {
    #[serde(default)]
    pub model: String,
    pub input: EmbeddingInput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `input`: a string, a list of strings, or token ids (OpenAI only).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum EmbeddingInput {
    One(String),
    Many(Vec<String>),
    Tokens(Vec<u32>),
    TokenLists(Vec<Vec<u32>>),
}

impl EmbeddingsRequest {
    pub fn parse(body: &[u8]) -> Result<Self, TranslateError> {
        serde_json::from_slice(body).map_err(|e| TranslateError::InvalidRequest(e.to_string()))
    }

    /// The input texts; token-id inputs only pass through to OpenAI-format providers.
    pub fn texts(&self) -> Result<Vec<&str>, TranslateError> {
        match &self.input {
            EmbeddingInput::One(s) => Ok(vec![s.as_str()]),
            EmbeddingInput::Many(v) => Ok(v.iter().map(String::as_str).collect()),
            EmbeddingInput::Tokens(_) | EmbeddingInput::TokenLists(_) => {
                Err(TranslateError::Unsupported(
                    "token-id input needs an OpenAI-format provider".into(),
                ))
            }
        }
    }

    /// Input tokens estimated (tiktoken once loaded), for providers that report none.
    pub fn estimate_tokens(&self) -> u64 {
        match &self.input {
            EmbeddingInput::One(s) => tokens::estimate(s),
            EmbeddingInput::Many(v) => v.iter().map(|s| tokens::estimate(s)).sum(),
            EmbeddingInput::Tokens(t) => t.len() as u64,
            EmbeddingInput::TokenLists(t) => t.iter().map(|l| l.len() as u64).sum(),
        }
    }
}

/// OpenAI(-compatible): the request as sent, with the model to call.
pub fn openai_request(
    req: &EmbeddingsRequest,
    model: &str,
) -> Result<UpstreamRequest, TranslateError> {
    let mut req = req.clone();
    req.model = model.to_string();
    let body =
        serde_json::to_vec(&req).map_err(|e| TranslateError::InvalidRequest(e.to_string()))?;
    Ok(UpstreamRequest::new("/v1/embeddings".to_string(), body))
}

/// Usage of an OpenAI embeddings response, which passes through unchanged.
pub fn openai_usage(body: &[u8]) -> Result<Usage, TranslateError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| TranslateError::InvalidResponse(e.to_string()))?;
    let prompt = v["usage"]["prompt_tokens"].as_u64();
    Ok(Usage {
        input_tokens: prompt,
        output_tokens: prompt.map(|_| 0),
        total_tokens: v["usage"]["total_tokens"].as_u64().or(prompt),
        ..Usage::default()
    })
}

/// Gemini: `models/{model}:batchEmbedContents`, one request per input text.
pub fn gemini_request(
    req: &EmbeddingsRequest,
    model: &str,
    api_version: &str,
) -> Result<UpstreamRequest, TranslateError> {
    let model = model.strip_prefix("models/").unwrap_or(model);
    if model.is_empty()
        || !model
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err(TranslateError::InvalidRequest(format!(
            "invalid model name \"{model}\""
        )));
    }
    let requests: Vec<Value> = req
        .texts()?
        .into_iter()
        .map(|text| {
            let mut r =
                json!({"model": format!("models/{model}"), "content": {"parts": [{"text": text}]}});
            if let Some(d) = req.dimensions {
                r["outputDimensionality"] = json!(d);
            }
            r
        })
        .collect();
    Ok(UpstreamRequest::new(
        format!("/{api_version}/models/{model}:batchEmbedContents"),
        json!({"requests": requests}).to_string().into_bytes(),
    ))
}

/// Gemini's `{"embeddings": [{"values": [...]}]}` as an OpenAI embeddings list. Gemini reports
/// no usage: the input tokens are estimated.
pub fn gemini_response(
    body: &[u8],
    req: &EmbeddingsRequest,
    model: &str,
) -> Result<(Vec<u8>, Usage), TranslateError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| TranslateError::InvalidResponse(e.to_string()))?;
    let Some(embeddings) = v.get("embeddings").and_then(Value::as_array) else {
        return Err(TranslateError::InvalidResponse(
            "no \"embeddings\" in the response".into(),
        ));
    };
    let data: Vec<Value> = embeddings
        .iter()
        .enumerate()
        .map(|(i, e)| json!({"object": "embedding", "index": i, "embedding": e.get("values").cloned().unwrap_or(json!([]))}))
        .collect();
    Ok(list_body(data, req, model))
}

fn list_body(data: Vec<Value>, req: &EmbeddingsRequest, model: &str) -> (Vec<u8>, Usage) {
    let input = req.estimate_tokens();
    let body = json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": input, "total_tokens": input}
    });
    let usage = Usage {
        input_tokens: Some(input),
        output_tokens: Some(0),
        total_tokens: Some(input),
        estimated: true,
        ..Usage::default()
    };
    (body.to_string().into_bytes(), usage)
}

/// The mock's embeddings: 8 deterministic floats per input, from a hash of the text.
pub fn mock_response(
    req: &EmbeddingsRequest,
    model: &str,
) -> Result<(Vec<u8>, Usage), TranslateError> {
    let data: Vec<Value> = req
        .texts()?
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            let vector: Vec<f64> = (0..8)
                .map(|k| {
                    for b in text.bytes().chain([k as u8]) {
                        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
                    }
                    ((h >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
                })
                .collect();
            json!({"object": "embedding", "index": i, "embedding": vector})
        })
        .collect();
    let (body, mut usage) = list_body(data, req, model);
    usage.estimated = false;
    Ok((body, usage))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_round_trip() {
        crate::tokens::warm(); // exact counts for the assertion below
        let req = EmbeddingsRequest::parse(br#"{"model":"x","input":["a b","c"],"dimensions":3}"#)
            .unwrap();
        let up = gemini_request(&req, "text-embedding-004", "v1beta").unwrap();
        assert_eq!(
            up.path,
            "/v1beta/models/text-embedding-004:batchEmbedContents"
        );
        let body: Value = serde_json::from_slice(&up.body).unwrap();
        assert_eq!(body["requests"][1]["content"]["parts"][0]["text"], "c");
        assert_eq!(body["requests"][0]["model"], "models/text-embedding-004");
        assert_eq!(body["requests"][0]["outputDimensionality"], 3);
        let (out, usage) = gemini_response(
            br#"{"embeddings":[{"values":[0.1,0.2]},{"values":[0.3]}]}"#,
            &req,
            "text-embedding-004",
        )
        .unwrap();
        let out: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(out["data"][1]["embedding"], json!([0.3]));
        assert_eq!(out["data"][1]["index"], 1);
        assert_eq!(usage.input_tokens, Some(3));
        assert!(usage.estimated);
    }

    #[test]
    fn mock_vectors_are_deterministic() {
        let req = EmbeddingsRequest::parse(br#"{"input":"hello"}"#).unwrap();
        let (a, _) = mock_response(&req, "m").unwrap();
        let (b, _) = mock_response(&req, "m").unwrap();
        assert_eq!(a, b);
        let v: Value = serde_json::from_slice(&a).unwrap();
        assert_eq!(v["data"][0]["embedding"].as_array().unwrap().len(), 8);
    }

    #[test]
    fn token_inputs_need_openai() {
        let req = EmbeddingsRequest::parse(br#"{"input":[1,2,3]}"#).unwrap();
        assert!(gemini_request(&req, "m", "v1beta").is_err());
        assert!(openai_request(&req, "m").is_ok());
    }
}
