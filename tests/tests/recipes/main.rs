//! The seed's five tracing recipes, run verbatim end to end, plus sampling, JSON logs, a slow
//! collector and `fields.remove` on the GenAI defaults.
//!
//! Every recipe's `tracing:` block is pasted exactly as the seed page prints it (indentation and
//! trailing spaces included); only the collector address (and Langfuse's credentials) change to
//! point at an in-process OTLP receiver. The route goes to a mock Gemini upstream; each test
//! asserts every attribute the recipe adds, with its exact value and OTLP type.

mod fields_remove;
mod five_recipes;
mod json_logs;
mod recipe_texts;
mod sampling;
mod slow_collector;
mod support;
