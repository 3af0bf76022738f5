#![forbid(unsafe_code)]

/// mimalloc rather than glibc's malloc: the request path allocates boxed futures of ~16 KB
/// (Pingora's and ours) that miss glibc's thread cache; see BENCHMARKS.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(sluice_gateway::cli::main());
}
