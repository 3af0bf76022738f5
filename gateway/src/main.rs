#![forbid(unsafe_code)]

fn main() {
    std::process::exit(sluice_gateway::cli::main());
}
