fn main() -> std::process::ExitCode {
    kitakontor_cli::main()
}
