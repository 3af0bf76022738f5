//! The recipes, verbatim from /work/shared/seed/agentgateway-tracing-docs.txt (from `tracing:`
//! down to the last `fields.add` line, with the seed's own indentation and trailing spaces).

/// "Configure your proxy": the default ConfigMap.
pub(crate) const RECIPE_DEFAULT: &str = r#"          tracing:
            otlpEndpoint: http://opentelemetry-collector-traces.telemetry.svc.cluster.local:4317
            otlpProtocol: grpc
            randomSampling: true
            fields:
              add:
                gen_ai.operation.name: '"chat"'
                gen_ai.system: "llm.provider"
                gen_ai.request.model: "llm.requestModel"
                gen_ai.response.model: "llm.responseModel"
                gen_ai.usage.completion_tokens: "llm.outputTokens"
                gen_ai.usage.prompt_tokens: "llm.inputTokens"    
"#;
pub(crate) const RECIPE_DEFAULT_ENDPOINT: &str =
    "http://opentelemetry-collector-traces.telemetry.svc.cluster.local:4317";

pub(crate) const RECIPE_JAEGER: &str = r#"      tracing:
        otlpEndpoint: http://jaeger-collector.jaeger.svc.cluster.local:4317
        otlpProtocol: grpc
        randomSampling: true
        fields:
          add:
            gen_ai.operation.name: '"chat"'
            gen_ai.system: "llm.provider"
            gen_ai.request.model: "llm.request_model"
            gen_ai.response.model: "llm.response_model"
            gen_ai.usage.completion_tokens: "llm.output_tokens"
            gen_ai.usage.prompt_tokens: "llm.input_tokens"    
"#;
pub(crate) const RECIPE_JAEGER_ENDPOINT: &str =
    "http://jaeger-collector.jaeger.svc.cluster.local:4317";

pub(crate) const RECIPE_LANGFUSE: &str = r#"      tracing:
        otlpEndpoint: https://us.cloud.langfuse.com/api/public/otel
        otlpProtocol: http
        headers:
          Authorization: "Basic <base64-encoded-credentials>"
        randomSampling: true
        fields:
          add:
            gen_ai.operation.name: '"chat"'
            gen_ai.system: "llm.provider"
            gen_ai.prompt: "llm.prompt"
            gen_ai.completion: 'llm.completion.map(c, {"role":"assistant", "content": c})'
            gen_ai.usage.completion_tokens: "llm.output_tokens"
            gen_ai.usage.prompt_tokens: "llm.input_tokens"
            gen_ai.request.model: "llm.request_model"
            gen_ai.response.model: "llm.response_model"
            gen_ai.request: "flatten(llm.params)"    
"#;
pub(crate) const RECIPE_LANGFUSE_ENDPOINT: &str = "https://us.cloud.langfuse.com/api/public/otel";
/// base64("pk-lf-1234:sk-lf-5678"), in place of the seed's `<base64-encoded-credentials>`.
pub(crate) const LANGFUSE_CREDENTIALS: &str = "cGstbGYtMTIzNDpzay1sZi01Njc4";

pub(crate) const RECIPE_PHOENIX: &str = r#"      tracing:
        otlpEndpoint: http://localhost:4317
        randomSampling: true
        fields:
          add:
            span.name: '"openai.chat"'
            openinference.span.kind: '"LLM"'
            llm.system: "llm.provider"
            llm.input_messages: 'flatten_recursive(llm.prompt.map(c, {"message": c}))'
            llm.output_messages: 'flatten_recursive(llm.completion.map(c, {"role":"assistant", "content": c}))'
            llm.token_count.completion: "llm.output_tokens"
            llm.token_count.prompt: "llm.input_tokens"
            llm.token_count.total: "llm.total_tokens"    
"#;
pub(crate) const RECIPE_PHOENIX_ENDPOINT: &str = "http://localhost:4317";

pub(crate) const RECIPE_OPENLLMETRY: &str = r#"      tracing:
        otlpEndpoint: http://localhost:4317
        randomSampling: true
        fields:
          add:
            span.name: '"openai.chat"'
            gen_ai.operation.name: '"chat"'
            gen_ai.system: "llm.provider"
            gen_ai.prompt: "flatten_recursive(llm.prompt)"
            gen_ai.completion: 'flatten_recursive(llm.completion.map(c, {"role":"assistant", "content": c}))'
            gen_ai.usage.completion_tokens: "llm.output_tokens"
            gen_ai.usage.prompt_tokens: "llm.input_tokens"
            gen_ai.request.model: "llm.request_model"
            gen_ai.response.model: "llm.response_model"
            gen_ai.request: "flatten(llm.params)"
            llm.is_streaming: "llm.streaming"    
"#;
pub(crate) const RECIPE_OPENLLMETRY_ENDPOINT: &str = "http://localhost:4317";
