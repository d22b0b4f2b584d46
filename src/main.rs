use std::process::ExitCode;

fn main() -> ExitCode {
    usmca_bot::cli::main()
}
