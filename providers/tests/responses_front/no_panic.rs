//! No input panics: mutated hub streams at random splits, and the same bytes as bodies.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sluice_providers::front::responses::{request_to_hub, response_from_hub, Echo};

use crate::common::fuzz::mutate_bytes;
use crate::support::{events, fixture, random_cuts, run_stream};

#[test]
fn no_input_panics() {
    let echo = Echo::read(&fixture("stream.request.json")).unwrap();
    let inputs = [
        fixture("stream_text_tool.hub.sse"),
        fixture("stream_thinking.hub.sse"),
    ];
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..500 {
        let input = mutate_bytes(&inputs[rng.random_range(0..inputs.len())], 5, &mut rng);
        let cuts = random_cuts(&mut rng, input.len());
        let (out, _) = run_stream(&input, &echo, &cuts);
        let got = events(&out);
        let last = got.last().expect("the stream always ends")["type"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            [
                "response.completed",
                "response.incomplete",
                "response.failed"
            ]
            .contains(&last.as_str()),
            "{last}"
        );
        let _ = request_to_hub(&input);
        let _ = response_from_hub(&input, &echo);
    }
}
