//! The hub's binary, built as this crate's own so the black-box test runs the current code.

fn main() -> std::process::ExitCode {
    kitakontor_hub::cli::main()
}
