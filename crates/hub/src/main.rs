//! `kitakontor-hub`: see `kitakontor_hub::cli`.

fn main() -> std::process::ExitCode {
    kitakontor_hub::cli::main()
}
